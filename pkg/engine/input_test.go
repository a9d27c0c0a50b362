package engine

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/netdiff/kubectl-netdiff/pkg/report"
)

// -f reads only regular files and only up to --max-report-size, and says so at once: a
// FIFO with no writer, a directory or a huge file never hangs or fills memory.
func TestFileInputIsBounded(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "pipe.json")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big.json")
	if err := os.WriteFile(big, []byte(`{"schemaVersion":"`+report.SchemaVersion+`","sections":{"x":"`+strings.Repeat("a", 2<<20)+`"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		file, want string
		limit      int64
	}{
		{fifo, "pipe.json: not a regular file", 64 << 20},
		{dir, "not a regular file", 64 << 20},
		{big, "more than --max-report-size 1048576", 1 << 20},
	} {
		r, _, _, errOut := newTestRun(t)
		r.Files = []string{tc.file, "../report/testdata/v1-web-a.json"}
		r.MaxReportSize = tc.limit
		began := time.Now()
		err := start(r)
		took := time.Since(began)
		if err == nil || !strings.Contains(errOut.String(), tc.want) {
			t.Errorf("-f %s: err = %v, stderr %q, want %q", tc.file, err, errOut.String(), tc.want)
		}
		if took > time.Second {
			t.Errorf("-f %s: refused after %s, want under 1s", tc.file, took)
		}
		t.Logf("-f %s: refused in %s", filepath.Base(tc.file), took.Round(time.Microsecond))
	}
	// Raised, the same file is read.
	if _, err := readReportFile(context.Background(), big, 4<<20); err != nil {
		t.Errorf("under a raised limit: %v", err)
	}
}

// --save makes its directory 0700 and its reports 0600: they hold a pod's environment.
func TestSaveIsPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "reports")
	r, _, _, _ := newTestRun(t)
	r.SaveDir = dir
	s := &subject{name: "a", ref: &PodRef{Namespace: "apps", Name: "a"}, report: &report.Report{SchemaVersion: report.SchemaVersion}}
	if err := r.save([]*subject{s}); err != nil {
		t.Fatal(err)
	}
	// A leftover temporary file of an interrupted save must not lend the report its mode.
	if err := os.WriteFile(filepath.Join(dir, "apps_a.json.tmp"), nil, 0o666); err != nil {
		t.Fatal(err)
	}
	if err := r.save([]*subject{s}); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]os.FileMode{dir: 0o700, filepath.Join(dir, "apps_a.json"): 0o600} {
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != want {
			t.Errorf("%s: mode %o, want %o", path, st.Mode().Perm(), want)
		}
	}
}
