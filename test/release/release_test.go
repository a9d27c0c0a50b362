//go:build release

// Package release tests the release pipeline end to end: `make release-snapshot` (goreleaser
// built from hack/release/tools) and `make krew-validate` (krew's own validator and
// installer). Run with `make release-test`; the first run builds the tools (minutes).
package release

import (
	"archive/tar"
	"archive/zip"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, ".goreleaser.yaml")); err != nil {
		t.Fatalf("repository root not found: %v", err)
	}
	return root
}

func runMake(t *testing.T, root string, target string) string {
	t.Helper()
	cmd := exec.Command("make", "-C", root, target)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make %s: %v\n%s", target, err, out)
	}
	return string(out)
}

type archive struct {
	name   string
	files  map[string][]byte // base name -> content, for the files we look at
	isExec map[string]bool
}

func readArchive(t *testing.T, path string) archive {
	t.Helper()
	a := archive{name: filepath.Base(path), files: map[string][]byte{}, isExec: map[string]bool{}}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if strings.HasSuffix(path, ".zip") {
		st, _ := f.Stat()
		zr, err := zip.NewReader(f, st.Size())
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		for _, zf := range zr.File {
			rc, err := zf.Open()
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				t.Fatal(err)
			}
			a.files[zf.Name] = b
		}
		return a
	}
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		a.files[h.Name] = b
		a.isExec[h.Name] = h.Mode&0o111 != 0
	}
	return a
}

func TestReleaseSnapshot(t *testing.T) {
	root := repoRoot(t)
	runMake(t, root, "release-snapshot")
	dist := filepath.Join(root, "dist")

	md, err := os.ReadFile(filepath.Join(dist, "metadata.json"))
	if err != nil {
		t.Fatal(err)
	}
	var meta struct{ Version string }
	if err := json.Unmarshal(md, &meta); err != nil {
		t.Fatal(err)
	}
	version, err := os.ReadFile(filepath.Join(root, "VERSION"))
	if err != nil {
		t.Fatal(err)
	}
	tag := strings.TrimSpace(string(version))
	if "v"+meta.Version != tag {
		t.Fatalf("snapshot version %q, want the VERSION file's %q", meta.Version, tag)
	}

	sums := map[string]string{}
	cs, err := os.ReadFile(filepath.Join(dist, "checksums.txt"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(cs)), "\n") {
		if f := strings.Fields(line); len(f) == 2 {
			sums[f[1]] = f[0]
		}
	}

	type want struct{ name, bin string }
	var wants []want
	for _, goos := range []string{"linux", "darwin", "windows"} {
		for _, arch := range []string{"amd64", "arm64"} {
			ext, exe := "tar.gz", ""
			if goos == "windows" {
				ext, exe = "zip", ".exe"
			}
			wants = append(wants, want{fmt.Sprintf("kubectl-netdiff_%s_%s_%s.%s", tag, goos, arch, ext), "kubectl-netdiff" + exe})
		}
	}
	for _, arch := range []string{"amd64", "arm64"} {
		wants = append(wants, want{fmt.Sprintf("netdiff-prober_%s_linux_%s.tar.gz", tag, arch), "netdiff-prober"})
	}
	if len(sums) != len(wants) {
		t.Errorf("checksums.txt lists %d archives, want %d: %v", len(sums), len(wants), sums)
	}

	license, _ := os.ReadFile(filepath.Join(root, "LICENSE"))
	for _, w := range wants {
		path := filepath.Join(dist, w.name)
		b, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("archive missing: %v", err)
			continue
		}
		sum := sha256.Sum256(b)
		if got := hex.EncodeToString(sum[:]); sums[w.name] != got {
			t.Errorf("%s: checksums.txt says %q, file is %s", w.name, sums[w.name], got)
		}
		a := readArchive(t, path)
		t.Logf("%s: %.1f MiB compressed, binary %.1f MiB", w.name, float64(len(b))/(1<<20), float64(len(a.files[w.bin]))/(1<<20))
		if string(a.files["LICENSE"]) != string(license) {
			t.Errorf("%s: LICENSE missing or not the repository's", w.name)
		}
		if len(a.files["README.md"]) == 0 {
			t.Errorf("%s: README.md missing", w.name)
		}
		if len(a.files[w.bin]) < 1<<20 {
			t.Errorf("%s: binary %s missing or too small (%d bytes)", w.name, w.bin, len(a.files[w.bin]))
		}
		if !strings.HasSuffix(w.name, ".zip") && !a.isExec[w.bin] {
			t.Errorf("%s: %s is not executable", w.name, w.bin)
		}
		if strings.HasPrefix(w.name, "kubectl-netdiff_") && !strings.Contains(w.name, "windows") && !a.isExec["kubectl_complete-netdiff"] {
			t.Errorf("%s: kubectl_complete-netdiff missing or not executable", w.name)
		}
	}

	// The binaries for this machine report the release version and the matching prober tag.
	if runtime.GOOS == "linux" {
		dir := t.TempDir()
		a := readArchive(t, filepath.Join(dist, fmt.Sprintf("kubectl-netdiff_%s_linux_%s.tar.gz", tag, runtime.GOARCH)))
		bin := filepath.Join(dir, "kubectl-netdiff")
		if err := os.WriteFile(bin, a.files["kubectl-netdiff"], 0o755); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(bin, "version", "-o", "json").Output()
		if err != nil {
			t.Fatalf("%s version: %v", bin, err)
		}
		var v struct{ Version, ProberImage string }
		if err := json.Unmarshal(out, &v); err != nil {
			t.Fatalf("version -o json: %v: %s", err, out)
		}
		if v.Version != tag || v.ProberImage != "netdiff/netdiff-prober:"+tag {
			t.Errorf("plugin version %q, prober image %q; want %s and netdiff/netdiff-prober:%s", v.Version, v.ProberImage, tag, tag)
		}

		p := readArchive(t, filepath.Join(dist, fmt.Sprintf("netdiff-prober_%s_linux_%s.tar.gz", tag, runtime.GOARCH)))
		pbin := filepath.Join(dir, "netdiff-prober")
		if err := os.WriteFile(pbin, p.files["netdiff-prober"], 0o755); err != nil {
			t.Fatal(err)
		}
		out, err = exec.Command(pbin, "version").CombinedOutput()
		if err != nil || !strings.Contains(string(out), tag) {
			t.Errorf("prober version: %v: %s (want %s)", err, out, tag)
		}
	}
}

func TestKrewValidate(t *testing.T) {
	root := repoRoot(t)
	out := runMake(t, root, "krew-validate")
	for _, want := range []string{"release manifest for", "krew installed all 6 platforms", "kubectl krew install --archive="} {
		if !strings.Contains(out, want) {
			t.Errorf("make krew-validate output lacks %q:\n%s", want, out)
		}
	}
}

// The prober image must stay small: every node pulls it on first use.
func TestProberImage(t *testing.T) {
	const limit = 8 << 20 // compressed bytes per platform
	root := repoRoot(t)
	runMake(t, root, "image")
	layout := filepath.Join(root, "_out", "image", "netdiff-prober-oci")
	readJSON := func(path string, v any) {
		t.Helper()
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	}
	type descriptor struct {
		Digest   string
		Size     int64
		Platform struct{ OS, Architecture string }
	}
	blob := func(d descriptor) string {
		return filepath.Join(layout, "blobs", "sha256", strings.TrimPrefix(d.Digest, "sha256:"))
	}
	var top struct{ Manifests []descriptor }
	readJSON(filepath.Join(layout, "index.json"), &top)
	if len(top.Manifests) != 1 {
		t.Fatalf("index.json has %d entries, want the one multi-arch index", len(top.Manifests))
	}
	var index struct{ Manifests []descriptor }
	readJSON(blob(top.Manifests[0]), &index)
	platforms := map[string]bool{}
	for _, m := range index.Manifests {
		p := m.Platform.OS + "/" + m.Platform.Architecture
		platforms[p] = true
		var manifest struct {
			Config descriptor
			Layers []descriptor
		}
		readJSON(blob(m), &manifest)
		size := manifest.Config.Size + m.Size
		for _, l := range manifest.Layers {
			size += l.Size
		}
		var config struct {
			Config struct{ Entrypoint []string }
		}
		readJSON(blob(manifest.Config), &config)
		t.Logf("%s: %.2f MiB compressed (%d layers), entrypoint %v", p, float64(size)/(1<<20), len(manifest.Layers), config.Config.Entrypoint)
		if size > limit {
			t.Errorf("%s: prober image is %d bytes compressed, over the %d limit", p, size, limit)
		}
		if strings.Join(config.Config.Entrypoint, " ") != "/netdiff-prober" {
			t.Errorf("%s: entrypoint %v, want /netdiff-prober", p, config.Config.Entrypoint)
		}
	}
	if !platforms["linux/amd64"] || !platforms["linux/arm64"] || len(platforms) != 2 {
		t.Errorf("image platforms %v, want linux/amd64 and linux/arm64", platforms)
	}
}
