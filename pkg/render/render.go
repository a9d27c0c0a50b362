package render

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/netdiff/kubectl-netdiff/pkg/diff"
)

// Formats are the accepted values of -o, the default first.
var Formats = []string{"table", "wide", "json", "yaml", "html", "markdown"}

// Options are the choices that change what is printed.
type Options struct {
	// All shows equal rows too.
	All bool
	// Color adds ANSI colours to table and wide; set it only when writing to a terminal.
	Color bool
	// Command is the command line that made the result, shown (credentials masked) in
	// the header of -o html.
	Command []string
	// Now, when set, stamps -o html with the time it was made.
	Now func() time.Time
}

// ValidateFormat rejects an -o value Render cannot print.
func ValidateFormat(format string) error {
	for _, f := range Formats {
		if format == f {
			return nil
		}
	}
	if format == "" {
		return nil
	}
	return fmt.Errorf("unknown output format %q: use one of %s", format, strings.Join(Formats, ", "))
}

// Render prints res in format ("" means table): RenderContext without a deadline.
func Render(w io.Writer, res *diff.Result, format string, opts Options) error {
	return RenderContext(context.Background(), w, res, format, opts)
}

// RenderContext prints res in format ("" means table). It looks at ctx every few
// thousand rows and returns ctx.Err() once ctx is done; what was printed by then stays
// printed (the table and wide formats are written as they are laid out).
func RenderContext(ctx context.Context, w io.Writer, res *diff.Result, format string, opts Options) error {
	if err := ValidateFormat(format); err != nil {
		return err
	}
	if res == nil {
		return fmt.Errorf("render: no comparison result")
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	switch format {
	case "json", "yaml":
		doc, err := newDocument(ctx, res, opts.All)
		if err != nil {
			return err
		}
		marshal := marshalJSON
		if format == "yaml" {
			marshal = marshalYAML
		}
		b, err := marshalContext(ctx, func() ([]byte, error) { return marshal(doc) })
		if err != nil {
			if ctx.Err() != nil {
				return err
			}
			return fmt.Errorf("render %s: %w", format, err)
		}
		_, err = w.Write(b)
		return err
	case "wide":
		return renderTable(ctx, w, res, opts, wideLayout)
	case "html":
		return renderHTML(ctx, w, res, opts)
	case "markdown":
		return renderMarkdown(ctx, w, res, opts)
	default:
		return renderTable(ctx, w, res, opts, tableLayout)
	}
}

// marshalContext returns what marshal returns, or ctx.Err() as soon as ctx is done: one
// encoder call cannot be interrupted (YAML takes seconds for 100,000 rows), so it runs on
// its own and, when ctx ends first, finishes unseen while the caller goes on.
func marshalContext(ctx context.Context, marshal func() ([]byte, error)) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if ctx.Done() == nil {
		return marshal() // no deadline, nothing to wait for
	}
	type result struct {
		b   []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		b, err := marshal()
		done <- result{b, err}
	}()
	select {
	case r := <-done:
		return r.b, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
