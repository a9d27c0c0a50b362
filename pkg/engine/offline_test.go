package engine

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netdiff/kubectl-netdiff/internal/netnstest"
	"github.com/netdiff/kubectl-netdiff/pkg/exit"
	_ "github.com/netdiff/kubectl-netdiff/plugins/all"
)

// The offline path on reports the real prober made: a namespace without a default route
// (the case study's ENETUNREACH) against a healthy one, through -f files and -o json.
func TestOfflineDiffOfRealReports(t *testing.T) {
	// Each client has its own server namespace at the same addresses, linked by veth0 (a
	// pod and its node): the only planted difference is the missing default route.
	client := func(label string) *netnstest.NS {
		server := netnstest.New(t, "srv-"+label)
		c := netnstest.New(t, label)
		netnstest.Veth(t, c, "10.220.1.2/24", server, "10.220.1.1/24")
		server.IP("addr", "add", "10.220.0.1/32", "dev", "lo")
		server.ListenTCP("10.220.0.1:8080")
		return c
	}
	good, broken := client("good"), client("broken")
	good.IP("route", "add", "default", "via", "10.220.1.1")

	dir := t.TempDir()
	collect := func(ns *netnstest.NS, name string) string {
		path := filepath.Join(dir, name+".json")
		rep := ns.Collect("-q", "--target", "10.220.0.1:8080", "--attempts", "3", "--burst", "3", "--timeout", "2s")
		b, err := json.Marshal(rep)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	a, b := collect(good, "good"), collect(broken, "broken")

	r, _, out, _ := newTestRun(t)
	r.Files = []string{a, b}
	r.Output = "json"
	err := start(r)
	if code := exit.Code(err, ExitError); code != ExitDiffs {
		t.Fatalf("exit status %d (%v), want %d: differences found", code, err, ExitDiffs)
	}
	var doc struct {
		Subjects []string `json:"subjects"`
		Findings []struct {
			Severity string   `json:"severity"`
			Message  string   `json:"message"`
			Keys     []string `json:"keys"`
		} `json:"findings"`
		Rows []struct {
			Section string   `json:"section"`
			Key     string   `json:"key"`
			Values  []string `json:"values"`
			Equal   bool     `json:"equal"`
		} `json:"rows"`
	}
	if err := json.Unmarshal([]byte(out.String()), &doc); err != nil {
		t.Fatalf("-o json is not JSON: %v\n%s", err, out.String())
	}
	if strings.Join(doc.Subjects, ",") != "good,broken" {
		t.Errorf("subjects = %v", doc.Subjects)
	}
	var critical []string
	for _, f := range doc.Findings {
		if f.Severity == "critical" {
			critical = append(critical, f.Message)
		}
	}
	all := strings.Join(critical, "\n")
	if !strings.Contains(all, "no IPv4 default route") || !strings.Contains(all, "ENETUNREACH") {
		t.Errorf("critical findings do not name the missing route and ENETUNREACH:\n%s", all)
	}
	for _, r := range doc.Rows {
		if r.Equal {
			t.Errorf("row %s/%s is equal but shown without --all", r.Section, r.Key)
		}
		if len(r.Values) != 2 {
			t.Errorf("row %s/%s has %d values for 2 subjects", r.Section, r.Key, len(r.Values))
		}
	}

	// The same report against itself: no differences, exit 0.
	r, _, _, _ = newTestRun(t)
	r.Files = []string{a, a}
	if code := exit.Code(start(r), ExitError); code != ExitSame {
		t.Errorf("a report diffed against itself exits %d, want 0:\n%s", code, r.Out)
	}

	// A truncated report is an error naming the file, never a partial diff.
	cut := filepath.Join(dir, "cut.json")
	raw, _ := os.ReadFile(b)
	os.WriteFile(cut, raw[:len(raw)/2], 0o644)
	r, _, out, _ = newTestRun(t)
	r.Files = []string{a, cut}
	err = start(r)
	if exit.Code(err, ExitError) != ExitError || out.Len() != 0 {
		t.Errorf("truncated report: exit %d, output %q; want exit 2 and no output", exit.Code(err, ExitError), out.String())
	}
}

// Reports saved by the first schema (netdiff.report/v1, captured from the e2e cluster)
// must keep loading and diffing: users keep them to compare a pod with its past.
func TestSavedV1ReportsStillDiff(t *testing.T) {
	r, _, out, _ := newTestRun(t)
	r.Files = []string{"../report/testdata/v1-web-a.json", "../report/testdata/v1-web-broken.json"}
	r.Output = "json"
	if code := exit.Code(start(r), ExitError); code != ExitDiffs {
		t.Fatalf("exit %d, want 1", code)
	}
	if !strings.Contains(out.String(), `"rule": "routes/no-default-route"`) {
		t.Errorf("the saved broken pod no longer shows its missing default route:\n%.2000s", out.String())
	}
	r, _, _, _ = newTestRun(t)
	r.Files = []string{"../report/testdata/v1-web-a.json", "../report/testdata/v1-web-a.json"}
	if code := exit.Code(start(r), ExitError); code != ExitSame {
		t.Errorf("a saved report against itself exits %d, want 0", code)
	}
}
