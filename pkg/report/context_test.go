package report

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"testing"
)

// bigReport is a report of about 10 MiB: one section of many routes.
func bigReport(t *testing.T) []byte {
	var routes []string
	for i := range 200000 {
		routes = append(routes, fmt.Sprintf("10.%d.%d.0/24 via 10.244.0.1 dev eth0", i/256%256, i%256))
	}
	sec, err := json.Marshal(routes)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(Report{SchemaVersion: SchemaVersion, Sections: map[string]json.RawMessage{"routes": sec}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// cancelAfter cancels its context once n bytes were read through it.
type cancelAfter struct {
	r      io.Reader
	n      int
	read   int
	cancel context.CancelFunc
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if c.read += n; c.read >= c.n {
		c.cancel()
	}
	return n, err
}

func TestDecodeContext(t *testing.T) {
	b := bigReport(t)
	if _, err := DecodeContext(context.Background(), bytes.NewReader(b)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if rep, err := DecodeContext(ctx, bytes.NewReader(b)); !errors.Is(err, context.Canceled) || rep != nil {
		t.Fatalf("DecodeContext(cancelled) = %v, %v; want nil, context.Canceled", rep, err)
	}
	// Cancelled after the first MiB: the rest is not read.
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	r := bytes.NewReader(b)
	if rep, err := DecodeContext(ctx, &cancelAfter{r: r, n: 1 << 20, cancel: cancel}); !errors.Is(err, context.Canceled) || rep != nil {
		t.Fatalf("DecodeContext(cancelled while reading) = %v, %v; want nil, context.Canceled", rep, err)
	}
	if r.Len() < len(b)/2 {
		t.Errorf("%d of %d bytes read after the context was cancelled at 1 MiB", len(b)-r.Len(), len(b))
	}
}
