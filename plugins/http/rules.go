package http

import (
	"fmt"
	"maps"
	"slices"

	"github.com/netdiff/kubectl-netdiff/pkg/contract"
)

type cell struct {
	subject int
	t       TargetResult
}

func byTarget(c *contract.Comparison) ([]string, map[string][]cell) {
	m := map[string][]cell{}
	for i, s := range contract.DecodeSections(c, Name, Decode) {
		if s == nil {
			continue
		}
		for _, t := range s.Targets {
			m[t.Target] = append(m[t.Target], cell{i, t})
		}
	}
	keys := slices.Sorted(maps.Keys(m))
	return keys, m
}

// group renders "value in a, b; other in c", sorted, and the number of distinct values.
func group(c *contract.Comparison, cells []cell, value func(TargetResult) string) (string, int) {
	g := map[string][]string{}
	for _, x := range cells {
		if v := value(x.t); v != "" {
			g[v] = append(g[v], c.Subjects[x.subject])
		}
	}
	return contract.Grouped(g), len(g)
}

// ruleOutcomeDiffers: a request fails in one subject and gets an answer in another (High),
// or gets different status codes (Medium).
func ruleOutcomeDiffers(c *contract.Comparison) []contract.Finding {
	keys, m := byTarget(c)
	var out []contract.Finding
	for _, k := range keys {
		desc, n := group(c, m[k], TargetResult.Outcome)
		if n < 2 {
			continue
		}
		sev := contract.Medium
		for _, x := range m[k] {
			if x.t.Error != nil {
				sev = contract.High
			}
		}
		out = append(out, contract.Finding{Severity: sev,
			Message: fmt.Sprintf("GET %s differs: %s", k, desc), Keys: []string{Name + "/" + k}})
	}
	return out
}

// ruleTLSDiffers: the same server negotiates differently, or verifies in one subject only
// (a different CA bundle in the image, or a TLS-intercepting middlebox on one path).
func ruleTLSDiffers(c *contract.Comparison) []contract.Finding {
	keys, m := byTarget(c)
	var out []contract.Finding
	for _, k := range keys {
		if desc, n := group(c, m[k], func(t TargetResult) string {
			if t.TLS == nil {
				return ""
			}
			return t.TLS.Verify
		}); n > 1 {
			out = append(out, contract.Finding{Severity: contract.Medium,
				Message: fmt.Sprintf("certificate verification of %s differs: %s (each subject's own CA bundle)", k, desc), Keys: []string{Name + "/" + k + "/verify"}})
		}
		if desc, n := group(c, m[k], func(t TargetResult) string {
			if t.TLS == nil {
				return ""
			}
			return t.TLS.Version + " " + t.TLS.Cipher
		}); n > 1 {
			out = append(out, contract.Finding{Severity: contract.Low,
				Message: fmt.Sprintf("TLS parameters for %s differ: %s", k, desc), Keys: []string{Name + "/" + k + "/tls"}})
		}
	}
	return out
}
