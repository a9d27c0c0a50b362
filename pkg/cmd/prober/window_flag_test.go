package prober

import (
	"bytes"
	"encoding/json"
	"io"
	"testing"
	"time"
)

func TestWindowFlag(t *testing.T) {
	run := func(args ...string) time.Duration {
		t.Helper()
		var out bytes.Buffer
		cmd := NewCommand(&out, io.Discard)
		cmd.SetArgs(append([]string{"collect", "--quiet", "--proc", t.TempDir()}, args...))
		start := time.Now()
		if err := cmd.Execute(); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		var rep struct{ DurationMS int64 }
		if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		if time.Duration(rep.DurationMS)*time.Millisecond > time.Since(start) {
			t.Errorf("%v: report duration %dms exceeds the run", args, rep.DurationMS)
		}
		return time.Since(start)
	}
	if d := run("--window", "400ms", "--timeout", "1m"); d < 400*time.Millisecond {
		t.Errorf("--window 400ms: collect took %s", d)
	}
	if d := run("--timeout", "8s"); d >= 8*time.Second {
		t.Errorf("--timeout alone kept the window open: collect took %s", d)
	}
	o := &CollectOptions{PID: 1, Timeout: 0, Window: time.Second}
	if _, err := o.Validate(); err != nil {
		t.Errorf("--window without a valid --timeout refused: %v", err)
	}
	o.Window = 10 * time.Minute
	if _, err := o.Validate(); err == nil {
		t.Error("--window 10m accepted")
	}
}
