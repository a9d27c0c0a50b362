package prober

import (
	"bytes"
	"path/filepath"
	"testing"
	"time"
)

func TestIdleExitsAfterTimeoutAndStaysWhileUsed(t *testing.T) {
	stamp := filepath.Join(t.TempDir(), "stamp")
	run := func(timeout string, keepTouching time.Duration) time.Duration {
		stop := make(chan struct{})
		defer close(stop)
		if keepTouching > 0 {
			go func(stamp string) { // its own copy: the test names another stamp later
				end := time.After(keepTouching)
				for {
					select {
					case <-stop:
						return
					case <-end:
						return
					case <-time.After(50 * time.Millisecond):
						touch(stamp)
					}
				}
			}(stamp)
		}
		var errOut bytes.Buffer
		cmd := NewCommand(&bytes.Buffer{}, &errOut)
		cmd.SetArgs([]string{"idle", "--timeout", timeout, "--stamp", stamp})
		start := time.Now()
		if err := cmd.Execute(); err != nil {
			t.Fatal(err)
		}
		return time.Since(start)
	}
	if d := run("300ms", 0); d < 300*time.Millisecond || d > 5*time.Second {
		t.Errorf("idle with nobody collecting lasted %s, want about 300ms", d)
	}
	if d := run("300ms", 1200*time.Millisecond); d < 1200*time.Millisecond {
		t.Errorf("idle exited after %s although collect kept touching the stamp for 1.2s", d)
	}
	// No writable stamp location: it must still exit by itself.
	stamp = "/nonexistent-dir/stamp"
	if d := run("200ms", 0); d > 5*time.Second {
		t.Errorf("idle without a stamp lasted %s", d)
	}
}
