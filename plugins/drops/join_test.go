package drops

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/netdiff/kubectl-netdiff/pkg/contract"
	"github.com/netdiff/kubectl-netdiff/pkg/probe"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
	"github.com/netdiff/kubectl-netdiff/pkg/section"
)

var (
	nodeWatchSection = &Section{Watch: "tp_btf/kfree_skb", Reasons: true, WindowMS: 2100, Symbols: "kallsyms",
		Namespaces: []Namespace{{Role: "node", Inode: 7}},
		Drops: []Drop{{Netns: "node", Dir: "out", Proto: "tcp", Local: "10.0.0.2", Remote: "10.0.9.9:80",
			Reason: "NETFILTER_DROP", Location: "nft_do_chain", Hook: "forward", Count: 9, Flows: 3}},
		Total: 1, Unwatched: 4}
	podUnwatched = &Section{Unavailable: &Unavailable{Need: "capabilities", Message: "watching drops needs CAP_BPF"}, Drops: []Drop{}}
	podWatched   = &Section{Watch: "tp_btf/kfree_skb", Reasons: true, WindowMS: 2000, Symbols: "kallsyms",
		Namespaces: []Namespace{{Role: "pod", Inode: 5}},
		Drops: []Drop{{Netns: "pod", Dir: "in", Proto: "tcp", Local: "10.0.0.2", Remote: "10.0.9.9:80",
			Reason: "NOT_SPECIFIED", Location: "tcp_v4_rcv", Count: 2, Flows: 1}},
		Total: 1, Unwatched: 1}
)

func roles(s *Section) []string {
	var out []string
	for _, n := range s.Namespaces {
		out = append(out, n.Role)
	}
	return out
}

// --node-side from a container without the BPF rights: the node's watch is the section,
// and the pod's reason for having none stays, by role.
func TestJoinNodeIntoAnUnwatchedPod(t *testing.T) {
	j := joinNode(podUnwatched, nodeWatchSection, "")
	if j.Unavailable != nil || j.Watch == "" || !slices.Equal(roles(j), []string{"node"}) {
		t.Fatalf("joined: unavailable %v, watch %q, namespaces %v", j.Unavailable, j.Watch, roles(j))
	}
	if !strings.Contains(j.NamespaceErrors["pod"], "CAP_BPF") || j.NamespaceErrors["node"] != "" {
		t.Errorf("namespace errors %v", j.NamespaceErrors)
	}
	if len(j.Drops) != 1 || j.Drops[0].Netns != "node" || j.Unwatched != 4 {
		t.Errorf("drops %+v unwatched %d", j.Drops, j.Unwatched)
	}
	kinds := map[string]probe.FactKind{}
	for _, f := range facts(j) {
		kinds[f.Key] = f.Kind
	}
	if k, ok := kinds["drop/node/tcp/10.0.0.2->10.0.9.9:80/NETFILTER_DROP@nft_do_chain:forward"]; !ok || k != probe.Counter {
		t.Errorf("the node's drop is no counter fact: %v", kinds)
	}
	if podUnwatched.Unavailable == nil || len(podUnwatched.Drops) != 0 {
		t.Error("the pod's section was changed")
	}
}

// --profile bpf --node-side: both namespaces, each with its own drops.
func TestJoinNodeIntoAWatchedPod(t *testing.T) {
	j := joinNode(podWatched, nodeWatchSection, "")
	if !slices.Equal(roles(j), []string{"pod", "node"}) || len(j.NamespaceErrors) != 0 {
		t.Fatalf("namespaces %v, errors %v", roles(j), j.NamespaceErrors)
	}
	if len(j.Drops) != 2 || j.Total != 2 || j.Unwatched != 5 || j.WindowMS != podWatched.WindowMS {
		t.Errorf("drops %+v total %d unwatched %d window %d", j.Drops, j.Total, j.Unwatched, j.WindowMS)
	}
	if len(podWatched.Drops) != 1 || len(podWatched.Namespaces) != 1 {
		t.Error("the pod's section was changed")
	}
}

// No node watch (it failed, or --node-side=auto read the node after the window): the
// section says why, by role, and keeps what the pod watched.
func TestJoinNodeWithoutAWatch(t *testing.T) {
	j := joinNode(podWatched, nil, "after the window")
	if j.NamespaceErrors["node"] != "after the window" || !slices.Equal(roles(j), []string{"pod"}) || len(j.Drops) != 1 {
		t.Errorf("joined %+v", j)
	}
	j = joinNode(podUnwatched, &Section{Unavailable: &Unavailable{Need: "btf", Message: "no BTF"}, Drops: []Drop{}}, "")
	if j.Unavailable == nil || !strings.Contains(j.NamespaceErrors["node"], "no BTF") {
		t.Errorf("joined %+v", j)
	}
	j = joinNode(nil, nil, "")
	if j.NamespaceErrors["node"] == "" || j.NamespaceErrors["pod"] == "" || j.Drops == nil {
		t.Errorf("joined from nothing %+v", j)
	}
}

// Through the registry, as the engine joins: stored JSON in, a section the exact decoder
// takes back out.
func TestJoinNodeRegistered(t *testing.T) {
	if !slices.Contains(section.NodeWatched(), Name) {
		t.Fatalf("%s is not watched from the node: %v", Name, section.NodeWatched())
	}
	own, _ := json.Marshal(podUnwatched)
	node, _ := json.Marshal(nodeWatchSection)
	raw, err := section.JoinNode(Name, own, node, "")
	if err != nil {
		t.Fatal(err)
	}
	var j Section
	if err := report.UnmarshalExact(raw, &j); err != nil {
		t.Fatal(err)
	}
	if len(j.Drops) != 1 || j.Drops[0].Netns != "node" {
		t.Errorf("joined %s", raw)
	}
	// A node section that is not one is said, not fatal.
	raw, err = section.JoinNode(Name, own, json.RawMessage(`{"drops":[],"drops":[]}`), "")
	if err != nil || !strings.Contains(string(raw), "the node pod's section") {
		t.Errorf("a broken node section: %v %s", err, raw)
	}
}

// Only the pod's or only the node's namespace watched: a timeout with no drop says
// nothing about where the loss is (the unwatched half may hold it).
func TestBeyondNeedsBothNamespaces(t *testing.T) {
	for _, s := range []*Section{joinNode(podUnwatched, nodeWatchSection, ""), podWatched, joinNode(podWatched, nodeWatchSection, "")} {
		s := *s
		s.Drops = []Drop{}
		raw, _ := json.Marshal(&s)
		c := &contract.Comparison{Subjects: []string{"a", "b"}, Reports: []*report.Report{
			{Sections: map[string]json.RawMessage{Name: raw}}, {Sections: map[string]json.RawMessage{Name: raw}}}}
		p := &contract.Probe{Status: []contract.Status{contract.OK, contract.FailRemote}, Detail: []string{"", "ETIMEDOUT"}}
		f := inferBeyond(c, p, 1, nil)
		if both := len(s.Namespaces) == 2; both != (f != nil) {
			t.Errorf("namespaces %v: finding %v", roles(&s), f)
		}
	}
}
