package try

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/netdiff/kubectl-netdiff/internal/netnstest"
)

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// TestMain removes the binaries the tests built.
func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// binaries builds the two binaries make try runs, once per test process.
func binaries(t *testing.T) (prober, plugin string) {
	t.Helper()
	buildOnce.Do(func() {
		root, err := filepath.Abs("../..")
		if err != nil {
			buildErr = err
			return
		}
		binDir, buildErr = os.MkdirTemp("", "netdiff-try-test-")
		if buildErr != nil {
			return
		}
		cmd := exec.Command("go", "build", "-trimpath", "-o", binDir+"/", "./cmd/netdiff-prober", "./cmd/kubectl-netdiff")
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(binDir, "netdiff-prober"), filepath.Join(binDir, "kubectl-netdiff")
}

// leftovers lists the namespaces and /etc/netns directories of this process's runs.
func leftovers(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, dir := range []string{"/run/netns", "/etc/netns"} {
		m, err := filepath.Glob(filepath.Join(dir, fmt.Sprintf("nd-try-%d-*", os.Getpid())))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m...)
	}
	return out
}

// What make try prints: the plugin's table whose first finding is the planted cause, the
// missing default route; the saved reports give the same first finding as JSON; and
// nothing of the run is left behind.
func TestTryNamesThePlantedCauseFirst(t *testing.T) {
	netnstest.RequireRoot(t)
	prober, plugin := binaries(t)
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	exit, err := Run(context.Background(), Config{Prober: prober, Plugin: plugin, Dir: dir, Stdout: &stdout, Stderr: &stderr})
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, stderr.String())
	}
	if exit != 1 {
		t.Fatalf("plugin exit status %d, want 1 (differences found)\nstdout:\n%s\nstderr:\n%s", exit, stdout.String(), stderr.String())
	}
	if left := leftovers(t); len(left) > 0 {
		t.Errorf("left behind: %v", left)
	}
	// The table: a header line, then the first finding.
	lines := strings.Split(stdout.String(), "\n")
	if len(lines) < 2 || !regexp.MustCompile(`^CRITICAL\s+web-broken has no IPv4 default route \(web-a has .default via 10\.77\.0\.1 dev eth0`).MatchString(lines[1]) {
		t.Errorf("first finding of the table does not name the missing default route:\n%s", stdout.String())
	}

	out, err := exec.Command(plugin, "-f", filepath.Join(dir, "web-a.json"), "-f", filepath.Join(dir, "web-broken.json"), "-o", "json").Output()
	if code := exitCode(err); code != 1 {
		t.Fatalf("-o json: exit status %d (%v), want 1", code, err)
	}
	var doc struct {
		Findings []struct {
			Kind, Rule, Subject, Message string
			Explains                     []string
		}
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Findings) == 0 {
		t.Fatalf("no findings:\n%s", out)
	}
	top := doc.Findings[0]
	if top.Kind != "cause" || top.Rule != "routes/no-default-route" || top.Subject != "web-broken" || len(top.Explains) == 0 {
		t.Errorf("first finding %+v, want the cause routes/no-default-route of web-broken, explaining symptoms", top)
	}
	t.Logf("first: %s (explains %d)", top.Message, len(top.Explains))
}

func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// cancelOn cancels when a line containing word is written (a step make try announces).
type cancelOn struct {
	word   string
	cancel context.CancelFunc
	buf    bytes.Buffer
}

func (c *cancelOn) Write(p []byte) (int, error) {
	c.buf.Write(p)
	if strings.Contains(c.buf.String(), c.word) {
		c.cancel()
	}
	return len(p), nil
}

// Ctrl-C at any step (here: while building the pair, and while both probers collect)
// ends the run with context.Canceled and removes every namespace it made.
func TestTryInterruptedCleansUp(t *testing.T) {
	netnstest.RequireRoot(t)
	prober, plugin := binaries(t)
	for _, word := range []string{"shaped like two pods", "collect in both"} {
		t.Run(strings.ReplaceAll(word, " ", "-"), func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			w := &cancelOn{word: word, cancel: cancel}
			_, err := Run(ctx, Config{Prober: prober, Plugin: plugin, Dir: t.TempDir(), Stdout: &bytes.Buffer{}, Stderr: w})
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("Run after cancel at %q: %v, want context.Canceled\n%s", word, err, w.buf.String())
			}
			if left := leftovers(t); len(left) > 0 {
				t.Errorf("left behind: %v", left)
			}
		})
	}
}
