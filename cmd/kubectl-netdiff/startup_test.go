package main

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
	buildOut  []byte
)

func TestMain(m *testing.M) {
	code := m.Run()
	if builtBin != "" {
		_ = os.RemoveAll(filepath.Dir(builtBin))
	}
	os.Exit(code)
}

// pluginBinary builds this command once per test binary.
func pluginBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "netdiff-plugin-")
		if err != nil {
			buildErr = err
			return
		}
		builtBin = filepath.Join(dir, "kubectl-netdiff")
		buildOut, buildErr = exec.Command("go", "build", "-o", builtBin, ".").CombinedOutput()
	})
	if buildErr != nil {
		t.Fatalf("build: %v\n%s", buildErr, buildOut)
	}
	return builtBin
}

// No package initialiser does heavy work on every run: Go's init trace lists each
// package's allocations, and kubectl's translation catalogue (4 MB, 13 ms, loaded by the
// first translated help text of a kubectl package netdiff imports) must stay unloaded
// (pkg/noi18n). 1 MiB is about twice the largest legitimate one (the API schemes).
func TestNoHeavyPackageInit(t *testing.T) {
	cmd := exec.Command(pluginBinary(t), "--help")
	cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1")
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = nil, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("--help: %v\n%s", err, stderr.String())
	}
	seen := 0
	sc := bufio.NewScanner(&stderr)
	for sc.Scan() {
		// init k8s.io/kubectl/pkg/scheme @11 ms, 1.0 ms clock, 535896 bytes, 2847 allocs
		f := strings.Fields(sc.Text())
		if len(f) < 9 || f[0] != "init" || f[8] != "bytes," {
			continue
		}
		seen++
		n, err := strconv.Atoi(f[7])
		if err != nil {
			t.Fatalf("init trace line %q: %v", sc.Text(), err)
		}
		if n > 1<<20 {
			t.Errorf("package %s allocates %d bytes at init on every run (%s)", f[1], n, sc.Text())
		}
	}
	if seen < 50 {
		t.Fatalf("only %d init trace lines: GODEBUG=inittrace=1 changed format?\n%s", seen, stderr.String())
	}
}
