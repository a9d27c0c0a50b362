package render

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

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
