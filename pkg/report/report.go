// Package report is the JSON contract between netdiff-prober and kubectl-netdiff:
// what the prober prints, what --save writes and what -f reads back.
package report

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"time"
)

// SchemaVersion changes whenever a reader of an older report would misread a newer one.
const SchemaVersion = "netdiff.report/v1"

// Report is one network world as seen from one place (a pod, a netns, a host).
type Report struct {
	SchemaVersion string    `json:"schemaVersion"`
	ProberVersion string    `json:"proberVersion"`
	Hostname      string    `json:"hostname"`
	Time          time.Time `json:"time"`
	// DurationMS is the wall time of the whole collection.
	DurationMS int64 `json:"durationMs"`
	// CPUMS is the CPU time (user and system, the prober and its children) the
	// collection cost inside the pod; absent in reports of older probers.
	CPUMS int64 `json:"cpuMs,omitempty"`
	// PID is the process whose view (root, environment, limits) was reported.
	PID     int      `json:"pid"`
	Targets []string `json:"targets,omitempty"`
	// Sections holds one entry per probe plugin, keyed by plugin name; each plugin owns its shape.
	Sections map[string]json.RawMessage `json:"sections"`
	// Problems lists sections that could not be collected at all, and why.
	Problems []Problem `json:"problems,omitempty"`
	// Via says how the report was taken when not from inside the pod: ViaNode, by a
	// prober on the pod's node that entered the pod's network namespace (--via node).
	Via string `json:"via,omitempty"`
	// Subject is filled in by kubectl-netdiff: which pod and container the report is about.
	Subject *Subject `json:"subject,omitempty"`
}

// ViaNode is Report.Via of a report taken from the pod's node.
const ViaNode = "node"

// Subject names where a report came from, for display and normalisation.
type Subject struct {
	Name      string   `json:"name"` // display name, e.g. "default/pod-a"
	Namespace string   `json:"namespace,omitempty"`
	Pod       string   `json:"pod,omitempty"`
	Container string   `json:"container,omitempty"`
	Node      string   `json:"node,omitempty"`
	IPs       []string `json:"ips,omitempty"`
}

// Problem is a section that failed as a whole.
type Problem struct {
	Section string `json:"section"`
	Error   *Error `json:"error"`
}

// Section decodes one section into v. It reports whether the section was present.
func (r *Report) Section(name string, v any) (bool, error) {
	raw, ok := r.Sections[name]
	if !ok || len(raw) == 0 || string(raw) == "null" {
		return false, nil
	}
	if err := UnmarshalExact(raw, v); err != nil {
		return true, fmt.Errorf("section %q: %w", name, err)
	}
	return true, nil
}

// MaxSections bounds how many sections a report may hold: every section costs the diff
// a few allocations whatever its size, so a report of a million empty sections (13 MB)
// would cost seconds and gigabytes. A prober writes one per plugin.
const MaxSections = 1024

// ErrSchema is returned by Decode when the report was written by an incompatible prober.
var ErrSchema = errors.New("unsupported report schema")

// Decode reads one report and checks its schema version. A truncated or malformed
// document is an error, never a partial report. It is DecodeContext without a deadline.
func Decode(r io.Reader) (*Report, error) {
	return DecodeContext(context.Background(), r)
}

// DecodeContext is Decode that gives up once ctx is done: it looks at ctx before every
// read from r and between the steps of the decoding, and then returns ctx.Err() itself.
// A read that blocks is not interrupted (-f reads regular files only).
func DecodeContext(ctx context.Context, r io.Reader) (*Report, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(ctxReader{ctx, r})
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("empty report: %w", io.ErrUnexpectedEOF)
		}
		return nil, fmt.Errorf("malformed report: %w", err)
	}
	// One document, and no key twice: a second document or a repeated key would let
	// "last one wins" decide what the report says. Keys are matched exactly, at every
	// level (exact.go).
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("malformed report: data after the report's closing brace (at byte %d)", dec.InputOffset())
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	tooMany := fmt.Errorf("more than the %d sections a report may hold (this build knows about 20)", MaxSections)
	if err := checkExactLimit(ctx, raw, reflect.TypeFor[Report](), &memberLimit{"sections", MaxSections, tooMany}); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("malformed report: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var rep Report
	if err := json.Unmarshal(raw, &rep); err != nil {
		return nil, fmt.Errorf("malformed report: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if rep.SchemaVersion != SchemaVersion {
		return nil, fmt.Errorf("%w %q (this build reads %q): use a prober of the same version as the plugin", ErrSchema, rep.SchemaVersion, SchemaVersion)
	}
	if rep.Sections == nil {
		return nil, fmt.Errorf("malformed report: no sections")
	}
	if len(rep.Sections) > MaxSections {
		return nil, fmt.Errorf("malformed report: %d sections, more than the %d a report may hold", len(rep.Sections), MaxSections)
	}
	return &rep, nil
}

// ctxReader reads from r while ctx is not done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
