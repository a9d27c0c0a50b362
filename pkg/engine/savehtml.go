package engine

import (
	"bytes"
	"context"
	"fmt"
	"os"

	"github.com/netdiff/kubectl-netdiff/pkg/diff"
	"github.com/netdiff/kubectl-netdiff/pkg/render"
)

// saveHTML writes res as -o html to path (--save-html), mode 0600 like the saved reports:
// the page holds what the reports hold, masked the same way.
func saveHTML(ctx context.Context, path string, res *diff.Result, opts render.Options) error {
	var buf bytes.Buffer
	if err := render.RenderContext(ctx, &buf, res, "html", opts); err != nil {
		return fmt.Errorf("--save-html: %w", err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		return fmt.Errorf("--save-html: %w", err)
	}
	return nil
}
