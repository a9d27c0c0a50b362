package plugintest

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/netdiff/kubectl-netdiff/pkg/contract"
)

// HeadlineBudget is contract.HeadlineBudget (docs/findings.md).
const HeadlineBudget = contract.HeadlineBudget

var updateHeadlines = flag.Bool("update-headlines", false, "rewrite testdata/headlines/*.txt from this run")

// WordsLength is contract.WordsLength: the length of msg outside its backticked syntax.
func WordsLength(msg string) int { return contract.WordsLength(msg) }

// fileName: what a golden's name may not hold in a file name on any OS a clone lands on.
var fileName = regexp.MustCompile(`[^A-Za-z0-9._=-]+`)

// badWords are the grammar and hedges docs/findings.md forbids: a count before a noun
// of the wrong number, "a" before a vowel (the word, not a name's end: web-a), "can fail", "may".
var badWords = []*regexp.Regexp{regexp.MustCompile(`(^|[^\d.])1 [a-z]+s\b|\b1 more [a-z]+s\b|\b1 more target fail\b`), regexp.MustCompile(`(^|[\s(])a [aeiou]`), regexp.MustCompile(`\bcan fail\b|\bmay\b`)}

// HeadlineStyle holds a top-level cause's headline to docs/findings.md: its words within
// the budget, no count of the wrong number, no "a" before a vowel, no hedge.
func HeadlineStyle(t *testing.T, msg string) {
	t.Helper()
	if n := WordsLength(msg); n > HeadlineBudget {
		t.Errorf("headline has %d characters of words (budget %d, the syntax in backticks not counted): %s", n, HeadlineBudget, msg)
	}
	for _, bad := range badWords {
		if bad.MatchString(msg) {
			t.Errorf("headline %q has %q", msg, bad.FindString(msg))
		}
	}
}

// effectForm: which probes, which errno (docs/findings.md).
var effectForm = regexp.MustCompile(`^(every (ICMP|TCP|UDP)|in bursts of \d+|\d+ of \d+ |(TCP|UDP|ICMP) [a-z]+ to ).* (with E[A-Z]+|without a reply)`)

// counts are what varies between two runs of one planted fault: attempts that raced a
// connection limit, packets the kernel counted, events in a window. Each is written as N
// (of the plural) in a golden.
var counts = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`\b\d+ of \d+\b`), "N of N"},
	{regexp.MustCompile(`\b\d+ more (targets? fails? otherwise|targets?\b)`), "N more targets"},
	{regexp.MustCompile(`\b\d+ more\b`), "N more"},
	{regexp.MustCompile(`\b\d+ targets?\b`), "N targets"},
	{regexp.MustCompile(`dropped \d+ `), "dropped N "},
	{regexp.MustCompile(`\b(\d+ times?|once|twice)\b`), "N times"},
	{regexp.MustCompile(`\b\d+ route deletions?\b`), "N route deletions"},
	{regexp.MustCompile(`\b\d+ route additions?\b`), "N route additions"},
}

// masked is msg with its counts written as N.
func masked(msg string) string {
	for _, c := range counts {
		msg = c.re.ReplaceAllString(msg, c.with)
	}
	return msg
}

// GoldenHeadline holds the finding's headline (HeadlineStyle) and compares it with
// testdata/headlines/NAME.txt of the calling package, counts masked and the computed
// effect checked for its form only (which attempts raced which limit varies run to run):
// the words of each planted kind are held, run to run. -update-headlines (or, where the
// test binary is run by a script, NETDIFF_UPDATE_HEADLINES=1) rewrites it.
func GoldenHeadline(t *testing.T, name string, f contract.Finding) {
	t.Helper()
	HeadlineStyle(t, f.Message)
	msg := f.Message
	if f.Effect != "" {
		if !effectForm.MatchString(f.Effect) {
			t.Errorf("effect %q is not of the form %s", f.Effect, effectForm)
		}
		msg = strings.TrimSuffix(msg, ": "+f.Effect) + ": <effect>"
	}
	got := masked(msg) + "\n"
	file := filepath.Join("testdata", "headlines", fileName.ReplaceAllString(name, "-")+".txt")
	if *updateHeadlines || os.Getenv("NETDIFF_UPDATE_HEADLINES") != "" {
		_ = os.MkdirAll(filepath.Dir(file), 0o755)
		if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Errorf("no golden headline (go test -run %s -update-headlines writes it): %v", t.Name(), err)
		return
	}
	if got != string(want) {
		t.Errorf("headline differs from %s:\n got: %s want: %s", file, got, want)
	}
}
