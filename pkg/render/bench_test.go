package render

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"testing"

	"github.com/netdiff/kubectl-netdiff/pkg/diff"
	"github.com/netdiff/kubectl-netdiff/pkg/probe"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
)

// benchPlugin has one fact per route, like a node-sized routing table.
type benchPlugin struct{}

type benchRoute struct{ Dst, Via, Dev, Src string }

const benchName = "zz-bench-render"

func init() { probe.Register(benchName, func() probe.Plugin { return benchPlugin{} }) }

func (benchPlugin) Name() string       { return benchName }
func (benchPlugin) Phase() probe.Phase { return probe.Passive }
func (benchPlugin) Collect(context.Context, *probe.Env) (any, error) {
	return nil, fmt.Errorf("not collected in tests")
}
func (benchPlugin) Facts(raw json.RawMessage) ([]probe.Fact, error) {
	var rs []benchRoute
	if err := json.Unmarshal(raw, &rs); err != nil {
		return nil, err
	}
	out := make([]probe.Fact, len(rs))
	for i, r := range rs {
		out[i] = probe.Fact{Key: "table/main/" + r.Dst, Value: "via " + r.Via + " dev " + r.Dev + " src " + r.Src}
	}
	return out, nil
}

// benchReports builds two reports of n routes each; every 100th route differs.
func benchReports(b *testing.B, n int) []*report.Report {
	mk := func(self string, odd bool) *report.Report {
		rs := make([]benchRoute, n)
		for i := range rs {
			via := "10.244.0.1"
			if odd && i%100 == 0 {
				via = "10.244.0.254"
			}
			rs[i] = benchRoute{Dst: fmt.Sprintf("10.%d.%d.0/24 metric %d", i/256%256, i%256, i/65536), Via: via, Dev: "eth0", Src: self}
		}
		raw, err := json.Marshal(rs)
		if err != nil {
			b.Fatal(err)
		}
		return &report.Report{SchemaVersion: report.SchemaVersion, Hostname: "h-" + self,
			Subject:  &report.Subject{IPs: []string{self}},
			Sections: map[string]json.RawMessage{benchName: raw}}
	}
	return []*report.Report{mk("10.244.0.5", false), mk("10.244.0.6", true)}
}

// BenchmarkDiffRender is the whole offline path after decoding: compare two reports of
// n routes and print the result, for the default table and for the full JSON.
func BenchmarkDiffRender(b *testing.B) {
	for _, format := range []struct {
		name string
		opts Options
	}{{"table", Options{}}, {"json", Options{All: true}}, {"table", Options{All: true}}, {"yaml", Options{All: true}}} {
		for _, n := range []int{1000, 10000, 100000} {
			reps := benchReports(b, n)
			b.Run(fmt.Sprintf("%s-all=%v/%d", format.name, format.opts.All, n), func(b *testing.B) {
				for b.Loop() {
					res, err := diff.Compare([]string{"a", "b"}, reps, diff.Options{})
					if err != nil {
						b.Fatal(err)
					}
					if err := Render(io.Discard, res, format.name, format.opts); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkRender prints a Result that is already compared (the renderer alone): n rows,
// every 100th differing, with --all, in every format.
func BenchmarkRender(b *testing.B) {
	for _, n := range []int{1000, 100000} {
		res, err := diff.Compare([]string{"a", "b"}, benchReports(b, n), diff.Options{})
		if err != nil {
			b.Fatal(err)
		}
		for _, format := range []string{"table", "wide", "json", "yaml"} {
			b.Run(fmt.Sprintf("%s-all/%d", format, n), func(b *testing.B) {
				for b.Loop() {
					if err := Render(io.Discard, res, format, Options{All: true}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkRenderColor prints 100,000 rows that all differ, coloured as on a terminal:
// every value cell of the second subject is painted.
func BenchmarkRenderColor(b *testing.B) {
	res := bigResult(100000)
	for i := range res.Rows {
		res.Rows[i].Values[1] = "x" + res.Rows[i].Values[1][:12]
		res.Rows[i].Equal = false
	}
	for b.Loop() {
		if err := Render(io.Discard, res, "table", Options{All: true, Color: true}); err != nil {
			b.Fatal(err)
		}
	}
}
