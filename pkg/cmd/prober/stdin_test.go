package prober

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"
)

// An interrupted kubectl netdiff closes the exec's stdin; the prober must stop at once
// instead of running out its window, and print no report.
func TestStdinWatchStopsTheCollect(t *testing.T) {
	r, w := io.Pipe()
	var out, errOut bytes.Buffer
	cmd := NewCommand(&out, &errOut)
	cmd.SetArgs([]string{"collect", "-q", "--stdin-watch", "--window", "5s"})
	cmd.SetIn(r)
	go func() {
		time.Sleep(300 * time.Millisecond)
		w.Close()
	}()
	start := time.Now()
	err := cmd.Execute()
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("collect ran %s after stdin closed; the window was 5s", d)
	}
	if err == nil || !strings.Contains(err.Error(), "interrupted") || out.Len() != 0 {
		t.Errorf("err = %v, stdout %d bytes; want an interruption and no report", err, out.Len())
	}
}
