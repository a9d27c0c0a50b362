package render

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"testing"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/pkg/twwidth"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/netdiff/kubectl-netdiff/pkg/diff"
)

// tablewriterLayout is how the table and wide formats laid a grid out before the grid
// did it itself: tablewriter v1.1.5 configured as render used it, trailing spaces
// trimmed. It is the reference the grid must match byte for byte.
func tablewriterLayout(t testing.TB, g *grid) string {
	t.Helper()
	var buf bytes.Buffer
	cell := tw.CellConfig{
		Alignment:  tw.CellAlignment{Global: tw.AlignLeft},
		Formatting: tw.CellFormatting{AutoFormat: tw.Off, AutoWrap: tw.WrapNone},
	}
	tbl := tablewriter.NewTable(&buf,
		tablewriter.WithRenderer(renderer.NewBlueprint(tw.Rendition{
			Borders: tw.BorderNone,
			Symbols: tw.NewSymbols(tw.StyleNone),
			Settings: tw.Settings{
				Separators: tw.Separators{BetweenRows: tw.Off, BetweenColumns: tw.Off, ShowHeader: tw.Off},
				Lines:      tw.Lines{ShowTop: tw.Off, ShowBottom: tw.Off, ShowHeaderLine: tw.Off, ShowFooterLine: tw.Off},
			},
		})),
		tablewriter.WithConfig(tablewriter.Config{Header: cell, Row: cell}),
		tablewriter.WithPadding(tw.Padding{Left: "", Right: "   ", Overwrite: true}),
		tablewriter.WithTrimSpace(tw.Off),
	)
	tbl.Header(g.cells[:g.cols])
	for r := 1; r < g.rows(); r++ {
		if err := tbl.Append(g.cells[r*g.cols : (r+1)*g.cols]); err != nil {
			t.Fatal(err)
		}
	}
	if err := tbl.Render(); err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(buf.Bytes(), []byte("\n"))
	for i, l := range lines {
		lines[i] = bytes.TrimRight(l, " ")
	}
	return string(bytes.Join(lines, []byte("\n")))
}

func gridLayout(t testing.TB, g *grid) string {
	t.Helper()
	var buf bytes.Buffer
	bw := bufio.NewWriter(&buf)
	if err := g.write(context.Background(), bw); err != nil {
		t.Fatal(err)
	}
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// grids are the findings and rows grids of res in every layout and option.
func grids(t testing.TB, res *diff.Result) map[string]*grid {
	out := map[string]*grid{}
	for _, l := range []layout{tableLayout, wideLayout} {
		for _, opts := range []Options{{}, {All: true}, {Color: true}, {All: true, Color: true}} {
			name := fmt.Sprintf("wide=%v/all=%v/color=%v", l.wide, opts.All, opts.Color)
			if len(res.Findings) > 0 {
				out[name+"/findings"] = findingsGrid(res, opts, l)
			}
			g, err := rowsGrid(context.Background(), res, opts, l)
			if err != nil {
				t.Fatal(err)
			}
			out[name+"/rows"] = g
		}
	}
	return out
}

// TestGridMatchesTablewriter lays out every grid of the test results both ways.
func TestGridMatchesTablewriter(t *testing.T) {
	results := map[string]*diff.Result{"sample": sortedSample(), "same": same(), "three": three(), "real": realResult(t)}
	for _, h := range hostile {
		results["hostile "+h.name] = hostileResult(h.s)
	}
	for rname, res := range results {
		for gname, g := range grids(t, res) {
			if got, want := gridLayout(t, g), tablewriterLayout(t, g); got != want {
				t.Errorf("%s %s: the grid's layout differs from tablewriter's:\n--- grid\n%s\n--- tablewriter\n%s", rname, gname, got, want)
			}
		}
	}
}

// FuzzGridMatchesTablewriter lays out cells made the way the renderers make them
// (sanitized, wrapped, painted) from arbitrary strings, both ways.
func FuzzGridMatchesTablewriter(f *testing.F) {
	f.Add("pod-a", "table/main/default", "via 10.244.0.1 dev eth0", "-", true)
	f.Add("ünï", "a b c d e f g h i j k l m n o p", "日本語のテキスト、とても長い", "…\u0301x", false)
	f.Add("x", "", "", "\x1b[31m\n\u202e", true)
	f.Fuzz(func(t *testing.T, name, key, a, b string, color bool) {
		g := newGrid([]string{"SECTION", "KEY", sanitize(name), "DIFFERS"})
		g.add([]string{"s", wrap(sanitize(key), 12, 0), wrap(sanitize(a), 8, 3), ""})
		g.add([]string{"", wrap(sanitize(key+a), 5, 2), paint(color, ansiYellow, wrap(sanitize(b), 6, 4)), paint(color, ansiYellow, "yes")})
		g.add([]string{"", "", paint(color, ansiRed, wrap(sanitize(b), 3, 0)), ""})
		if got, want := gridLayout(t, g), tablewriterLayout(t, g); got != want {
			t.Errorf("the grid's layout differs from tablewriter's:\n--- grid\n%q\n--- tablewriter\n%q", got, want)
		}
	})
}

// The grid stops at a cancelled context.
func TestGridCancelled(t *testing.T) {
	g := newGrid([]string{"A"})
	for range 3 * checkEvery {
		g.add([]string{"x"})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := g.write(ctx, bufio.NewWriter(io.Discard)); err != context.Canceled {
		t.Fatalf("write = %v, want context.Canceled", err)
	}
}

// FuzzDisplayWidth: the grid measures every string as tablewriter does.
func FuzzDisplayWidth(f *testing.F) {
	for _, s := range []string{"", "plain", "ünï…", "日本", "\x1b[1m\x1b[31mCRITICAL\x1b[0m", "\x1b[33m日本\x1b[0m",
		"\x1b[", "\x1b[31", "\x1b]0;t\x07x", "\x1b[\x1b[31mx", "a\x1bb", "\t", "\x1b[2 qx", "e\u0301"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := displayWidth(s), twwidth.WidthNoCache(s); got != want {
			t.Errorf("displayWidth(%q) = %d, twwidth says %d", s, got, want)
		}
	})
}
