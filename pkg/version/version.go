// Package version holds the build version shared by the plugin and the prober.
// The release sets it with -ldflags "-X github.com/netdiff/kubectl-netdiff/pkg/version.Version=vX.Y.Z".
package version

import "runtime/debug"

// unset is Version when no -ldflags set it.
const unset = "v0.0.0-dev"

// Version is the version of this build. The plugin's default prober image is tagged with it,
// so a plugin always injects the prober it was released with.
var Version = unset

func init() {
	if Version != unset {
		return
	}
	// `go install …@v0.2.0` sets no ldflags but records the module version; use it so the
	// default image tag exists.
	if bi, ok := debug.ReadBuildInfo(); ok {
		Version = fromModule(bi.Main.Version)
	}
}

// fromModule returns the module version when it is a release, else unset.
func fromModule(v string) string {
	if v == "" || v == "(devel)" {
		return unset
	}
	return v
}
