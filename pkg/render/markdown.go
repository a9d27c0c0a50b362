package render

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/netdiff/kubectl-netdiff/pkg/diff"
	"github.com/netdiff/kubectl-netdiff/pkg/redact"
)

// -o markdown: the diagnosis and the differing rows as GitHub-flavoured markdown for an
// issue or a chat, with no raw HTML. A report's words are plain text (every ASCII
// punctuation mark backslash-escaped: no emphasis, link, image, tag, entity, autolink or
// mention can start), its keys and values code spans (nothing inside one is markup; a
// pipe is escaped for the table). It stays under maxMarkdownBytes: the causes are
// never cut, the symptoms under them and the rows are, with "… N more".

// maxMarkdownBytes is what a ticket or a chat message accepts comfortably (GitHub takes
// 65,536 characters in an issue body).
const maxMarkdownBytes = 60 << 10

// markdownReserve is kept free of rows for the cut notes and the closing summary.
const markdownReserve = 2 << 10

// maxMarkdownColumns: beyond this many subjects a row lists each value with the
// subjects holding it, instead of a column per subject.
const maxMarkdownColumns = 4

func renderMarkdown(ctx context.Context, w io.Writer, res *diff.Result, opts Options) error {
	var b strings.Builder
	differing := 0
	for _, r := range res.Rows {
		if !r.Equal {
			differing++
		}
	}
	if len(res.Subjects) <= maxMarkdownColumns {
		names := make([]string, len(res.Subjects))
		for i, s := range res.Subjects {
			names[i] = mdCode(s)
		}
		fmt.Fprintf(&b, "## netdiff: %s\n\n", strings.Join(names, " vs "))
		b.WriteString(mdText(strings.TrimSuffix(summary(res, differing), "\n")) + "\n\n")
	} else {
		// Many subjects: named in the rows where they differ, not all in the title.
		fmt.Fprintf(&b, "## netdiff: %d subjects (%s, %s, … %s)\n\n", len(res.Subjects), mdCode(res.Subjects[0]), mdCode(res.Subjects[1]), mdCode(res.Subjects[len(res.Subjects)-1]))
		fmt.Fprintf(&b, "%d of %d facts differ; %d %s.\n\n", differing, len(res.Rows), len(res.Findings), plural(len(res.Findings), "finding", "findings"))
	}
	if len(opts.Command) > 0 {
		fmt.Fprintf(&b, "Command: %s\n\n", mdCode(strings.Join(redact.Args(opts.Command), " ")))
	}
	// The causes whole; the path lines; then the other findings and the rows share what
	// is left, the findings up to half of it.
	causes, others := markdownFindings(res)
	paths := markdownPaths(res)
	left := maxMarkdownBytes - markdownReserve - b.Len() - len(causes) - len(paths)
	if causes != "" || others != nil {
		b.WriteString("### Diagnosis\n\n")
		b.WriteString(causes)
		budget := max(left/2, 0)
		for n, line := range others {
			if len(line) > budget {
				fmt.Fprintf(&b, "- … %d more %s (unexplained symptoms, context): -o html or -o wide lists them\n", len(others)-n, plural(len(others)-n, "finding", "findings"))
				break
			}
			b.WriteString(line)
			budget -= len(line)
		}
		b.WriteString("\n")
	}
	b.WriteString(paths)
	if err := writeMarkdownRows(ctx, &b, res, opts); err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	bw.WriteString(b.String())
	return bw.Flush()
}

// markdownFindings words the top-level findings: the causes (each with what follows
// from it and, cut, the symptoms it explains) as one numbered list, and the others
// (unexplained symptoms, context) one list item each, for the caller to cut.
func markdownFindings(res *diff.Result) (causes string, others []string) {
	byID := make(map[string]diff.Finding, len(res.Findings))
	for _, f := range res.Findings {
		byID[f.ID] = f
	}
	var b strings.Builder
	n := 0
	for _, f := range res.Findings {
		if folded(f) {
			continue
		}
		head := fmt.Sprintf("**%s** %s", strings.ToUpper(f.Severity.String()), mdText(f.Message))
		switch {
		case len(f.Explains) > 0:
			head += fmt.Sprintf(" *(explains %d %s)*", len(f.Explains), plural(len(f.Explains), "symptom", "symptoms"))
		case f.Kind == diff.Symptom && len(f.ExplainedBy) == 0 && f.Checked != "":
			head += " *(unexplained: " + mdText(f.Checked) + ")*"
		}
		if f.Kind != diff.Cause {
			others = append(others, "- "+head+"\n")
			continue
		}
		n++
		fmt.Fprintf(&b, "%d. %s\n", n, head)
		if f.Detail != "" {
			b.WriteString("   - " + mdText(oneLine(sanitize(f.Detail), 600)) + "\n")
		}
		for _, id := range f.Consequences {
			if s, ok := byID[id]; ok {
				b.WriteString("   - follows from it: " + mdText(oneLine(sanitize(s.Message), 300)) + "\n")
			}
		}
		for k, id := range f.Explains {
			if k == maxFolded && len(f.Explains) > maxFolded+1 {
				fmt.Fprintf(&b, "   - … %d more (-o wide or -o html lists them)\n", len(f.Explains)-k)
				break
			}
			if s, ok := byID[id]; ok {
				b.WriteString("   - " + mdText(oneLine(sanitize(s.Message), 300)) + "\n")
			}
		}
	}
	if n > 0 && len(others) > 0 {
		b.WriteString("\n") // the other findings are a list of their own
	}
	return b.String(), others
}

// markdownPaths says, per failing probe, where it fails in each subject: the path
// picture of -o html in one line each.
func markdownPaths(res *diff.Result) string {
	pics, more := pictures(res)
	if len(pics) == 0 {
		return ""
	}
	var out strings.Builder
	b := &out
	b.WriteString("### Where each failing probe dies\n\n")
	for k, p := range pics {
		if k == maxMarkdownPaths {
			more += len(pics) - k
			break
		}
		// Subjects that went alike are one clause: "`a`, `b` and 97 more fail at …".
		var order []string
		who := map[string][]string{}
		for _, l := range p.Lanes {
			where := laneWhere(l)
			if _, ok := who[where]; !ok {
				order = append(order, where)
			}
			who[where] = append(who[where], l.Subject)
		}
		var clauses []string
		for _, where := range order {
			names := who[where]
			shown := names[:min(len(names), 3)]
			list := make([]string, len(shown))
			for k, s := range shown {
				list[k] = mdCode(s)
			}
			clause := strings.Join(list, ", ")
			if len(names) > len(shown) {
				clause += fmt.Sprintf(" and %d more", len(names)-len(shown))
			}
			clauses = append(clauses, clause+": "+where)
		}
		b.WriteString("- " + mdCode(p.Title) + ": " + strings.Join(clauses, "; ") + "\n")
	}
	if more > 0 {
		fmt.Fprintf(b, "- … %d more failing probes\n", more)
	}
	b.WriteString("\n")
	return out.String()
}

// laneWhere says in markdown where a lane's probe fails.
func laneWhere(l lane) string {
	switch {
	case !l.Probed:
		return "not probed"
	case !l.Failing:
		return "works"
	}
	for _, h := range l.Hops {
		if h.State == stateFails {
			return "fails at " + mdText(h.Name) + " (" + mdCode(cut(sanitize(h.Detail), 120)) + ")"
		}
		if h.State == stateLost {
			return "is lost after the pod, where nothing was read (" + mdText(h.Name) + ")"
		}
	}
	return "fails, no hop read differs"
}

// maxMarkdownPaths caps the probes listed under "Where each failing probe dies".
const maxMarkdownPaths = 12

// writeMarkdownRows writes the differing rows (every row with opts.All), one table per
// section, until the size budget is spent; what does not fit is counted.
func writeMarkdownRows(ctx context.Context, b *strings.Builder, res *diff.Result, opts Options) error {
	budget := maxMarkdownBytes - markdownReserve - b.Len()
	pivot := len(res.Subjects) > maxMarkdownColumns
	var header string
	if pivot {
		header = "| key | value: subjects |\n| --- | --- |\n"
	} else {
		header = "| key |"
		for _, s := range res.Subjects {
			header += " " + mdCell(s) + " |"
		}
		header += "\n|" + strings.Repeat(" --- |", len(res.Subjects)+1) + "\n"
	}
	title := "### Differing rows\n\n"
	if opts.All {
		title = "### All rows\n\n"
	}
	wrote, cutTotal := false, 0
	section, inTable, cutHere := "", false, 0
	closeSection := func() {
		if cutHere > 0 {
			fmt.Fprintf(b, "\n… %d more %s in %s (-o json has every row)\n", cutHere, plural(cutHere, "row", "rows"), mdCode(section))
		}
		if inTable || cutHere > 0 {
			b.WriteString("\n")
		}
		inTable, cutHere = false, 0
	}
	for n, r := range res.Rows {
		if n%checkEvery == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if r.Equal && !opts.All {
			continue
		}
		if !wrote {
			b.WriteString(title)
			wrote = true
		}
		if r.Section != section {
			closeSection()
			section = r.Section
			if budget > 0 {
				head := "#### " + mdText(sanitize(r.Section)) + "\n\n" + header
				b.WriteString(head)
				budget -= len(head)
				inTable = true
			}
		}
		line := markdownRow(r, res.Subjects, pivot)
		if !inTable || len(line) > budget {
			cutHere++
			cutTotal++
			budget = 0 // keep the table whole: what follows is counted, not shown
			continue
		}
		b.WriteString(line)
		budget -= len(line)
	}
	closeSection()
	if cutTotal > 0 {
		fmt.Fprintf(b, "*%d %s not shown to keep this under %d KB: -o json or -o html has them.*\n", cutTotal, plural(cutTotal, "row", "rows"), maxMarkdownBytes>>10)
	}
	return nil
}

// markdownRow is one table row.
func markdownRow(r diff.Row, subjects []string, pivot bool) string {
	var b strings.Builder
	b.WriteString("| " + mdCell(r.Key) + " |")
	value := func(i int) string {
		if !r.Present(i) {
			return "*(absent)*"
		}
		return mdCell(r.Values[i])
	}
	if !pivot {
		for i := range r.Values {
			b.WriteString(" " + value(i) + " |")
		}
		b.WriteString("\n")
		return b.String()
	}
	b.WriteString(" " + pivotValues(r, subjects, mdCell) + " |\n")
	return b.String()
}

// pivotValues is a row across many subjects: each value once, with the subjects that
// hold it (the rarest value first, three names, then a count), every string through
// quote.
func pivotValues(r diff.Row, subjects []string, quote func(string) string) string {
	type group struct {
		value string
		who   []string
	}
	var groups []*group
	idx := map[string]*group{}
	for i := range r.Values {
		v := "(absent)"
		if r.Present(i) {
			v = quote(r.Values[i])
		}
		g, ok := idx[v]
		if !ok {
			g = &group{value: v}
			idx[v] = g
			groups = append(groups, g)
		}
		g.who = append(g.who, subjects[i])
	}
	sort.SliceStable(groups, func(a, c int) bool { return len(groups[a].who) < len(groups[c].who) })
	var parts []string
	for _, g := range groups {
		who := g.who
		more := ""
		if len(who) > 3 {
			more = fmt.Sprintf(" and %d more", len(who)-3)
			who = who[:3]
		}
		names := make([]string, len(who))
		for k, s := range who {
			names[k] = quote(s)
		}
		parts = append(parts, g.value+": "+strings.Join(names, ", ")+more)
	}
	return strings.Join(parts, "; ")
}

// mdAlways are the marks that can start markup anywhere in a line, escaped wherever they
// stand: emphasis and strikethrough (* _ ~), code (`), links and images ([ ] !), raw
// HTML and entities (< > &), table cells (|), GitHub's mentions and references (@ #) and
// math ($), and the backslash itself.
const mdAlways = "\\`*_~[]!<>&|@#$"

// mdText is a report string as markdown text: sanitized onto one line, every mark that
// could start markup backslash-escaped (CommonMark lets a backslash escape any ASCII
// punctuation), and so no autolink either: a colon before a slash or a word (http://,
// mailto:, :emoji:) and the dot of "www." are escaped too. The text never starts a line
// (the callers put it after a list marker or a word), so line-start marks (# - + 1.)
// need no escape; a leading one is escaped all the same.
func mdText(s string) string {
	s = sanitize(s)
	var b strings.Builder
	b.Grow(len(s) + len(s)/8)
	for i, r := range s {
		esc := r < 0x80 && strings.ContainsRune(mdAlways, r)
		switch {
		case i == 0 && r < 0x80 && strings.ContainsRune(mdLineStart, r):
			esc = true
		case r == ':' && i+1 < len(s) && !isSpaceOrDigit(s[i+1]):
			esc = true
		case r == '.' && i >= 3 && strings.EqualFold(s[i-3:i], "www"):
			esc = true
		case (r == '.' || r == ')') && i > 0 && strings.TrimLeft(s[:i], "0123456789") == "":
			esc = true // "1." or "1)" at the start would be a list
		}
		if esc {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// mdLineStart are the marks that start a block at the beginning of a line.
const mdLineStart = "#-+=>"

func isSpaceOrDigit(c byte) bool { return c == ' ' || c >= '0' && c <= '9' }

// mdCode is a report string as a code span: nothing inside is markup. The fence is one
// backtick longer than the longest run inside; a span that would start or end with a
// backtick or a space is padded with one space (CommonMark strips exactly one).
func mdCode(s string) string {
	s = sanitize(s)
	if s == "" {
		return "*(empty)*"
	}
	run, longest := 0, 0
	for _, r := range s {
		if r == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", longest+1)
	if s[0] == '`' || s[len(s)-1] == '`' || s[0] == ' ' || s[len(s)-1] == ' ' {
		s = " " + s + " "
	}
	return fence + s + fence
}

// mdCell is a code span in a table cell: a pipe, even inside a code span, ends the cell
// unless escaped (GFM), and the escape is taken out before the span is read.
func mdCell(s string) string {
	return strings.ReplaceAll(mdCode(s), "|", `\|`)
}
