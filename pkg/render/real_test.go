package render

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/netdiff/kubectl-netdiff/pkg/diff"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
	_ "github.com/netdiff/kubectl-netdiff/plugins/all" // every plugin's facts and rules, as in kubectl-netdiff
)

// realResult compares two real prober reports (the case study: web-broken has lost its
// default route) with every plugin's rules, as kubectl-netdiff -f does.
func realResult(t testing.TB) *diff.Result {
	t.Helper()
	var reps []*report.Report
	for _, name := range []string{"real-web-a.json", "real-web-broken.json"} {
		f, err := os.Open(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		rep, err := report.Decode(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		reps = append(reps, rep)
	}
	res, err := diff.Compare([]string{"default/web-a", "default/web-broken"}, reps, diff.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestGoldenReal pins the table and wide layout of a realistic result, every row and
// with colours: the files were written by the tablewriter-based renderer, so any change
// of layout shows up here.
func TestGoldenReal(t *testing.T) {
	res := realResult(t)
	for _, tt := range []struct {
		file   string
		format string
		opts   Options
	}{
		{"real-table.txt", "table", Options{}},
		{"real-table-all.txt", "table", Options{All: true}},
		{"real-table-all-color.txt", "table", Options{All: true, Color: true}},
		{"real-wide.txt", "wide", Options{}},
		{"real-wide-all-color.txt", "wide", Options{All: true, Color: true}},
	} {
		t.Run(tt.file, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Render(&buf, res, tt.format, tt.opts); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", tt.file)
			if *update {
				if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./pkg/render -update)", err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("%s differs from the golden file (go test ./pkg/render -update rewrites it)", tt.file)
			}
		})
	}
}

// TestFirstLineFitsTwoTerminalLines: the case study's first cause, as a person reads it
// in a 120-column terminal (the table wraps findings at 108 columns after the severity),
// is one line and at most one continuation (issue 31).
func TestFirstLineFitsTwoTerminalLines(t *testing.T) {
	var buf bytes.Buffer
	if err := Render(&buf, realResult(t), "table", Options{}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(buf.String(), "\n")
	if len(lines) < 3 || !strings.HasPrefix(lines[1], "CRITICAL") {
		t.Fatalf("no first cause under the header:\n%s", buf.String())
	}
	// The cause's own lines: its first, and continuations indented to the finding
	// column; its symptoms are indented further.
	col := strings.Index(lines[0], "FINDING")
	n := 1
	for _, l := range lines[2:] {
		if len(l) <= col || l[:col] != strings.Repeat(" ", col) || l[col] == ' ' {
			break
		}
		n++
	}
	for _, l := range lines[1 : 1+n] {
		if w := utf8.RuneCountInString(l); w > 120 {
			t.Errorf("line of %d columns: %q", w, l)
		}
	}
	if n > 2 {
		t.Errorf("the first cause takes %d lines at 120 columns, want at most 2:\n%s", n, strings.Join(lines[1:1+n], "\n"))
	}
}
