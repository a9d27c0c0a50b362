// Package report is the JSON contract between netdiff-prober and kubectl-netdiff:
// what the prober prints, what --save writes and what -f reads back.
package report

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
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
	if err := json.Unmarshal(raw, v); err != nil {
		return true, fmt.Errorf("section %q: %w", name, err)
	}
	return true, nil
}

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
	// "last one wins" decide what the report says.
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("malformed report: data after the report's closing brace (at byte %d)", dec.InputOffset())
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := uniqueKeys(raw, "the report", true); err != nil {
		return nil, err
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

// uniqueKeys fails when the object raw has a key twice. Go's decoder matches field names
// without regard to case, so at the top level keys are compared that way; there, the
// "sections" object is checked too.
func uniqueKeys(raw json.RawMessage, what string, top bool) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil // not an object: Unmarshal says what is wrong
	}
	seen := map[string]bool{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return fmt.Errorf("malformed report: %w", err)
		}
		key, _ := t.(string)
		k := key
		if top {
			k = strings.ToLower(key)
		}
		if seen[k] {
			return fmt.Errorf("malformed report: key %q appears twice in %s", key, what)
		}
		seen[k] = true
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return fmt.Errorf("malformed report: %w", err)
		}
		if top && strings.EqualFold(key, "sections") {
			if err := uniqueKeys(v, "its sections", false); err != nil {
				return err
			}
		}
	}
	return nil
}
