package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/netdiff/kubectl-netdiff/pkg/report"
)

// SIGINT ends an offline run within about a second even while it diffs a large input
// (reading, diffing and rendering do not watch the context), with the interrupted status.
func TestInterruptEndsAnOfflineRunAtOnce(t *testing.T) {
	dir := t.TempDir()
	bin := pluginBinary(t)
	// Two reports of 300,000 facts that all differ: seconds of diffing and rendering.
	var files []string
	for _, name := range []string{"a", "b"} {
		facts := map[string]string{}
		for i := range 300000 {
			facts[fmt.Sprintf("k%d", i)] = name + fmt.Sprint(i)
		}
		sec, _ := json.Marshal(facts)
		b, _ := json.Marshal(report.Report{SchemaVersion: report.SchemaVersion, Sections: map[string]json.RawMessage{"zz-big": sec}})
		f := filepath.Join(dir, name+".json")
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	cmd := exec.Command(bin, "-f", files[0], "-f", files[1], "--all")
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = nil, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	sent := time.Now()
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("still running 5s after SIGINT")
	}
	took := time.Since(sent)
	t.Logf("exit %d %s after SIGINT: %s", cmd.ProcessState.ExitCode(), took.Round(time.Millisecond), bytes.TrimSpace(stderr.Bytes()))
	if code := cmd.ProcessState.ExitCode(); code < 2 || took > 1500*time.Millisecond {
		t.Errorf("exit %d after %s, want an error status within about 1s", code, took)
	}
}
