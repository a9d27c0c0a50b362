package prober

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/netdiff/kubectl-netdiff/pkg/probe"
)

// --window-end-on-stdin: the window opens and says so on stderr, a line on stdin closes it
// long before --window, and the report is still written; without the line it lasts
// --window.
func TestWindowEndsOnStdinLine(t *testing.T) {
	run := func(endAfter time.Duration) (time.Duration, string) {
		t.Helper()
		inR, inW := io.Pipe()
		errR, errW := io.Pipe()
		var out bytes.Buffer
		cmd := NewCommand(&out, errW)
		cmd.SetIn(inR)
		cmd.SetArgs([]string{"collect", "--quiet", "--proc", t.TempDir(), "--window", "3s", "--window-end-on-stdin", "--stdin-watch", "--only", "sysctls"})
		opened := make(chan time.Time, 1)
		go func() {
			sc := bufio.NewScanner(errR)
			for sc.Scan() {
				if sc.Text() == probe.WindowOpenLine {
					opened <- time.Now()
				}
			}
		}()
		done := make(chan error, 1)
		start := time.Now()
		go func() { done <- cmd.Execute() }()
		select {
		case <-opened:
		case <-time.After(5 * time.Second):
			t.Fatal("no window-open line on stderr")
		}
		if endAfter > 0 {
			time.Sleep(endAfter)
			_, _ = inW.Write([]byte("\n"))
		}
		err := <-done
		took := time.Since(start)
		inW.Close()
		errW.Close()
		if err != nil {
			t.Fatalf("collect: %v", err)
		}
		var rep struct{ DurationMS int64 }
		if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
			t.Fatalf("no report: %v: %q", err, out.String())
		}
		return took, strings.TrimSpace(out.String())
	}
	if d, _ := run(200 * time.Millisecond); d >= 2*time.Second {
		t.Errorf("a line on stdin 200ms into a 3s window: collect took %s", d)
	}
	if d, _ := run(0); d < 3*time.Second {
		t.Errorf("no line on stdin: the window closed after %s, before --window 3s", d)
	}
}
