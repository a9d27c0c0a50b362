// Package version holds the build version shared by the plugin and the prober.
// The release sets it with -ldflags "-X github.com/netdiff/kubectl-netdiff/pkg/version.Version=vX.Y.Z".
package version

// Version is the version of this build. The plugin's default prober image is tagged with it,
// so a plugin always injects the prober it was released with.
var Version = "v0.0.0-dev"
