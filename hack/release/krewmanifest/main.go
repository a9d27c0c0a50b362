// Command krewmanifest renders the krew manifest template (krew-manifest.yaml) from a
// goreleaser dist/ directory and checks the result with krew's own tools.
//
//	krewmanifest render -dist dist [-base-url URL] [-o netdiff.yaml]
//	krewmanifest check  -dist dist -validator PATH -krew PATH
//
// check needs no network beyond loopback: krew's validator installs every platform's
// archive from a server on 127.0.0.1 that serves dist/, and `kubectl krew install
// --archive` installs this machine's archive into a temporary KREW_ROOT and runs it.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: krewmanifest render|check [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "render":
		err = renderCmd(os.Args[2:])
	case "check":
		err = checkCmd(os.Args[2:])
	default:
		err = fmt.Errorf("unknown subcommand %q: use render or check", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "krewmanifest:", err)
		os.Exit(1)
	}
}

type common struct {
	template, dist string
}

func (c *common) flags(fs *flag.FlagSet) {
	fs.StringVar(&c.template, "template", "krew-manifest.yaml", "the manifest template")
	fs.StringVar(&c.dist, "dist", "dist", "goreleaser's output directory (checksums.txt, metadata.json)")
}

// load renders the template for dist/'s release with URIs under baseURL ("" keeps the
// template's release URIs) and lints the result.
func (c *common) load(baseURL string) (rendered []byte, tag string, err error) {
	tmpl, err := os.ReadFile(c.template)
	if err != nil {
		return nil, "", err
	}
	tag, err = releaseTag(c.dist)
	if err != nil {
		return nil, "", err
	}
	f, err := os.Open(filepath.Join(c.dist, "checksums.txt"))
	if err != nil {
		return nil, "", fmt.Errorf("%w (run `make release-snapshot` first)", err)
	}
	defer f.Close()
	sums, err := ParseChecksums(f)
	if err != nil {
		return nil, "", err
	}
	rendered, err = Render(tmpl, tag, sums, baseURL)
	if err != nil {
		return nil, "", err
	}
	return rendered, tag, Lint(rendered)
}

// releaseTag is "v" + goreleaser's version: for a release that is the tag, for a snapshot
// the snapshot version, which is also what the binaries were stamped with.
func releaseTag(dist string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dist, "metadata.json"))
	if err != nil {
		return "", fmt.Errorf("%w (run `make release-snapshot` first)", err)
	}
	var md struct {
		Version string `json:"version"`
	}
	if err := json.Unmarshal(b, &md); err != nil || md.Version == "" {
		return "", fmt.Errorf("%s/metadata.json has no version (%v)", dist, err)
	}
	return "v" + strings.TrimPrefix(md.Version, "v"), nil
}

func renderCmd(args []string) error {
	var c common
	fs := flag.NewFlagSet("render", flag.ExitOnError)
	c.flags(fs)
	baseURL := fs.String("base-url", "", "serve the archives from here instead of the release URIs")
	out := fs.String("o", "-", "output file, - for stdout")
	fs.Parse(args)
	rendered, _, err := c.load(*baseURL)
	if err != nil {
		return err
	}
	if *out == "-" {
		_, err = os.Stdout.Write(rendered)
		return err
	}
	return os.WriteFile(*out, rendered, 0o644)
}

func checkCmd(args []string) error {
	var c common
	fs := flag.NewFlagSet("check", flag.ExitOnError)
	c.flags(fs)
	validator := fs.String("validator", "", "krew's validate-krew-manifest binary")
	krew := fs.String("krew", "", "krew binary (installed as kubectl-krew for the checks)")
	fs.Parse(args)
	if *validator == "" || *krew == "" {
		return errors.New("check needs -validator and -krew (hack/release/tools.sh builds both)")
	}

	work, err := os.MkdirTemp("", "netdiff-krew-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	// The validator runs `kubectl krew install`: put krew on PATH as a kubectl plugin, and a
	// stand-in kubectl that only dispatches to plugins where no kubectl is installed.
	shim := filepath.Join(work, "bin")
	if err := os.MkdirAll(shim, 0o755); err != nil {
		return err
	}
	if err := os.Symlink(*krew, filepath.Join(shim, "kubectl-krew")); err != nil {
		return err
	}
	if _, err := exec.LookPath("kubectl"); err != nil {
		script := "#!/bin/sh\n# stand-in kubectl: runs kubectl-<plugin>\np=$1; shift; exec kubectl-$p \"$@\"\n"
		if err := os.WriteFile(filepath.Join(shim, "kubectl"), []byte(script), 0o755); err != nil {
			return err
		}
	}
	path := shim + string(os.PathListSeparator) + os.Getenv("PATH")

	// 1. The manifest as the release publishes it: structure, selectors (no install: the
	// release URIs do not exist yet).
	release, tag, err := c.load("")
	if err != nil {
		return err
	}
	releaseFile := filepath.Join(work, "release", "netdiff.yaml")
	if err := writeFile(releaseFile, release); err != nil {
		return err
	}
	if err := run(path, nil, *validator, "-manifest", releaseFile, "-skip-install"); err != nil {
		return fmt.Errorf("release manifest: %w", err)
	}
	fmt.Printf("krewmanifest: release manifest for %s valid (%s)\n", tag, releaseFile)

	// 2. The same manifest pointing at dist/ on loopback: the validator installs every
	// platform's archive with krew and checks that LICENSE was extracted.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: http.FileServer(http.Dir(c.dist))}
	go srv.Serve(ln)
	defer srv.Close()
	local, _, err := c.load("http://" + ln.Addr().String())
	if err != nil {
		return err
	}
	localFile := filepath.Join(work, "local", "netdiff.yaml")
	if err := writeFile(localFile, local); err != nil {
		return err
	}
	if err := run(path, nil, *validator, "-manifest", localFile); err != nil {
		return fmt.Errorf("installing every platform from dist/: %w", err)
	}
	fmt.Printf("krewmanifest: krew installed all %d platforms' archives from dist/\n", len(Platforms))

	// 3. What a user does with a downloaded archive: kubectl krew install --archive.
	return installArchive(path, work, releaseFile, c.dist, tag)
}

func installArchive(path, work, manifest, dist, tag string) error {
	ext, exe := "tar.gz", ""
	if runtime.GOOS == "windows" {
		ext, exe = "zip", ".exe"
	}
	archive := filepath.Join(dist, fmt.Sprintf("kubectl-netdiff_%s_%s_%s.%s", tag, runtime.GOOS, runtime.GOARCH, ext))
	root := filepath.Join(work, "krew-root")
	env := []string{"KREW_ROOT=" + root}
	if err := run(path, env, "kubectl", "krew", "install", "--manifest="+manifest, "--archive="+archive); err != nil {
		return fmt.Errorf("kubectl krew install --archive: %w", err)
	}
	bin := filepath.Join(root, "bin", "kubectl-netdiff"+exe)
	out, err := exec.Command(bin, "version", "-o", "json").Output()
	if err != nil {
		return fmt.Errorf("installed %s version: %w", bin, err)
	}
	var v struct {
		Version     string `json:"version"`
		ProberImage string `json:"proberImage"`
	}
	if err := json.Unmarshal(out, &v); err != nil {
		return fmt.Errorf("installed plugin's version -o json: %w: %s", err, out)
	}
	if v.Version != tag || !strings.HasSuffix(v.ProberImage, ":"+tag) {
		return fmt.Errorf("installed plugin says version %q, prober image %q; want %s for both", v.Version, v.ProberImage, tag)
	}
	if runtime.GOOS != "windows" {
		store := filepath.Join(root, "store", "netdiff", tag, "kubectl_complete-netdiff")
		if _, err := os.Stat(store); err != nil {
			return fmt.Errorf("completion helper not installed: %w", err)
		}
	}
	fmt.Printf("krewmanifest: kubectl krew install --archive=%s works: %s is %s, prober image %s\n", filepath.Base(archive), bin, v.Version, v.ProberImage)
	return nil
}

func writeFile(name string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return err
	}
	return os.WriteFile(name, b, 0o644)
}

// run runs a tool with output on stderr, PATH set to path and env added.
func run(path string, env []string, name string, args ...string) error {
	// Look name up in path, not in this process's PATH: the shim directory must win.
	bin := name
	if !filepath.IsAbs(name) {
		for _, dir := range filepath.SplitList(path) {
			if p := filepath.Join(dir, name); isExecutable(p) {
				bin = p
				break
			}
		}
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	cmd.Env = append(append(os.Environ(), "PATH="+path), env...)
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
	}
	return nil
}

func isExecutable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}
