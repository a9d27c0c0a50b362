package engine

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netdiff/kubectl-netdiff/pkg/exit"
	"golang.org/x/net/html"
)

// --save-html writes the page beside the chosen output (here the table), private, with
// the command line's credentials masked.
func TestSaveHTMLBesideTheOutput(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.json"), filepath.Join(dir, "b.json")
	for f, host := range map[string]string{a: "h-a", b: "h-b"} {
		if err := os.WriteFile(f, []byte(minimalReport(host)), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	page := filepath.Join(dir, "out.html")
	r, _, out, _ := newTestRun(t)
	r.Files = []string{a, b}
	r.SaveHTML = page
	r.Command = []string{"kubectl", "netdiff", "-f", a, "-f", b, "--token", "s3cr3t"}
	if err := start(r); exit.Code(err, ExitError) > ExitDiffs {
		t.Fatalf("run: %v", err)
	}
	if !strings.Contains(out.String(), "facts differ") && !strings.Contains(out.String(), "No differences") {
		t.Errorf("the table is not on stdout:\n%s", out)
	}
	fi, err := os.Stat(page)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	b2, _ := os.ReadFile(page)
	html := string(b2)
	if !strings.HasPrefix(html, "<!DOCTYPE html>") || !strings.Contains(html, "Content-Security-Policy") {
		t.Errorf("not the html page:\n%.300s", html)
	}
	if strings.Contains(html, "s3cr3t") || !strings.Contains(html, "--token ***") {
		t.Errorf("the command's token is not masked in the page")
	}
}

// The page of a real case from the local cluster (two nodes, Calico, kube-proxy; a
// NetworkPolicy admits web-b's egress only to port 53; the node's half read with
// --node-side), made by the -f path: web-b's connect to the API service fails at the
// hop where the diagnosis puts the policy, web-a's path is ok from socket to destination.
func TestHTMLOfClusterCase(t *testing.T) {
	r, _, out, _ := newTestRun(t)
	r.Files = []string{filepath.Join("testdata", "cluster-netpol-web-a.json"), filepath.Join("testdata", "cluster-netpol-web-b.json")}
	r.Output = "html"
	if err := start(r); exit.Code(err, ExitError) != ExitDiffs {
		t.Fatalf("exit %d (%v), want %d", exit.Code(err, ExitError), err, ExitDiffs)
	}
	doc, err := html.Parse(strings.NewReader(out.String()))
	if err != nil {
		t.Fatal(err)
	}
	lanes := map[string][]string{} // subject -> "name=state" of each hop
	var inFig bool
	var visit func(n *html.Node, lane string)
	visit = func(n *html.Node, lane string) {
		if n.Type == html.ElementNode && n.Data == "figure" {
			inFig = strings.HasPrefix(strings.TrimSpace(text(n)), "tcp://10.96.0.1:443 (")
		}
		if inFig && n.Type == html.ElementNode && n.Data == "text" && attrOf(n, "class") == "lanehead" {
			lane = strings.TrimPrefix(text(n), text(n.FirstChild))
		}
		if inFig && n.Type == html.ElementNode && n.Data == "g" && strings.HasPrefix(attrOf(n, "class"), "hop ") {
			name := ""
			for c := n.FirstChild; c != nil; c = c.NextSibling {
				if c.Type == html.ElementNode && attrOf(c, "class") == "name" {
					name = text(c)
				}
			}
			lanes[lane] = append(lanes[lane], name+"="+attrOf(n, "data-state"))
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			visit(c, lane)
			if n.Type == html.ElementNode && n.Data == "g" && attrOf(n, "class") == "lane" && c.Type == html.ElementNode && attrOf(c, "class") == "lanehead" {
				lane = strings.TrimPrefix(text(c), text(c.FirstChild))
			}
		}
	}
	visit(doc, "")
	failing := ""
	for _, h := range lanes["cluster-netpol-web-b"] {
		if strings.HasSuffix(h, "=fails") {
			failing = h
			break
		}
	}
	if failing != "pod: rules, routes, netfilter=fails" {
		t.Errorf("web-b's path fails first at %q: %v", failing, lanes["cluster-netpol-web-b"])
	}
	for _, h := range lanes["cluster-netpol-web-a"] {
		if !strings.HasSuffix(h, "=ok") {
			t.Errorf("web-a's hop %s: %v", h, lanes["cluster-netpol-web-a"])
		}
	}
	if len(lanes["cluster-netpol-web-a"]) != 6 {
		t.Errorf("web-a's path has %d hops: %v", len(lanes["cluster-netpol-web-a"]), lanes["cluster-netpol-web-a"])
	}
}

func text(n *html.Node) string {
	if n == nil {
		return ""
	}
	if n.Type == html.TextNode {
		return n.Data
	}
	var b strings.Builder
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		b.WriteString(text(c))
	}
	return b.String()
}

func attrOf(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}
