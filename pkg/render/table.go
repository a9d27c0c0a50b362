package render

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/netdiff/kubectl-netdiff/pkg/diff"
)

// layout is what differs between -o table and -o wide.
type layout struct {
	wide bool
	// messageWidth wraps finding sentences; keyWidth wraps keys.
	messageWidth, keyWidth int
	// A value is wrapped at valueWidth and cut after valueLines lines: the full value
	// is in -o json.
	valueWidth, valueLines int
}

var (
	tableLayout = layout{messageWidth: 108, keyWidth: 60, valueWidth: 40, valueLines: 3}
	wideLayout  = layout{wide: true, messageWidth: 160, keyWidth: 100, valueWidth: 80, valueLines: 10}
)

const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiRed    = "\x1b[31m"
	ansiYellow = "\x1b[33m"
	ansiCyan   = "\x1b[36m"
	ansiDim    = "\x1b[2m"
)

var severityColor = map[diff.Severity]string{
	diff.Critical: ansiBold + ansiRed,
	diff.High:     ansiRed,
	diff.Medium:   ansiYellow,
	diff.Low:      ansiCyan,
	diff.Info:     ansiDim,
}

func paint(on bool, color, s string) string {
	if !on || color == "" || s == "" {
		return s
	}
	// Colour each line: the grid lays multi-line cells out line by line.
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = color + l + ansiReset
	}
	return strings.Join(lines, "\n")
}

func renderTable(ctx context.Context, w io.Writer, res *diff.Result, opts Options, l layout) error {
	var grids []*grid
	if len(res.Findings) > 0 {
		grids = append(grids, findingsGrid(res, opts, l))
	}
	differing := 0
	shown := false
	for _, r := range res.Rows {
		if !r.Equal {
			differing++
		}
		shown = shown || opts.All || !r.Equal
	}
	if shown {
		g, err := rowsGrid(ctx, res, opts, l)
		if err != nil {
			return err
		}
		grids = append(grids, g)
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	for _, g := range grids {
		if err := g.write(ctx, bw); err != nil {
			return err
		}
		bw.WriteByte('\n')
	}
	bw.WriteString(summary(res, differing))
	return bw.Flush()
}

func summary(res *diff.Result, differing int) string {
	names := sanitizeAll(res.Subjects, ", ")
	if !res.Differs() {
		return fmt.Sprintf("No differences between %s (%d %s compared).\n", names, len(res.Rows), plural(len(res.Rows), "fact", "facts"))
	}
	top, consequences := 0, 0
	for _, f := range res.Findings {
		if !folded(f) {
			top++
		}
		if f.ConsequenceOf != "" {
			consequences++
		}
	}
	under := ""
	if top < len(res.Findings) {
		what := "symptoms"
		if consequences > 0 {
			what = "symptoms and consequences"
		}
		under = fmt.Sprintf(", %d of them %s shown under their causes (-o wide lists each)", len(res.Findings)-top, what)
	}
	return fmt.Sprintf("%d of %d facts differ between %s; %d %s%s.\n", differing, len(res.Rows), names,
		len(res.Findings), plural(len(res.Findings), "finding", "findings"), under)
}

// folded tells whether a finding is shown under another rather than on its own line: an
// explained symptom under its cause, a consequence under its root.
func folded(f diff.Finding) bool {
	return f.Kind == diff.Symptom && len(f.ExplainedBy) > 0 || f.ConsequenceOf != ""
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// findingsGrid lays out the diagnosis: by default the top-level findings (causes,
// unexplained symptoms, context), each cause with the symptoms it explains folded under
// it one line each; -o wide prints every finding with its ID, kind, rule and links.
func findingsGrid(res *diff.Result, opts Options, l layout) *grid {
	header := []string{"SEVERITY", "FINDING"}
	if l.wide {
		header = []string{"ID", "KIND", "SEVERITY", "RULE", "FINDING", "EVIDENCE"}
	}
	t := newGrid(header)
	byID := make(map[string]diff.Finding, len(res.Findings))
	for _, f := range res.Findings {
		byID[f.ID] = f
	}
	for _, f := range res.Findings {
		if !l.wide && folded(f) {
			continue // shown under its cause
		}
		sev := paint(opts.Color, severityColor[f.Severity], strings.ToUpper(f.Severity.String()))
		text := sanitize(f.Message)
		switch {
		case len(f.Explains) > 0:
			text += fmt.Sprintf("  (explains %d %s)", len(f.Explains), plural(len(f.Explains), "symptom", "symptoms"))
		case f.Kind == diff.Symptom && len(f.ExplainedBy) == 0 && f.Checked != "":
			text += " [unexplained: " + sanitize(f.Checked) + "]"
		}
		msg := wrap(text, l.messageWidth, 0)
		if l.wide {
			if f.Detail != "" {
				msg += "\n" + wrap(sanitize(f.Detail), l.messageWidth, 0)
			}
			links := ""
			if len(f.Explains) > 0 {
				links = "\nexplains " + sanitizeAll(f.Explains, " ")
			}
			if len(f.ExplainedBy) > 0 {
				links = "\nexplained by " + sanitizeAll(f.ExplainedBy, " ")
			}
			if len(f.Consequences) > 0 {
				links += "\nconsequences " + sanitizeAll(f.Consequences, " ")
			}
			if f.ConsequenceOf != "" {
				links += "\nfollows from " + sanitize(f.ConsequenceOf)
			}
			// IDs, kinds and rule names are the engine's and the plugins', escaped all
			// the same: nothing that reaches the terminal is printed raw.
			t.add([]string{sanitize(f.ID), sanitize(string(f.Kind)), sev, sanitize(f.Rule), msg + links, sanitizeAll(f.Keys, "\n")})
			continue
		}
		var under []string
		for _, id := range f.Consequences {
			if s, ok := byID[id]; ok {
				under = append(under, "  "+oneLine("follows from it: "+sanitize(s.Message), l.messageWidth-2))
			}
		}
		for n, id := range f.Explains {
			if n == maxFolded && len(f.Explains) > maxFolded+1 {
				under = append(under, fmt.Sprintf("  … and %d more (-o wide lists them)", len(f.Explains)-n))
				break
			}
			if s, ok := byID[id]; ok {
				under = append(under, "  "+oneLine(sanitize(s.Message), l.messageWidth-2))
			}
		}
		if len(under) > 0 {
			msg += "\n" + strings.Join(under, "\n")
		}
		t.add([]string{sev, msg})
	}
	return t
}

// maxFolded is how many symptoms the table lists under a cause.
const maxFolded = 6

// oneLine cuts s to width runes at a word boundary, marking the cut: a symptom under its
// cause gets one line. A word is never cut in two unless it alone is wider than the line.
func oneLine(s string, width int) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= width {
		return s
	}
	r := []rune(s)
	cut := width - 1
	for k := cut; k > width/2; k-- {
		if r[k] == ' ' {
			cut = k
			break
		}
	}
	return strings.TrimRight(strings.TrimRight(string(r[:cut]), " "), ",;:") + " …"
}

// rowsGrid lays out the rows, every row with opts.All, else the differing ones.
func rowsGrid(ctx context.Context, res *diff.Result, opts Options, l layout) (*grid, error) {
	header := []string{"SECTION", "KEY"}
	if l.wide {
		header = append(header, "KIND")
	}
	for _, name := range res.Subjects {
		header = append(header, sanitize(name))
	}
	if opts.All {
		header = append(header, "DIFFERS")
	}
	t := newGrid(header)
	if opts.All {
		t.grow(len(res.Rows))
	}
	last := ""
	cells := make([]string, 0, len(header))
	for n, r := range res.Rows {
		if n%checkEvery == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		if r.Equal && !opts.All {
			continue
		}
		section := ""
		if r.Section != last {
			// A section name is a key of the report's sections object: the pod's choice.
			section, last = sanitize(r.Section), r.Section
		}
		cells = append(cells[:0], section, wrapCell(sanitizeCell(r.Key), l.keyWidth, 0))
		if l.wide {
			cells = append(cells, KindName(r.Kind))
		}
		for i, v := range r.Values {
			cell := wrapCell(sanitizeCell(v), l.valueWidth, l.valueLines)
			switch {
			case r.Equal:
			case !r.Present(i):
				cell = paint(opts.Color, ansiRed, cell)
			case v != r.Values[0]:
				cell = paint(opts.Color, ansiYellow, cell)
			}
			cells = append(cells, cell)
		}
		if opts.All {
			mark := ""
			if !r.Equal {
				mark = paint(opts.Color, ansiYellow, "yes")
			}
			cells = append(cells, mark)
		}
		t.add(cells)
	}
	return t, nil
}

// checkEvery is how many rows the renderers lay out between two looks at the context.
const checkEvery = 1024

// maxCellBytes caps every table and wide cell (keys, values, finding messages) before it
// is escaped and wrapped: the full value is in -o json.
const maxCellBytes = 4096

// sanitize is what a report string becomes in a table cell: capped, then escaped onto
// one line (Sanitize).
func sanitize(s string) string { return Sanitize(Cap(s, maxCellBytes)) }

// sanitizeCell is a key or value in a table cell: sanitized, and every space that is
// part of a run, or leads or ends the string, shown as ␠ (U+2420), so that no cell starts
// with a space and a run of spaces cannot push text into what looks like another column
// or row.
func sanitizeCell(s string) string { return showSpaces(sanitize(s)) }

// visibleSpace stands for a space showSpaces shows.
const visibleSpace = "␠"

func showSpaces(s string) string {
	if !strings.Contains(s, "  ") && !strings.HasPrefix(s, " ") && !strings.HasSuffix(s, " ") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if s[i] != ' ' {
			b.WriteByte(s[i])
			i++
			continue
		}
		j := i
		for j < len(s) && s[j] == ' ' {
			j++
		}
		if j-i == 1 && i > 0 && j < len(s) {
			b.WriteByte(' ')
		} else {
			b.WriteString(strings.Repeat(visibleSpace, j-i))
		}
		i = j
	}
	return b.String()
}

// continuation starts every line of a wrapped key or value after its first: a cell never
// starts with a space (showSpaces), so an indented line is never a row of its own.
const continuation = "  "

// wrapCell is wrap for keys and values, their continuation lines indented.
func wrapCell(s string, width, maxLines int) string {
	w := wrap(s, width, maxLines)
	if !strings.Contains(w, "\n") {
		return w
	}
	return strings.ReplaceAll(w, "\n", "\n"+continuation)
}

// sanitizeAll sanitizes each of ss and joins them with sep.
func sanitizeAll(ss []string, sep string) string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = sanitize(s)
	}
	return strings.Join(out, sep)
}

// wrap breaks s into lines of at most width runes, at spaces where it can, and keeps
// at most maxLines lines (0: all), marking the cut.
func wrap(s string, width, maxLines int) string {
	if len(s) <= width && strings.IndexByte(s, '\n') < 0 {
		return s // fits: no rune is shorter than a byte
	}
	var lines []string
	for _, para := range strings.Split(s, "\n") {
		lines = append(lines, wrapLine(para, width)...)
	}
	if maxLines > 0 && len(lines) > maxLines {
		rest := 0
		for _, l := range lines[maxLines-1:] {
			rest += utf8.RuneCountInString(l)
		}
		lines = append(lines[:maxLines-1], fmt.Sprintf("… (%d more chars: -o json)", rest))
	}
	return strings.Join(lines, "\n")
}

func wrapLine(s string, width int) []string {
	if utf8.RuneCountInString(s) <= width {
		return []string{s}
	}
	var out []string
	rs := []rune(s)
	for len(rs) > width {
		cut := width
		// Prefer breaking after a space, or after a separator common in keys and lists.
		for k := width; k > width/2; k-- {
			if c := rs[k-1]; c == ' ' || c == ',' || c == '/' || c == ';' {
				cut = k
				break
			}
		}
		out = append(out, strings.TrimRight(string(rs[:cut]), " "))
		rs = rs[cut:]
		for len(rs) > 0 && rs[0] == ' ' {
			rs = rs[1:]
		}
	}
	if len(rs) > 0 {
		out = append(out, string(rs))
	}
	return out
}
