package engine

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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
	if err := start(r); ExitCode(err) > ExitDiffs {
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
