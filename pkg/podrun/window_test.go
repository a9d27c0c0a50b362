package podrun

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/netdiff/kubectl-netdiff/pkg/probe"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
)

func reportJSON(t *testing.T) []byte {
	b, err := json.Marshal(&report.Report{SchemaVersion: report.SchemaVersion, Sections: map[string]json.RawMessage{"drops": json.RawMessage(`{}`)}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The watch says when its window opened (the line may arrive in pieces), lasts until end
// closes, and its report is read.
func TestWatchCollectOpensAndEnds(t *testing.T) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "node-pod"}}
	var gotLine atomic.Bool
	r := &Runner{ExecStdin: func(ctx context.Context, _ *corev1.Pod, _ string, cmd []string, stdin io.Reader, stdout, stderr io.Writer) error {
		_, _ = io.WriteString(stderr, "starting\n"+probe.WindowOpenLine[:7])
		_, _ = io.WriteString(stderr, probe.WindowOpenLine[7:]+"\n")
		if _, err := bufio.NewReader(stdin).ReadString('\n'); err == nil {
			gotLine.Store(true)
		}
		_, err := stdout.Write(reportJSON(t))
		return err
	}}
	opened := make(chan struct{})
	end := make(chan struct{})
	done := make(chan error, 1)
	var rep *report.Report
	go func() {
		var err error
		rep, err = r.WatchCollect(context.Background(), pod, "netdiff", []string{"--window", "1m"}, func() { close(opened) }, end, nil)
		done <- err
	}()
	select {
	case <-opened:
	case <-time.After(5 * time.Second):
		t.Fatal("opened was not called")
	}
	select {
	case err := <-done:
		t.Fatalf("the watch ended before end closed: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(end)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !gotLine.Load() || rep == nil || rep.Sections["drops"] == nil {
		t.Errorf("line on stdin %v, report %+v", gotLine.Load(), rep)
	}
}

// A gated collect does not exec the prober before the gate opens.
func TestGateHoldsTheCollect(t *testing.T) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p"}}
	gate := make(chan struct{})
	var execAt atomic.Int64
	r := &Runner{Gate: gate, Exec: func(_ context.Context, _ *corev1.Pod, _ string, _ []string, stdout, _ io.Writer) error {
		execAt.Store(time.Now().UnixNano())
		_, err := stdout.Write(reportJSON(t))
		return err
	}}
	done := make(chan error, 1)
	go func() {
		_, err := r.CollectRunning(context.Background(), pod, "netdiff-x", nil, nil)
		done <- err
	}()
	time.Sleep(100 * time.Millisecond)
	if execAt.Load() != 0 {
		t.Fatal("the prober ran before the gate opened")
	}
	opened := time.Now().UnixNano()
	close(gate)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if execAt.Load() < opened {
		t.Error("the prober ran before the gate opened")
	}
	// A gate that never opens ends with the context.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	r.Gate = make(chan struct{})
	if _, err := r.CollectRunning(ctx, pod, "netdiff-x", nil, nil); err == nil {
		t.Error("a closed context did not end the wait for the gate")
	}
}

// A node pod just created: the watch's exec is tried again while the container is not
// running yet, and a start that fails ends it with the watcher's verdict.
func TestWatchCollectRetriesUntilRunning(t *testing.T) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "node-pod"}}
	var tries atomic.Int32
	r := &Runner{ExecStdin: func(ctx context.Context, _ *corev1.Pod, _ string, _ []string, stdin io.Reader, stdout, stderr io.Writer) error {
		if tries.Add(1) < 3 {
			return errors.New(`unable to upgrade connection: container not found ("netdiff")`)
		}
		_, _ = io.WriteString(stderr, probe.WindowOpenLine+"\n")
		_, _ = bufio.NewReader(stdin).ReadString('\n')
		_, err := stdout.Write(reportJSON(t))
		return err
	}}
	end := make(chan struct{})
	close(end)
	rep, err := r.WatchCollect(context.Background(), pod, "netdiff", nil, func() {}, end, make(chan error, 1))
	if err != nil || rep == nil || tries.Load() != 3 {
		t.Fatalf("tries %d: %v", tries.Load(), err)
	}
	// Without a watcher (a running pod) a failed exec is the answer.
	tries.Store(0)
	if _, err := r.WatchCollect(context.Background(), pod, "netdiff", nil, func() {}, end, nil); err == nil || tries.Load() != 1 {
		t.Errorf("no watcher: tries %d, err %v", tries.Load(), err)
	}
	// The watcher says the pod will not start: that is the error.
	tries.Store(-100)
	waitErr := make(chan error, 1)
	waitErr <- errors.New("image not found")
	if _, err := r.WatchCollect(context.Background(), pod, "netdiff", nil, func() {}, end, waitErr); err == nil || !strings.Contains(err.Error(), "image not found") {
		t.Errorf("failed start: %v", err)
	}
}
