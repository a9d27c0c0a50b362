package render

import (
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/netdiff/kubectl-netdiff/pkg/diff"
	"github.com/netdiff/kubectl-netdiff/pkg/redact"
	"github.com/netdiff/kubectl-netdiff/pkg/version"
)

// -o html: one self-contained page to share a diagnosis. Every string from a report goes
// through sanitize (capped, invisible and control runes shown as escapes) and then
// html/template's contextual escaping; the page loads nothing and runs no script (its
// Content-Security-Policy forbids both: default-src 'none', the one inline style allowed
// by its hash). Folds are <details>; printing opens them.

//go:embed html.tmpl
var htmlTemplate string

//go:embed html.css
var htmlCSS string

// cspStyleHash is the CSP source of the page's one <style> element.
var cspStyleHash = func() string {
	sum := sha256.Sum256([]byte(htmlCSS))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}()

var pageTemplate = template.Must(template.New("page").Funcs(template.FuncMap{
	"lower": strings.ToLower,
}).Parse(strings.Replace(htmlTemplate, "/*CSS*/", htmlCSS, 1)))

// maxHTMLRows caps the rows behind the "all rows" fold; -o json has every row.
const maxHTMLRows = 20000

// maxHTMLLanes caps the subjects drawn side by side on one picture: the failing ones
// first, then one that works.
const maxHTMLLanes = 4

type htmlPage struct {
	CSP       string
	Title     string
	Generated string
	Version   string
	Command   string
	Summary   string
	Subjects  []htmlSubject
	// Many: more subjects than maxHTMLLanes: they are folded, the rows pivoted.
	Many      bool
	Causes    []htmlFinding
	Other     []htmlFinding
	Pictures  []htmlPicture
	MorePics  int
	Sections  []htmlSection
	AllRows   htmlTable
	AllCount  int
	AllCut    int
	ShowAll   bool
	Differing int
}

type htmlSubject struct {
	Name, Node, IPs, Images, Time, Prober, Hostname, Via string
}

type htmlFinding struct {
	ID, Severity, Kind, Message, Detail, Rule, Subject, Place, Checked string
	Count                                                              string
	Evidence                                                           htmlTable
	Symptoms, Consequences                                             []string
}

type htmlTable struct {
	Header []string
	Rows   []htmlRow
}

type htmlRow struct {
	Section string
	Key     string
	Cells   []htmlCell
}

type htmlCell struct {
	Text    string
	Differs bool
	Missing bool
}

type htmlSection struct {
	Name  string
	Table htmlTable
}

type htmlPicture struct {
	ID, Title, Caption string
	Probes             []string
	SVG                svgPicture
}

// renderHTML writes res as one HTML page.
func renderHTML(ctx context.Context, w io.Writer, res *diff.Result, opts Options) error {
	page, err := newHTMLPage(ctx, res, opts)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, page); err != nil {
		return fmt.Errorf("render html: %w", err)
	}
	_, err = w.Write(buf.Bytes())
	return err
}

func newHTMLPage(ctx context.Context, res *diff.Result, opts Options) (*htmlPage, error) {
	names := make([]string, len(res.Subjects))
	for i, s := range res.Subjects {
		names[i] = sanitize(s)
	}
	p := &htmlPage{
		CSP:     "default-src 'none'; style-src " + cspStyleHash + "; img-src 'none'; base-uri 'none'; form-action 'none'",
		Title:   "netdiff: " + strings.Join(names, " vs "),
		Version: sanitize(version.Version),
		ShowAll: opts.All,
		Many:    len(names) > maxHTMLLanes,
	}
	if p.Many {
		p.Title = fmt.Sprintf("netdiff: %d subjects (%s, %s, … %s)", len(names), names[0], names[1], names[len(names)-1])
	}
	if opts.Now != nil {
		p.Generated = opts.Now().UTC().Format(time.RFC3339)
	}
	if len(opts.Command) > 0 {
		p.Command = sanitize(strings.Join(redact.Args(opts.Command), " "))
	}
	p.Subjects = subjectsOf(res)
	differing := 0
	for _, r := range res.Rows {
		if !r.Equal {
			differing++
		}
	}
	p.Differing = differing
	p.Summary = strings.TrimSuffix(summary(res, differing), "\n")
	if p.Many {
		p.Summary = fmt.Sprintf("%d of %d facts differ between %d subjects; %d %s.", differing, len(res.Rows), len(names),
			len(res.Findings), plural(len(res.Findings), "finding", "findings"))
	}
	p.Causes, p.Other = htmlFindings(res, p.Many)
	pics, more := pictures(res)
	p.MorePics = more
	for _, pic := range pics {
		p.Pictures = append(p.Pictures, htmlPictureOf(pic))
	}
	var err error
	if p.Sections, err = htmlSections(ctx, res, p.Many); err != nil {
		return nil, err
	}
	p.AllRows.Header = append([]string{"section"}, rowsHeader(names, p.Many)...)
	p.AllCount = len(res.Rows)
	for n, r := range res.Rows {
		if n%checkEvery == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		if n == maxHTMLRows {
			p.AllCut = len(res.Rows) - n
			break
		}
		p.AllRows.Rows = append(p.AllRows.Rows, htmlRowOf(r, true, res.Subjects, p.Many))
	}
	return p, nil
}

// subjectsOf is the header: what each report says about its subject.
func subjectsOf(res *diff.Result) []htmlSubject {
	out := make([]htmlSubject, len(res.Subjects))
	for i, s := range res.Subjects {
		out[i].Name = sanitize(s)
	}
	images := make([][]string, len(res.Subjects))
	for _, r := range res.Rows {
		if r.Section != "pod" || !imageKey.MatchString(r.Key) {
			continue
		}
		for i, v := range r.Values {
			if r.Present(i) && v != "" {
				images[i] = append(images[i], sanitize(v))
			}
		}
	}
	for i := range out {
		out[i].Images = strings.Join(images[i], ", ")
	}
	if res.Diagnosis == nil {
		return out
	}
	for i, rep := range res.Diagnosis.Comparison().Reports {
		if i >= len(out) || rep == nil {
			continue
		}
		out[i].Prober = sanitize(rep.ProberVersion)
		out[i].Hostname = sanitize(rep.Hostname)
		out[i].Via = sanitize(rep.Via)
		if !rep.Time.IsZero() {
			out[i].Time = rep.Time.UTC().Format(time.RFC3339)
		}
		if s := rep.Subject; s != nil {
			out[i].Node = sanitize(s.Node)
			out[i].IPs = sanitize(strings.Join(s.IPs, ", "))
		}
	}
	return out
}

// imageKey is the pod section's key of a container's image (pkg/podfacts).
var imageKey = regexp.MustCompile(`^containers/[0-9]+/image$`)

// htmlFindings splits the findings into the top-level causes (each with what it explains
// and what follows from it) and the other top-level findings (unexplained symptoms,
// context).
func htmlFindings(res *diff.Result, pivot bool) (causes, other []htmlFinding) {
	byID := make(map[string]diff.Finding, len(res.Findings))
	for _, f := range res.Findings {
		byID[f.ID] = f
	}
	for _, f := range res.Findings {
		if folded(f) {
			continue
		}
		h := htmlFinding{ID: sanitize(f.ID), Severity: strings.ToUpper(f.Severity.String()), Kind: string(f.Kind),
			Message: sanitize(f.Message), Detail: sanitize(f.Detail), Rule: sanitize(f.Rule), Subject: sanitize(f.Subject), Place: sanitize(f.Place)}
		if f.Kind == diff.Symptom && len(f.ExplainedBy) == 0 {
			h.Checked = sanitize(f.Checked)
		}
		if len(f.Explains) > 0 {
			h.Count = fmt.Sprintf("explains %d %s", len(f.Explains), plural(len(f.Explains), "symptom", "symptoms"))
		}
		for _, id := range f.Explains {
			if s, ok := byID[id]; ok {
				h.Symptoms = append(h.Symptoms, sanitize(s.Message))
			}
		}
		for _, id := range f.Consequences {
			if s, ok := byID[id]; ok {
				h.Consequences = append(h.Consequences, sanitize(s.Message))
			}
		}
		h.Evidence.Header = append([]string{"row"}, sanitizeAllList(res.Subjects)...)
		if pivot {
			h.Evidence.Header = []string{"row", "value: subjects"}
		}
		for _, e := range f.Evidence {
			row := htmlRow{Key: sanitize(e.Row)}
			if pivot {
				r := diff.Row{Values: make([]string, len(res.Subjects)), Missing: make([]bool, len(res.Subjects))}
				for i, s := range res.Subjects {
					r.Values[i], r.Missing[i] = e.Values[s], !hasKey(e.Values, s)
				}
				row.Cells = []htmlCell{{Text: pivotValues(r, res.Subjects, sanitize), Differs: true}}
				h.Evidence.Rows = append(h.Evidence.Rows, row)
				continue
			}
			first, seen := "", false
			for _, s := range res.Subjects {
				v, ok := e.Values[s]
				cell := htmlCell{Text: sanitize(v), Missing: !ok}
				if seen && v != first {
					cell.Differs = true
				}
				if !seen {
					first, seen = v, true
				}
				row.Cells = append(row.Cells, cell)
			}
			h.Evidence.Rows = append(h.Evidence.Rows, row)
		}
		if f.Kind == diff.Cause && len(f.Explains) > 0 {
			causes = append(causes, h)
		} else {
			other = append(other, h)
		}
	}
	return causes, other
}

func hasKey(m map[string]string, k string) bool { _, ok := m[k]; return ok }

func sanitizeAllList(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = sanitize(s)
	}
	return out
}

// htmlSections are the differing rows, one table per section.
func htmlSections(ctx context.Context, res *diff.Result, pivot bool) ([]htmlSection, error) {
	var out []htmlSection
	header := rowsHeader(sanitizeAllList(res.Subjects), pivot)
	rows := 0
	for n, r := range res.Rows {
		if n%checkEvery == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		if r.Equal {
			continue
		}
		if rows == maxHTMLRows {
			break
		}
		rows++
		if len(out) == 0 || out[len(out)-1].Name != sanitize(r.Section) {
			out = append(out, htmlSection{Name: sanitize(r.Section), Table: htmlTable{Header: header}})
		}
		t := &out[len(out)-1].Table
		t.Rows = append(t.Rows, htmlRowOf(r, false, res.Subjects, pivot))
	}
	return out, nil
}

// rowsHeader is the header of a rows table: a column per subject, or, pivoted (many
// subjects), one column of values with the subjects holding each.
func rowsHeader(names []string, pivot bool) []string {
	if pivot {
		return []string{"key", "value: subjects"}
	}
	return append([]string{"key"}, names...)
}

func htmlRowOf(r diff.Row, withSection bool, subjects []string, pivot bool) htmlRow {
	row := htmlRow{Key: sanitize(r.Key)}
	if withSection {
		row.Section = sanitize(r.Section)
	}
	if pivot {
		row.Cells = []htmlCell{{Text: pivotValues(r, subjects, sanitize), Differs: !r.Equal}}
		return row
	}
	for i, v := range r.Values {
		c := htmlCell{Text: sanitize(v), Missing: !r.Present(i)}
		if c.Missing {
			c.Text = "-"
		}
		c.Differs = !r.Equal && (!r.Present(i) || v != r.Values[0])
		row.Cells = append(row.Cells, c)
	}
	return row
}

func htmlPictureOf(pic picture) htmlPicture {
	h := htmlPicture{ID: pic.ID, Title: sanitize(pic.Title), Caption: sanitize(pic.Caption)}
	for _, p := range pic.Probes {
		h.Probes = append(h.Probes, sanitize(p))
	}
	lanes := pic.Lanes
	if len(lanes) > maxHTMLLanes {
		// The failing subjects first, then one that works.
		var keep []lane
		works := -1
		for n, l := range lanes {
			if l.Failing && len(keep) < maxHTMLLanes-1 {
				keep = append(keep, l)
			} else if !l.Failing && l.Probed && works < 0 {
				works = n
			}
		}
		if works >= 0 {
			keep = append(keep, lanes[works])
		}
		sort.SliceStable(keep, func(a, b int) bool { return keep[a].Subject < keep[b].Subject })
		lanes = keep
	}
	h.SVG = layoutSVG(lanes)
	return h
}
