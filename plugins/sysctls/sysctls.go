// Package sysctls reports every readable file under /proc/sys/net as path=value, and
// explains the differences that change how a connect or a route lookup behaves.
package sysctls

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/netdiff/kubectl-netdiff/pkg/contract"
	"github.com/netdiff/kubectl-netdiff/pkg/netstate"
	"github.com/netdiff/kubectl-netdiff/pkg/probe"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
	"github.com/netdiff/kubectl-netdiff/pkg/section"
)

// MaxEntries caps the section: a pod has about 1,000 net sysctls, a host with hundreds of
// veths many more, and those per-interface copies are not what a pod diff is about.
const MaxEntries = 3000

// MaxInterfaces caps how many interfaces get their per-interface sysctls reported
// (conf/<if>/…, neigh/<if>/…, about 160 files each), besides all, default and lo. A pod
// has one or two; a host-network pod on a node sees a veth per pod.
const MaxInterfaces = 8

// maxValueBytes bounds one value; net sysctls are short, a long one is a table dump.
const maxValueBytes = 512

// Section is the stored shape of sections.sysctls.
type Section struct {
	// Values maps the path below /proc/sys ("net/ipv4/ip_forward") to its canonical value.
	Values map[string]string `json:"values"`
	// Errors maps unreadable paths to the errno name (write-only files give EACCES).
	Errors map[string]string `json:"errors,omitempty"`
	// Total counts the files seen, also those beyond MaxEntries.
	Total     int  `json:"total"`
	Truncated bool `json:"truncated,omitempty"`
	// SkippedInterfaces names interfaces beyond MaxInterfaces whose sysctls were not read.
	SkippedInterfaces []string `json:"skippedInterfaces,omitempty"`
}

type Plugin struct{}

const Name = "sysctls"

func init() {
	section.Register(section.Descriptor[Section]{
		Name:      Name,
		Phase:     probe.Static,
		Collector: func() probe.Collector { return &Plugin{} },
		Facts:     facts,
		Rules: map[string]contract.Rule{
			"differs":        differs,
			"conntrack-full": conntrackFull,
		},
		Analysis: &analysis,
	})
}

// Collect walks <proc>/sys/net. A directory or file the kernel refuses is recorded, not fatal.
func (*Plugin) Collect(ctx context.Context, env *probe.Env) (any, error) {
	return Walk(ctx, filepath.Join(env.Proc, "sys"))
}

// Walk reads every file under sysRoot/net; keys are relative to sysRoot.
func Walk(ctx context.Context, sysRoot string) (*Section, error) {
	s := &Section{Values: map[string]string{}, Errors: map[string]string{}}
	admitted, skipped := map[string]bool{}, map[string]bool{}
	admit := func(ifc string) bool {
		switch {
		case ifc == "all" || ifc == "default" || ifc == "lo" || admitted[ifc]:
			return true
		case len(admitted) < MaxInterfaces && !skipped[ifc]:
			admitted[ifc] = true
			return true
		}
		if !skipped[ifc] {
			skipped[ifc] = true
			s.SkippedInterfaces = append(s.SkippedInterfaces, ifc)
		}
		return false
	}
	root := filepath.Join(sysRoot, "net")
	if _, err := os.Stat(root); err != nil {
		return nil, err
	}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		rel, _ := filepath.Rel(sysRoot, p)
		rel = filepath.ToSlash(rel)
		if err != nil {
			if p != root {
				s.Errors[rel] = report.ErrorOf(err).Name()
			}
			return nil
		}
		if d.IsDir() {
			if ifc, ok := interfaceDir(rel); ok && !admit(ifc) {
				return fs.SkipDir
			}
			return nil
		}
		s.Total++
		if len(s.Values)+len(s.Errors) >= MaxEntries {
			s.Truncated = true
			return nil
		}
		v, err := readValue(p)
		if err != nil {
			s.Errors[rel] = report.ErrorOf(err).Name()
			return nil
		}
		if isSecret(rel) {
			v = Redacted
		}
		s.Values[rel] = v
		return nil
	})
	if err != nil && !errors.Is(err, context.Canceled) {
		return s, err
	}
	return s, nil
}

// interfaceDir tells whether rel is a per-interface directory, and of which interface.
func interfaceDir(rel string) (string, bool) {
	parts := strings.Split(rel, "/")
	if len(parts) != 4 || parts[0] != "net" || (parts[1] != "ipv4" && parts[1] != "ipv6") || (parts[2] != "conf" && parts[2] != "neigh") {
		return "", false
	}
	return parts[3], true
}

// Redacted replaces values that are keys (TCP Fast Open key, IPv6 stable secret).
const Redacted = "<redacted>"

func isSecret(key string) bool {
	return strings.HasSuffix(key, "/tcp_fastopen_key") || strings.HasSuffix(key, "/stable_secret") ||
		strings.HasSuffix(key, "/netdev_rss_key")
}

func readValue(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxValueBytes+1))
	if err != nil {
		return "", err
	}
	return netstate.SysctlValue(b, maxValueBytes), nil
}

// facts: one Exact fact per sysctl, keyed by path. The conntrack count moves on its own
// and the redacted keys carry no value, so they are Info.
func facts(s *Section) []probe.Fact {
	out := make([]probe.Fact, 0, len(s.Values)+len(s.Errors)+1)
	for k, v := range s.Values {
		kind := probe.Exact
		if v == Redacted || isVolatile(k) {
			kind = probe.ShowOnly
		}
		out = append(out, probe.Fact{Key: k, Value: v, Kind: kind})
	}
	for k, e := range s.Errors {
		out = append(out, probe.Fact{Key: k, Value: "unreadable: " + e, Kind: probe.Exact})
	}
	if s.Truncated {
		out = append(out, probe.Fact{Key: "truncated", Value: "true", Kind: probe.ShowOnly})
	}
	if len(s.SkippedInterfaces) > 0 {
		out = append(out, probe.Fact{Key: "skipped-interfaces", Value: strconv.Itoa(len(s.SkippedInterfaces)), Kind: probe.ShowOnly})
	}
	return out
}

func isVolatile(key string) bool {
	return key == "net/netfilter/nf_conntrack_count"
}
