package drops_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// The committed BPF object and Go bindings are what bpf/drops.c compiles to: the test
// regenerates them in a copy of this folder with bpf2go and Debian's clang (hack/deps.sh
// installs it) and compares. Without clang it is skipped; make unit installs clang first.
func TestGeneratedIsCurrent(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("bpf2go runs here only on Linux")
	}
	if _, err := exec.LookPath("clang"); err != nil {
		t.Skip("no clang: run hack/deps.sh")
	}
	if testing.Short() {
		t.Skip("regenerating takes seconds")
	}
	dir := t.TempDir()
	for _, f := range []string{"gen.go", "bpf/drops.c"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(dir, f)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// This module's bpf2go, run in the copy as go generate runs it in this folder (the
	// object's debug info names the source relative to that folder).
	bpf2go := filepath.Join(t.TempDir(), "bpf2go")
	if out, err := exec.Command("go", "build", "-o", bpf2go, "github.com/cilium/ebpf/cmd/bpf2go").CombinedOutput(); err != nil {
		t.Fatalf("build bpf2go: %v\n%s", err, out)
	}
	cmd := exec.Command(bpf2go, "-tags", "linux", "-target", "bpfel",
		"-type", "drop_key", "-type", "drop_val", "-type", "addr_key", "drops", "bpf/drops.c")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOPACKAGE=drops")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("bpf2go: %v\n%s", err, out)
	}
	for _, f := range []string{"drops_bpfel.go", "drops_bpfel.o"} {
		want, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is stale: run go generate ./plugins/drops and commit it (clang %s)", f, clangVersion())
		}
	}
}

func clangVersion() string {
	out, _ := exec.Command("clang", "--version").Output()
	line, _, _ := bytes.Cut(out, []byte("\n"))
	return string(line)
}
