package engine

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/netdiff/kubectl-netdiff/pkg/exit"
	"github.com/netdiff/kubectl-netdiff/pkg/render"
)

// minimalReport is a report Decode accepts; value lands in an env-like section row.
func minimalReport(hostname string) string {
	return `{"schemaVersion":"netdiff.report/v1","hostname":` + quote(hostname) + `,"sections":{}}`
}

func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteString(`\` + string(r))
		case r < 0x20:
			b.WriteString(`\u00` + string("0123456789abcdef"[r>>4]) + string("0123456789abcdef"[r&15]))
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// rawControl returns the first C0/C1 control (other than newline) or bidi control in s.
func rawControl(s string) string {
	for i, r := range s {
		if r != '\n' && (r < 0x20 || r >= 0x7f && r <= 0x9f || r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069 || r == 0x200e || r == 0x200f || r == 0x061c) {
			return s[i:min(len(s), i+utf8.RuneLen(r))]
		}
	}
	return ""
}

// A file name with an ESC, a C1 CSI, a bidi override or a newline reaches no terminal raw:
// not in the header, the summary, the error of the missing report, in any format.
func TestFileNamesAndErrorsAreSanitised(t *testing.T) {
	names := []string{"esc\x1b[2J", "csi\u009b31m", "rlo\u202egpj.exe", "nl\nCRITICAL fake"}
	for _, name := range names {
		for _, format := range render.Formats {
			t.Run(render.Sanitize(name)+"/"+format, func(t *testing.T) {
				dir := t.TempDir()
				a := filepath.Join(dir, "a"+name+".json")
				b := filepath.Join(dir, "b"+name+".json")
				if err := os.WriteFile(a, []byte(minimalReport("h-a")), 0o600); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(b, []byte(minimalReport("h-b"+name)), 0o600); err != nil {
					t.Fatal(err)
				}
				missing := filepath.Join(dir, "c"+name+".json")
				r, _, out, errOut := newTestRun(t)
				r.Files = []string{a, b, missing}
				r.Output = format
				err := start(r)
				if exit.Code(err, ExitError) != ExitError {
					t.Fatalf("exit %d (%v), want %d for the missing report", exit.Code(err, ExitError), err, ExitError)
				}
				if !strings.Contains(errOut.String(), render.Sanitize(missing)) {
					t.Errorf("the error does not name the file, escaped:\n%s", errOut)
				}
				if (format == "table" || format == "wide") && !strings.Contains(out.String(), render.Sanitize("a"+name)) {
					t.Errorf("the output does not name the subject, escaped:\n%s", out)
				}
				for stream, s := range map[string]string{"stdout": out.String(), "stderr": errOut.String()} {
					if r := rawControl(s); r != "" {
						t.Errorf("%s carries a raw %q:\n%s", stream, r, s)
					}
					if strings.Contains(s, "\nCRITICAL fake") {
						t.Errorf("%s: a file name started its own line:\n%s", stream, s)
					}
				}
			})
		}
	}
}
