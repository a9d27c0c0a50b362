package all_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/netdiff/kubectl-netdiff/pkg/probe"
	_ "github.com/netdiff/kubectl-netdiff/plugins/all/cluster" // the API sections too
)

// knownNamings are the places in pkg/ that still name a section: none. Keep it empty.
var knownNamings = []string{}

// namings lists where Go source names one of the sections: a string literal given to
// .Section(…) or probe.Lookup(…), an index into .Sections[…], a Section: field, a
// constant named …Section…, a map keyed by section names, or a literal starting
// "<section>/" (a rule or row key).
func namings(path string, src any, sections map[string]bool) ([]string, error) {
	f, err := parser.ParseFile(token.NewFileSet(), path, src, parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	lit := func(e ast.Expr) (string, bool) {
		b, ok := e.(*ast.BasicLit)
		if !ok || b.Kind != token.STRING {
			return "", false
		}
		s, err := strconv.Unquote(b.Value)
		return s, err == nil
	}
	var out []string
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CallExpr:
			if sel, ok := n.Fun.(*ast.SelectorExpr); ok && (sel.Sel.Name == "Section" || sel.Sel.Name == "Lookup") && len(n.Args) > 0 {
				if s, ok := lit(n.Args[0]); ok && sections[s] {
					out = append(out, "."+sel.Sel.Name+"("+strconv.Quote(s)+")")
				}
			}
		case *ast.IndexExpr:
			if sel, ok := n.X.(*ast.SelectorExpr); ok && sel.Sel.Name == "Sections" {
				if s, ok := lit(n.Index); ok && sections[s] {
					out = append(out, ".Sections["+strconv.Quote(s)+"]")
				}
			}
		case *ast.KeyValueExpr:
			if id, ok := n.Key.(*ast.Ident); ok && id.Name == "Section" {
				if s, ok := lit(n.Value); ok && sections[s] {
					out = append(out, "Section: "+strconv.Quote(s))
				}
			}

		case *ast.CompositeLit:
			// A map keyed by section names ({"process": …, "dnsconfig": …}); one whose
			// keys are other words too ({"tcp": …, "icmp": …}) is about something else.
			var keys []string
			for _, e := range n.Elts {
				kv, ok := e.(*ast.KeyValueExpr)
				if !ok {
					keys = nil
					break
				}
				k, ok := lit(kv.Key)
				if !ok || !sections[k] {
					keys = nil
					break
				}
				keys = append(keys, strconv.Quote(k))
			}
			if len(keys) >= 2 {
				out = append(out, "{"+strings.Join(keys, ", ")+"}")
			}
		case *ast.ValueSpec:
			for i, name := range n.Names {
				if i < len(n.Values) && strings.Contains(name.Name, "Section") {
					if s, ok := lit(n.Values[i]); ok && sections[s] {
						out = append(out, "const "+name.Name+" = "+strconv.Quote(s))
					}
				}
			}
		case *ast.BasicLit:
			if s, ok := lit(n); ok {
				if name, _, cut := strings.Cut(s, "/"); cut && sections[name] {
					out = append(out, strconv.Quote(s))
				}
			}
		}
		return true
	})
	return out, nil
}

// The engines and every other package under pkg/ name no section: a section is a plugin,
// found through the registries, so removing one edits nothing outside its folder.
func TestPkgNamesNoSection(t *testing.T) {
	sections := map[string]bool{}
	for _, p := range probe.New() {
		sections[p.Name()] = true
	}
	if len(sections) < 10 {
		t.Fatalf("registered sections: %v", sections)
	}
	var found []string
	err := filepath.WalkDir("../../pkg", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		got, err := namings(path, nil, sections)
		for _, g := range got {
			found = append(found, strings.TrimPrefix(filepath.ToSlash(path), "../../")+": "+g)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range found {
		if !slices.Contains(knownNamings, f) {
			t.Errorf("%s: pkg/ names a section; let the section's descriptor (pkg/section, pkg/apisection, pkg/contract's Analysis hooks) carry it", f)
		}
	}
	for _, k := range knownNamings {
		if !slices.Contains(found, k) {
			t.Errorf("%s is gone: take it off knownNamings", k)
		}
	}
}

// The check finds each kind of naming it looks for, and not a word that only looks like
// a section (a target scheme, a syscall's name).
func TestNamingsFindsEachKind(t *testing.T) {
	src := `package x
const PodSection = "pod"
const scheme = "icmp"
func f() {
	rep.Section("routes", &v)
	_ = rep.Sections["dns"]
	_ = Problem{Section: "services"}
	probe.Lookup("connect")
	_ = "routes/no-default-route"
	failed("connect", err)
	_ = "tcp/x"
	_ = map[string]int{"dns": 1, "udp": 2}
	_ = map[string]int{"dns": 1, "routes": 2}
}`
	got, err := namings("x.go", src, map[string]bool{"pod": true, "routes": true, "dns": true, "services": true, "connect": true, "icmp": true})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{`const PodSection = "pod"`, `.Section("routes")`, `.Sections["dns"]`, `Section: "services"`, `.Lookup("connect")`, `"routes/no-default-route"`, `{"dns", "routes"}`}
	if !slices.Equal(got, want) {
		t.Errorf("namings = %q\nwant %q", got, want)
	}
}
