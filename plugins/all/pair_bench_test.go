package all_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"testing"

	"github.com/netdiff/kubectl-netdiff/pkg/diff"
	"github.com/netdiff/kubectl-netdiff/pkg/render"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
)

// A pair of reports as kubectl netdiff collects them on the local two-node Calico
// cluster (two healthy twins): what every run decodes, diffs and renders after the
// probe window (docs/performance.md, the pair's overhead).
func pairReports(b *testing.B) [][]byte {
	var raw [][]byte
	for _, f := range []string{"testdata/calico-a.json", "testdata/calico-b.json"} {
		data, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		raw = append(raw, data)
	}
	return raw
}

// decodePair decodes both reports, as the plugin does when their execs end.
func decodePair(b *testing.B, raw [][]byte) []*report.Report {
	var reps []*report.Report
	for _, data := range raw {
		rep, err := report.DecodeContext(context.Background(), bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		reps = append(reps, rep)
	}
	return reps
}

// diffRender diffs and renders the pair as the default table.
func diffRender(b *testing.B, reps []*report.Report) {
	res, err := diff.CompareContext(context.Background(), []string{"a", "b"}, reps, diff.Options{})
	if err != nil {
		b.Fatal(err)
	}
	if err := render.RenderContext(context.Background(), io.Discard, res, "", render.Options{}); err != nil {
		b.Fatal(err)
	}
}

func BenchmarkPairDecode(b *testing.B) {
	raw := pairReports(b)
	for b.Loop() {
		decodePair(b, raw)
	}
}

func BenchmarkPairDiffRender(b *testing.B) {
	raw := pairReports(b)
	for b.Loop() {
		diffRender(b, decodePair(b, raw))
	}
}

// BenchmarkPairDiff is the diff and render alone, of reports decoded beforehand (the
// diff may change what it is given, so each iteration gets its own).
func BenchmarkPairDiff(b *testing.B) {
	raw := pairReports(b)
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		reps := decodePair(b, raw)
		b.StartTimer()
		diffRender(b, reps)
	}
}
