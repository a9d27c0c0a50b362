package netns

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/netdiff/kubectl-netdiff/pkg/contract"
	"github.com/netdiff/kubectl-netdiff/pkg/probe"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
	"github.com/netdiff/kubectl-netdiff/pkg/section"
)

const Name = "netns"

// targetKinds are the target's namespaces worth naming: net is the network world, pid
// says whether the prober shares the app's process view, mnt and uts its files and hostname.
var targetKinds = []string{"net", "pid", "mnt", "uts"}

func init() {
	section.Register(section.Descriptor[Section]{
		Name:      Name,
		Phase:     probe.Static,
		Collector: func() probe.Collector { return &Plugin{} },
		Facts:     Facts,
		Rules: map[string]contract.Rule{
			"shared":                Shared,
			"prober-outside-target": ProberOutsideTarget,
		},
		// Which namespace a subject is in is context: it frames the comparison.
		Analysis: &contract.Analysis{Role: contract.Background},
	})
}

// Section is the JSON shape of sections.netns.
type Section struct {
	// BootID tells kernels apart: namespace inodes are only unique within one boot of one
	// node, so equal inodes mean "shared" only when the boot IDs match too.
	BootID string `json:"bootId,omitempty"`
	// Self is the prober's own network namespace.
	Self NS `json:"self"`
	// PID is the target process; Target its namespaces by kind (net, pid, mnt, uts).
	PID    int           `json:"pid"`
	Target map[string]NS `json:"target"`
	// SameNetns says whether the prober runs in the target's network namespace; absent
	// when the target's could not be read.
	SameNetns *bool `json:"sameNetns,omitempty"`
}

// NS identifies one namespace: the inode and device of its /proc/.../ns/<kind> file.
type NS struct {
	Inode uint64        `json:"inode,omitempty"`
	Dev   string        `json:"dev,omitempty"` // "major:minor" of nsfs
	Error *report.Error `json:"error,omitempty"`
}

func (n NS) same(o NS) bool {
	return n.Error == nil && o.Error == nil && n.Inode == o.Inode && n.Dev == o.Dev
}

func (n NS) String() string {
	if n.Error != nil {
		return n.Error.Name()
	}
	return fmt.Sprintf("inode %d dev %s", n.Inode, n.Dev)
}

// Plugin collects the netns section.
type Plugin struct{}

// Facts flattens the section. Inodes differ by nature between pods and are Info; a read
// error and whether the prober shares the target's network namespace are compared.
func Facts(s *Section) []probe.Fact {
	var out []probe.Fact
	add := func(key string, n NS) {
		if n.Error != nil {
			out = append(out, probe.Fact{Key: key + "/error", Value: n.Error.Name(), Kind: probe.Exact})
			return
		}
		out = append(out, probe.Fact{Key: key + "/inode", Value: fmt.Sprint(n.Inode), Kind: probe.ShowOnly})
	}
	add("self/net", s.Self)
	kinds := make([]string, 0, len(s.Target))
	for k := range s.Target {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		add("target/"+k, s.Target[k])
	}
	same := "unknown"
	if s.SameNetns != nil {
		same = strconv.FormatBool(*s.SameNetns)
	}
	out = append(out, probe.Fact{Key: "prober-in-target-netns", Value: same, Kind: probe.Exact})
	if s.BootID != "" {
		out = append(out, probe.Fact{Key: "boot-id", Value: s.BootID, Kind: probe.ShowOnly})
	}
	return out
}

// world is the network namespace a subject's facts describe: the target's where
// readable, else the prober's own. ok is false when neither is known, or when nothing
// tells the kernels apart (no boot ID): equal inodes on two nodes mean nothing.
func world(s *Section) (id string, inode uint64, ok bool) {
	n := s.Target["net"]
	if n.Error != nil {
		n = s.Self
	}
	if n.Error != nil || n.Inode == 0 || s.BootID == "" {
		return "", 0, false
	}
	return fmt.Sprintf("%s/%s/%d", s.BootID, n.Dev, n.Inode), n.Inode, true
}

// Shared names subjects that live in one network namespace: hostNetwork pods on one
// node, or two containers of one pod. Their network facts cannot differ, so a clean diff
// between them proves nothing about the network.
func Shared(c *contract.Comparison) []contract.Finding {
	groups := map[string][]int{}
	inodes := map[string]uint64{}
	var order []string
	for i, s := range contract.Sections[Section](c, Name) {
		if s == nil {
			continue
		}
		id, ino, ok := world(s)
		if !ok {
			continue
		}
		if groups[id] == nil {
			order = append(order, id)
		}
		groups[id] = append(groups[id], i)
		inodes[id] = ino
	}
	var out []contract.Finding
	for _, id := range order {
		g := groups[id]
		if len(g) < 2 {
			continue
		}
		names := make([]string, len(g))
		for j, i := range g {
			names[j] = c.Subjects[i]
		}
		out = append(out, contract.Finding{
			Severity: contract.Medium,
			Message:  fmt.Sprintf("%s share one network namespace (inode %d): they are one network world (hostNetwork, or containers of one pod), so their interfaces, routes and rules cannot differ", joinAnd(names), inodes[id]),
			Keys:     []string{Name + "/target/net/inode", Name + "/self/net/inode"},
		})
	}
	return out
}

// ProberOutsideTarget warns when the prober's network namespace is not the target's:
// the report then describes the prober's world, not the app's.
func ProberOutsideTarget(c *contract.Comparison) []contract.Finding {
	var out []contract.Finding
	for i, s := range contract.Sections[Section](c, Name) {
		if s == nil || s.SameNetns == nil || *s.SameNetns {
			continue
		}
		out = append(out, contract.Finding{
			Severity: contract.High,
			Message:  fmt.Sprintf("the prober for %s is not in the target's network namespace (prober %s, PID %d %s): the report describes the prober's network, not the target's", c.Subjects[i], s.Self, s.PID, s.Target["net"]),
			Keys:     []string{Name + "/prober-in-target-netns"},
		})
	}
	return out
}

func joinAnd(names []string) string {
	if len(names) <= 2 {
		return strings.Join(names, " and ")
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

var _ probe.Collector = (*Plugin)(nil)
