package engine

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestWindowProgressLines(t *testing.T) {
	var buf bytes.Buffer
	var mu sync.Mutex
	p := startWindowProgress(&buf, &mu, 30*time.Second, time.Hour, 3)
	p.podDone()
	p.line(12 * time.Second)
	p.line(31 * time.Second)
	p.end()
	p.end()
	want := "watching for 30s: 12s elapsed, about 18s left (1 of 3 pods reported)\n" +
		"watching for 30s: 31s elapsed, window over, waiting for the reports (1 of 3 pods reported)\n"
	if buf.String() != want {
		t.Errorf("got\n%s\nwant\n%s", buf.String(), want)
	}
}

func TestWindowProgressTicksUntilEnded(t *testing.T) {
	var buf bytes.Buffer
	var mu sync.Mutex
	p := startWindowProgress(&buf, &mu, 30*time.Second, 10*time.Millisecond, 2)
	time.Sleep(100 * time.Millisecond)
	p.end()
	mu.Lock()
	n := strings.Count(buf.String(), "watching for 30s:")
	mu.Unlock()
	time.Sleep(50 * time.Millisecond)
	mu.Lock()
	after := strings.Count(buf.String(), "watching for 30s:")
	mu.Unlock()
	if n < 2 || after != n {
		t.Errorf("%d lines while running, %d after end, want >=2 and no more after end:\n%s", n, after, buf.String())
	}
	var nilP *windowProgress
	nilP.podDone()
	nilP.end()
}

// --timings counts every request that goes through the client's transport.
func TestCountingTransport(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	defer srv.Close()
	var n atomic.Int64
	c := &http.Client{Transport: &countingTransport{next: http.DefaultTransport, n: &n}}
	for range 3 {
		resp, err := c.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if n.Load() != 3 {
		t.Errorf("counted %d requests, want 3", n.Load())
	}
}
