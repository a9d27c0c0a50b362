package render

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	gmhtml "github.com/yuin/goldmark/renderer/html"
	"golang.org/x/net/html"

	"github.com/netdiff/kubectl-netdiff/pkg/diff"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
)

// gfm renders markdown as GitHub does (tables, autolinks, strikethrough, task lists),
// raw HTML passed through (WithUnsafe) so that any that got in shows up.
func gfm(t testing.TB, md []byte) string {
	t.Helper()
	var out bytes.Buffer
	g := goldmark.New(goldmark.WithExtensions(extension.GFM), goldmark.WithRendererOptions(gmhtml.WithUnsafe()))
	if err := g.Convert(md, &out); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

// TestMarkdownOfDemoRenders: the demo pair's markdown renders as a list (the diagnosis,
// the symptoms under the cause) and tables (the differing rows), every table row with a
// cell per column, and fits a ticket.
func TestMarkdownOfDemoRenders(t *testing.T) {
	var md bytes.Buffer
	if err := Render(&md, realResult(t), "markdown", Options{Command: []string{"kubectl", "netdiff", "web-a", "web-broken", "--token", "s3cr3t"}}); err != nil {
		t.Fatal(err)
	}
	if md.Len() > maxMarkdownBytes {
		t.Errorf("%d bytes, more than %d", md.Len(), maxMarkdownBytes)
	}
	if strings.Contains(md.String(), "s3cr3t") {
		t.Errorf("the command's token is not masked")
	}
	out := gfm(t, md.Bytes())
	doc, err := html.Parse(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	walk(doc, func(n *html.Node) {
		if n.Type == html.ElementNode {
			count[n.Data]++
		}
		if n.Type == html.ElementNode && n.Data == "table" {
			checkTableShape(t, n)
		}
	})
	if count["table"] == 0 || count["ol"] == 0 || count["ul"] == 0 || count["li"] < 5 || count["td"] < 40 {
		t.Errorf("want tables and lists, got %v:\n%s", count, out)
	}
	// The cause is the first item of the diagnosis, as it reads.
	ol := find(doc, "ol")
	if first := textOf(find(ol, "li")); !strings.Contains(first, "CRITICAL default/web-broken has no IPv4 default route (default/web-a has `default via 10.244.0.1") {
		t.Errorf("the first item is not the cause as written: %q", first)
	}
}

// checkTableShape: every row of a table has as many cells as its header.
func checkTableShape(t *testing.T, table *html.Node) {
	t.Helper()
	want := -1
	walk(table, func(n *html.Node) {
		if n.Type != html.ElementNode || n.Data != "tr" {
			return
		}
		cells := 0
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			if c.Type == html.ElementNode && (c.Data == "td" || c.Data == "th") {
				cells++
			}
		}
		if want < 0 {
			want = cells
		} else if cells != want {
			var b strings.Builder
			_ = html.Render(&b, n)
			t.Errorf("a row has %d cells, the header %d: %s", cells, want, b.String())
		}
	})
}

// TestMarkdownOfHundredPods: the 100-pod run (kubectl netdiff -l over a hundred pods,
// hack/bench's scale run; here the captured demo pods, one broken among a hundred)
// prints markdown under the size a ticket takes, the cause whole, the rows cut with a
// count.
func TestMarkdownOfHundredPods(t *testing.T) {
	res := hundredPods(t)
	var md bytes.Buffer
	if err := Render(&md, res, "markdown", Options{}); err != nil {
		t.Fatal(err)
	}
	t.Logf("100 pods: %d bytes of markdown, %d findings, %d rows", md.Len(), len(res.Findings), len(res.Rows))
	if md.Len() > maxMarkdownBytes {
		t.Errorf("%d bytes, more than %d", md.Len(), maxMarkdownBytes)
	}
	for _, f := range res.Findings {
		if f.Kind == diff.Cause && !folded(f) && !strings.Contains(md.String(), mdText(f.Message)) {
			t.Errorf("cause %s is not printed whole", f.ID)
		}
	}
	out := gfm(t, md.Bytes())
	doc, err := html.Parse(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	walk(doc, func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "table" {
			checkTableShape(t, n)
		}
	})
}

// hundredPods compares a hundred reports: web-broken and 99 copies of web-a, each its
// own subject, as -l does.
func hundredPods(t testing.TB) *diff.Result {
	t.Helper()
	raw := map[string][]byte{}
	for _, name := range []string{"real-web-a.json", "real-web-broken.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		raw[name] = b
	}
	var names []string
	var reps []*report.Report
	for i := range 100 {
		file := "real-web-a.json"
		if i == 37 {
			file = "real-web-broken.json"
		}
		rep, err := report.Decode(bytes.NewReader(raw[file]))
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, fmt.Sprintf("default/web-%02d", i))
		reps = append(reps, rep)
	}
	res, err := diff.Compare(names, reps, diff.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// BenchmarkMarkdownHundredPods renders the hundred-pod comparison as markdown.
func BenchmarkMarkdownHundredPods(b *testing.B) {
	res := hundredPods(b)
	for b.Loop() {
		if err := Render(io.Discard, res, "markdown", Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// markupCorpus are strings a pod can put in a report that would be markup if printed raw
// in HTML or markdown.
var markupCorpus = []string{
	`<script>alert(1)</script>`,
	`</title></style></svg><script>alert(1)</script>`,
	`<img src=x onerror=alert(1)>`,
	`" onmouseover="alert(1)`,
	`' onload='alert(1)`,
	`javascript:alert(1)`,
	`[click](javascript:alert(1))`,
	`[x]: javascript:alert(1)`,
	`![img](http://198.51.100.7/x.png)`,
	`<http://198.51.100.7/>`,
	`http://198.51.100.7/x and www.example.com and mail@example.com`,
	`&lt;b&gt;bold&lt;/b&gt; &#x3C;script&#x3E; &amp;`,
	"`code` ``double`` ```fence",
	"```\nfenced\n```",
	`a | b || c \| d \\| e`,
	`*em* **strong** _em_ ~~del~~ ~sub~`,
	`# heading`,
	`- item`,
	`1. item`,
	`> quote`,
	`@everyone @team #123 GH-1`,
	`$x^2$ $$y$$`,
	`:smile: :+1:`,
	`<!-- comment --> <![CDATA[x]]> <?php ?>`,
	"x\u202egnp.exe \u2066iso\u2069 zero\u200bwidth",
	"line\nbreak\rreturn\x1b[2J",
	`\`,
	"trailing\\",
	`data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==`,
	`<svg onload=alert(1)>`,
	`{{.}} {{template "x"}}`,
}

// TestMarkupCorpusStaysText puts every corpus string in every string a pod influences
// (subject name, section, key, value, finding message, checked note, evidence) and
// renders html and markdown: the page holds no element, attribute or URL the renderer
// did not write itself, the markdown (rendered as GitHub does) no link, image, raw HTML,
// extra cell or emphasis, and the string is still there, as text.
func TestMarkupCorpusStaysText(t *testing.T) {
	for n, s := range markupCorpus {
		t.Run(fmt.Sprint(n), func(t *testing.T) { checkMarkupFree(t, s) })
	}
}

// FuzzMarkupFree: the same property for any string.
func FuzzMarkupFree(f *testing.F) {
	for _, s := range markupCorpus {
		f.Add(s)
	}
	for _, h := range hostile {
		f.Add(h.s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkMarkupFree(t, s) })
}

// The elements and attributes the page template writes: anything else came from a report.
var (
	pageElements = set("html", "head", "meta", "title", "style", "body", "header", "h1", "h2", "h3", "h4", "p", "dl", "div", "dt", "dd",
		"code", "br", "main", "section", "details", "summary", "span", "figure", "figcaption", "svg", "g", "text", "rect", "circle",
		"line", "path", "table", "thead", "tbody", "tr", "th", "td", "ul", "li", "strong")
	pageAttrs = set("lang", "charset", "http-equiv", "content", "name", "class", "id", "xmlns", "width", "height", "viewBox", "role",
		"aria-label", "data-state", "x", "y", "rx", "cx", "cy", "r", "text-anchor", "dominant-baseline", "x1", "y1", "x2", "y2", "d", "dx", "dy")
	// What GitHub-flavoured markdown of the renderer may hold; no a, img, del, input, raw HTML.
	markdownElements = set("html", "head", "body", "h2", "h3", "h4", "p", "ol", "ul", "li", "strong", "em", "code", "table", "thead",
		"tbody", "tr", "th", "td")
)

func set(s ...string) map[string]bool {
	m := map[string]bool{}
	for _, x := range s {
		m[x] = true
	}
	return m
}

func checkMarkupFree(t *testing.T, s string) {
	checkResultMarkupFree(t, hostileResult(s), s, "value "+s+" differs")
}

// TestMarkupCorpusInPathPictures: the demo pair compared under names holding each
// corpus string, so that they reach the path pictures (lane heads, captions, the
// markdown's path lines) too.
func TestMarkupCorpusInPathPictures(t *testing.T) {
	var reps []*report.Report
	for _, name := range []string{"real-web-a.json", "real-web-broken.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		rep, err := report.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		reps = append(reps, rep)
	}
	for n, s := range markupCorpus {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			res, err := diff.Compare([]string{"a" + s, "b" + s}, reps, diff.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if pics, _ := pictures(res); len(pics) == 0 {
				t.Fatal("no path picture")
			}
			checkResultMarkupFree(t, res, s, "b"+s)
		})
	}
}

// checkResultMarkupFree renders res as html and markdown and checks that neither holds
// markup the renderer did not write, and that want (a string from res) is still there,
// as text.
func checkResultMarkupFree(t *testing.T, res *diff.Result, s, want string) {
	var page bytes.Buffer
	if err := Render(&page, res, "html", Options{All: true}); err != nil {
		t.Fatal(err)
	}
	doc, err := html.Parse(bytes.NewReader(page.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	walk(doc, func(n *html.Node) {
		switch n.Type {
		case html.ElementNode:
			if !pageElements[n.Data] {
				t.Fatalf("html: element <%s> from %q", n.Data, s)
			}
			for _, a := range n.Attr {
				if !pageAttrs[a.Key] {
					t.Fatalf("html: attribute %s=%q on <%s> from %q", a.Key, a.Val, n.Data, s)
				}
			}
		case html.CommentNode:
			t.Fatalf("html: a comment from %q", s)
		}
	})
	// One <meta http-equiv> (the CSP), one <style>: the policy is the page's.
	if c := strings.Count(page.String(), "http-equiv"); c != 1 {
		t.Fatalf("html: %d http-equiv", c)
	}
	// The string is still shown, as text, escaped only for the terminal-unsafe runes.
	if !strings.Contains(textOf(doc), sanitize(want)) {
		t.Fatalf("html: %q is not in the page's text", sanitize(want))
	}

	var md bytes.Buffer
	if err := Render(&md, res, "markdown", Options{All: true}); err != nil {
		t.Fatal(err)
	}
	out := gfm(t, md.Bytes())
	mdoc, err := html.Parse(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	walk(mdoc, func(n *html.Node) {
		switch n.Type {
		case html.ElementNode:
			if !markdownElements[n.Data] {
				t.Fatalf("markdown: element <%s> from %q:\n%s\n%s", n.Data, s, md.String(), out)
			}
			if n.Data == "table" {
				checkTableShape(t, n)
			}
			if len(n.Attr) > 0 && n.Data != "th" && n.Data != "td" {
				t.Fatalf("markdown: attributes on <%s> from %q", n.Data, s)
			}
		case html.CommentNode:
			t.Fatalf("markdown: raw HTML from %q:\n%s", s, out)
		}
	})
	// Emphasis only where the renderer writes it: the severities, the counts.
	walk(mdoc, func(n *html.Node) {
		if n.Type == html.ElementNode && (n.Data == "strong" || n.Data == "em") {
			if txt := textOf(n); !allowedEmphasis(txt) {
				t.Fatalf("markdown: <%s>%s</%s> from %q", n.Data, txt, n.Data, s)
			}
		}
	})
	if !strings.Contains(textOf(mdoc), sanitize(want)) {
		t.Fatalf("markdown: %q is not in the rendered text:\n%s", sanitize(want), out)
	}
	// GitHub (cmark-gfm) splits a table row on every pipe not escaped by a backslash,
	// inside code spans too (goldmark does not): every row has the header's cells.
	checkPipes(t, md.String())
	// GitHub's own references, outside code: a mention, an issue, math, emoji.
	for _, mark := range []string{"@", "#", "$"} {
		if strings.Contains(unescapedText(md.String()), mark) {
			t.Fatalf("markdown: an unescaped %q outside code from %q:\n%s", mark, s, md.String())
		}
	}
}

// checkPipes counts each table row's cells as cmark-gfm's scanner does (a cell is a run
// of escaped pipes or other characters).
func checkPipes(t *testing.T, md string) {
	t.Helper()
	want := 0
	for _, line := range strings.Split(md, "\n") {
		if !strings.HasPrefix(line, "|") {
			want = 0
			continue
		}
		cells := 0
		for i := 0; i < len(line); i++ {
			switch {
			case line[i] == '\\' && i+1 < len(line) && line[i+1] == '|':
				i++
			case line[i] == '|':
				cells++
			}
		}
		if want == 0 {
			want = cells
		} else if cells != want {
			t.Fatalf("markdown: a table row with %d pipes, its header %d: %s", cells, want, line)
		}
	}
}

func allowedEmphasis(s string) bool {
	switch s {
	case "CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO", "(absent)", "(empty)":
		return true
	}
	return strings.HasPrefix(s, "(explains ") || strings.HasPrefix(s, "(unexplained: ") ||
		strings.HasSuffix(s, "has them.") || strings.HasPrefix(s, "(")
}

// unescapedText is md without its headings' markers, code spans and backslash escapes:
// what GitHub reads as text.
func unescapedText(md string) string {
	var b strings.Builder
	for _, line := range strings.Split(md, "\n") {
		line = strings.TrimLeft(line, "#")
		for i := 0; i < len(line); i++ {
			switch {
			case line[i] == '\\' && i+1 < len(line):
				i++
			case line[i] == '`':
				j := i
				for j < len(line) && line[j] == '`' {
					j++
				}
				fence := line[i:j]
				end := strings.Index(line[j:], fence)
				if end < 0 {
					b.WriteString(line[i:])
					i = len(line)
					continue
				}
				i = j + end + len(fence) - 1
			default:
				b.WriteByte(line[i])
			}
		}
		b.WriteByte('\n')
	}
	return b.String()
}
