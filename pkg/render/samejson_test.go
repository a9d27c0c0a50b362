package render

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/netdiff/kubectl-netdiff/pkg/diff"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
	_ "github.com/netdiff/kubectl-netdiff/plugins/all/cluster" // the API sections, as kubectl-netdiff registers them
)

// TestGoldenJSONUnchanged pins, byte for byte, what this build makes of saved real
// reports: each report decoded and encoded again (the report JSON), and the diff JSON of
// each pair (-o json). A refactor of the engines, the registries or the plugins' homes
// must leave both identical; a change meant to change them rewrites the files with
// go test ./pkg/render -update, and the diff of the golden files is the review.
func TestGoldenJSONUnchanged(t *testing.T) {
	pairs := []struct {
		name, golden string
		files        []string
	}{
		{"case study", "golden-real", []string{"testdata/real-web-a.json", "testdata/real-web-broken.json"}},
		{"calico pair", "golden-calico", []string{"../../plugins/all/testdata/calico-a.json", "../../plugins/all/testdata/calico-b.json"}},
	}
	for _, p := range pairs {
		t.Run(p.name, func(t *testing.T) {
			var reps []*report.Report
			var again bytes.Buffer
			for _, f := range p.files {
				b, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				rep, err := report.Decode(bytes.NewReader(b))
				if err != nil {
					t.Fatalf("%s: %v", f, err)
				}
				reps = append(reps, rep)
				enc, err := json.MarshalIndent(rep, "", "  ")
				if err != nil {
					t.Fatal(err)
				}
				again.Write(enc)
				again.WriteByte('\n')
			}
			res, err := diff.Compare([]string{"default/a", "default/b"}, reps, diff.Options{})
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			if err := Render(&out, res, "json", Options{All: true}); err != nil {
				t.Fatal(err)
			}
			// The reports' encoding is pinned by its digest: the input files are there to read.
			sum := sha256.Sum256(again.Bytes())
			checkGolden(t, filepath.Join("testdata", p.golden+"-reports.sha256"), []byte(hex.EncodeToString(sum[:])+"\n"))
			checkGolden(t, filepath.Join("testdata", p.golden+"-diff.json"), out.Bytes())
		})
	}
}

func checkGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./pkg/render -update writes it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from this build's output (go test ./pkg/render -update rewrites it; review the diff)", path)
	}
}
