package diagnosis

import (
	"encoding/json"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/netdiff/kubectl-netdiff/pkg/contract"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
)

// Synthetic sections, registered once: an outcome section whose rows are connects
// ("tcp://ADDR:PORT" -> "ok" or an errno), two state sections of the pod (every row on
// every path; the second's rows follow from the first's "default" row), and one of the
// node.
const (
	tOut   = "zt-out"
	tRoute = "zt-route"
	tNeigh = "zt-neigh"
	tNode  = "zt-node"
	tNf    = "zt-nf"
	// tAns's rows govern only answering (like icmp_echo_ignore_all): on a probe's path
	// only as its destination answers it.
	tAns = "zt-answer"
	// tIf's rows are properties of interfaces ("wg0/mtu"): objects.
	tIf = "zt-if"
	// tDrop is a witness: where the kernel dropped packets.
	tDrop = "zt-drop"
)

func init() {
	all := func(section string) func(c *contract.Comparison, p *contract.Probe, i int) []string {
		return func(c *contract.Comparison, p *contract.Probe, i int) []string {
			var out []string
			for _, r := range c.Section(section) {
				out = append(out, r.Key)
			}
			return out
		}
	}
	RegisterAnalysis(contract.Analysis{Section: tOut, Role: contract.Outcome,
		Probes: func(c *contract.Comparison, r contract.Row) (contract.Probe, bool) {
			scheme, _, _ := strings.Cut(r.Key, "://")
			return contract.Probe{Target: r.Key, Proto: scheme, Status: contract.Statuses(r, func(v string) contract.Status {
				if v == "ok" {
					return contract.OK
				}
				if strings.HasPrefix(v, "ok ") { // "ok 4/5, ETIMEDOUT 1/5"
					return contract.Mixed
				}
				return contract.ErrnoStatus(v)
			})}, true
		}})
	RegisterAnalysis(contract.Analysis{Section: tRoute, Role: contract.State, Path: all(tRoute)})
	// Like the neighbours of a route's gateway, the entries on a path are the subject's own.
	RegisterAnalysis(contract.Analysis{Section: tNeigh, Role: contract.State,
		Path: func(c *contract.Comparison, p *contract.Probe, i int) []string {
			var out []string
			for _, r := range c.Section(tNeigh) {
				if r.Present(i) {
					out = append(out, r.Key)
				}
			}
			return out
		},
		DependsOn: func(c *contract.Comparison, r contract.Row, i int) contract.Dependency {
			return contract.Dependency{Rows: []string{tRoute + "/default"}}
		}})
	RegisterAnalysis(contract.Analysis{Section: tAns, Role: contract.State,
		Path: func(c *contract.Comparison, p *contract.Probe, i int) []string {
			if !p.Reply {
				return nil
			}
			return all(tAns)(c, p, i)
		}})
	RegisterAnalysis(contract.Analysis{Section: tIf, Role: contract.State, Path: all(tIf),
		Object: func(r contract.Row) string { dev, _, _ := strings.Cut(r.Key, "/"); return dev }})
	RegisterAnalysis(contract.Analysis{Section: tDrop, Role: contract.State, Path: all(tDrop), Witness: true})
	RegisterAnalysis(contract.Analysis{Section: tNode, Role: contract.State, Place: contract.OnNode, Path: all(tNode)})
	// A section of the pod that may be unreadable, as netfilter is without NET_ADMIN.
	RegisterAnalysis(contract.Analysis{Section: tNf, Role: contract.State, Path: all(tNf),
		Unread: func(c *contract.Comparison, i int) string {
			if r, ok := c.Row(tNf, "error"); ok && r.Present(i) {
				return "its rules could not be read: rerun with --profile netadmin"
			}
			return ""
		}})
}

// comparison builds a two-subject comparison from "section/key" -> {a, b} ("-" absent);
// nodeSide adds the node's section to both reports.
func comparison(rows map[string][2]string, nodeSide bool) *contract.Comparison {
	subjects := []string{"web-a", "web-b"}
	c := &contract.Comparison{Subjects: subjects}
	for i := range subjects {
		r := &report.Report{Sections: map[string]json.RawMessage{tOut: json.RawMessage(`{}`)}}
		if nodeSide {
			r.Sections[tNode] = json.RawMessage(`{}`)
		}
		c.Reports = append(c.Reports, r)
		c.Identities = append(c.Identities, contract.Identity{IPs: []string{"10.0.0." + string(rune('1'+i))}})
	}
	for id, v := range rows {
		sec, key, _ := strings.Cut(id, "/")
		if sec != tNode || nodeSide {
			for _, r := range c.Reports {
				r.Sections[sec] = json.RawMessage(`{}`)
			}
		}
		row := contract.Row{Section: sec, Key: key, Values: []string{v[0], v[1]}, Missing: []bool{v[0] == "-", v[1] == "-"}}
		row.Equal = v[0] == v[1]
		c.Rows = append(c.Rows, row)
	}
	sort.Slice(c.Rows, func(i, j int) bool { return c.Rows[i].ID() < c.Rows[j].ID() })
	return c
}

func topLevel(fs []contract.Finding) []contract.Finding {
	var out []contract.Finding
	for _, f := range fs {
		if f.Kind == contract.Cause && f.ConsequenceOf == "" && len(f.Explains) > 0 {
			out = append(out, f)
		}
	}
	return out
}

func dump(fs []contract.Finding) string {
	var b strings.Builder
	for _, f := range fs {
		b.WriteString(f.ID + " " + string(f.Kind) + " " + f.Rule + " [" + f.Subject + "] " + f.Message +
			" explains=" + strings.Join(f.Explains, ",") + " of=" + f.ConsequenceOf + "\n")
	}
	return b.String()
}

// A difference that follows from another is folded under it: one fault, one cause.
func TestChainFoldsTheConsequence(t *testing.T) {
	c := comparison(map[string][2]string{
		tOut + "/tcp://10.9.0.1:80": {"ok", "ENETUNREACH 3/3"},
		tRoute + "/default":         {"via 10.0.0.254", "-"},
		tNeigh + "/eth0/10.0.0.254": {"lladdr aa", "-"},
	}, false)
	// A rule names the missing entry, as the neighbours plugin's rule does.
	rule := contract.Finding{Severity: contract.Critical, Rule: tNeigh + "/missing", Keys: []string{tNeigh + "/eth0/10.0.0.254"},
		Message: "web-b lacks the neighbour entry of 10.0.0.254"}
	fs := Run(c, []contract.Finding{rule})
	top := topLevel(fs)
	if len(top) != 1 || !strings.Contains(top[0].Message, "zt-route default") || top[0].Subject != "web-b" {
		t.Fatalf("want one top-level cause, the route in web-b:\n%s", dump(fs))
	}
	var neigh *contract.Finding
	for i := range fs {
		if strings.Contains(fs[i].Message, "neighbour entry") {
			neigh = &fs[i]
		}
	}
	if neigh == nil || neigh.ConsequenceOf != top[0].ID || len(neigh.Explains) != 0 || len(top[0].Consequences) != 1 {
		t.Fatalf("the neighbour is not folded under the route:\n%s", dump(fs))
	}
}

// Without the dependency the same rows are two causes: the fold is the dependency's doing.
func TestWithoutDependencyTwoCauses(t *testing.T) {
	c := comparison(map[string][2]string{
		tOut + "/tcp://10.9.0.1:80": {"ok", "ENETUNREACH 3/3"},
		tRoute + "/default":         {"via 10.0.0.254", "-"},
		tRoute + "/10.9.0.0/16":     {"via 10.0.0.254", "-"},
	}, false)
	if top := topLevel(Run(c, nil)); len(top) != 2 {
		t.Fatalf("two unrelated route rows: want two causes, got %d", len(top))
	}
}

// A healthy peer is never blamed for what it has and its twin lacks: web-a's probe of
// web-b times out because web-b cannot answer, and web-a's extra neighbour explains nothing.
func TestHealthyPeerNotBlamed(t *testing.T) {
	c := comparison(map[string][2]string{
		tOut + "/tcp://<peer>:8080": {"ok", "ETIMEDOUT 3/3 (timeout)"},
		tOut + "/tcp://10.9.0.1:80": {"ok", "ETIMEDOUT 3/3 (timeout)"},
		tNeigh + "/eth0/10.0.0.7":   {"lladdr bb", "-"},
	}, false)
	fs := Run(c, nil)
	for _, f := range fs {
		if f.Subject == "web-a" && f.Kind == contract.Cause {
			t.Fatalf("a cause is attributed to the healthy web-a:\n%s", dump(fs))
		}
	}
	top := topLevel(fs)
	if len(top) != 1 || top[0].Subject != "web-b" || top[0].Rule != RuleOutsidePod || len(top[0].Explains) < 2 {
		t.Fatalf("want web-b's packets lost outside the pod, explaining both its symptoms:\n%s", dump(fs))
	}
}

// Packets that left the pod and are lost where nothing in the pod differs: the first
// finding says so and names the rerun; with the node's half read and equal, the loss is
// beyond the node; with a node fact differing, that fact is the cause.
func TestOutsideThePod(t *testing.T) {
	rows := map[string][2]string{
		tOut + "/tcp://10.9.0.1:80": {"ok", "ETIMEDOUT 3/3 (timeout)"},
		tRoute + "/default":         {"via 10.0.0.254", "via 10.0.0.254"},
	}
	for _, tc := range []struct {
		name     string
		nodeSide bool
		extra    map[string][2]string
		want     string
		place    string
	}{
		{"node-not-read", false, nil, `web-b's packets leave the pod and are lost: .*rerun with --node-side`, "node"},
		{"node-read-equal", true, map[string][2]string{tNode + "/sysctl/rp_filter": {"0", "0"}}, `web-b's packets are lost beyond its node`, "beyond-node"},
		{"node-fact", true, map[string][2]string{tNode + "/sysctl/rp_filter": {"0", "1"}}, `zt-node sysctl/rp_filter 1 \(web-a: 0\)`, "node"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			all := map[string][2]string{}
			for k, v := range rows {
				all[k] = v
			}
			for k, v := range tc.extra {
				all[k] = v
			}
			fs := Run(comparison(all, tc.nodeSide), nil)
			if len(fs) == 0 || fs[0].Kind != contract.Cause || !regexp.MustCompile(tc.want).MatchString(fs[0].Message) ||
				fs[0].Place != tc.place || len(fs[0].Explains) == 0 {
				t.Fatalf("first finding: want a cause at %s matching %q that explains the timeout:\n%s", tc.place, tc.want, dump(fs))
			}
		})
	}
}

// A refusal by the pod's own kernel is not "outside the pod".
func TestLocalRefusalIsNotOutside(t *testing.T) {
	fs := Run(comparison(map[string][2]string{tOut + "/tcp://10.9.0.1:80": {"ok", "ENETUNREACH 3/3 (immediate)"}}, false), nil)
	for _, f := range fs {
		if f.Rule == RuleOutsidePod {
			t.Fatalf("an immediate local refusal was called outside the pod:\n%s", dump(fs))
		}
	}
}

// The graph's edges are typed and point at the right nodes.
func TestGraphEdges(t *testing.T) {
	c := comparison(map[string][2]string{
		tOut + "/tcp://10.9.0.1:80": {"ok", "ENETUNREACH 3/3"},
		tRoute + "/default":         {"via 10.0.0.254", "-"},
		tNeigh + "/eth0/10.0.0.254": {"lladdr aa", "-"},
	}, false)
	d := Build(c, []contract.Finding{{Severity: contract.Critical, Rule: tNeigh + "/missing",
		Keys: []string{tNeigh + "/eth0/10.0.0.254"}, Message: "web-b lacks the neighbour entry of 10.0.0.254"}})
	kinds := map[EdgeKind]int{}
	for _, e := range d.Graph.Edges {
		kinds[e.Kind]++
		if e.Kind == DependsOn {
			from, to := d.Graph.Nodes[e.From], d.Graph.Nodes[e.To]
			if from.Row != tNeigh+"/eth0/10.0.0.254" || to.Row != tRoute+"/default" || from.Subject != 1 {
				t.Errorf("depends-on edge %s -> %s", d.Graph.String(e.From), d.Graph.String(e.To))
			}
		}
	}
	for _, k := range []EdgeKind{OnPath, DependsOn, Explains, RestsOn} {
		if kinds[k] == 0 {
			t.Errorf("no edge of kind %d: %v", k, kinds)
		}
	}
}

// With part of the pod's side unread (its netfilter), a TCP timeout alone does not show
// the packets left: it stays unexplained with what would read it. A UDP query that timed
// out does (a drop in the pod fails the send at once).
func TestOutsideThePodWithUnreadRules(t *testing.T) {
	base := map[string][2]string{
		tOut + "/tcp://10.9.0.1:80": {"ok", "ETIMEDOUT 3/3 (timeout)"},
		tNf + "/error":              {"EPERM", "EPERM"},
	}
	fs := Run(comparison(base, false), nil)
	if fs[0].Kind != contract.Symptom || !strings.Contains(fs[0].Checked, "--profile netadmin") {
		t.Fatalf("TCP only, rules unread: want the symptom unexplained with the netadmin hint:\n%s", dump(fs))
	}
	base[tOut+"/udp://10.9.0.10:53"] = [2]string{"ok", "ETIMEDOUT 1/1 (timeout)"}
	fs = Run(comparison(base, false), nil)
	if fs[0].Rule != RuleOutsidePod || !strings.Contains(fs[0].Message, "its UDP probes time out") || len(fs[0].Explains) != 2 {
		t.Fatalf("a UDP timeout: want the packets named as leaving the pod, explaining both:\n%s", dump(fs))
	}
}

// A section one subject never read (its node side could not be collected) makes none of
// its rows a difference: the rows are unknown there, not different.
func TestSectionNotReadIsNoDifference(t *testing.T) {
	c := comparison(map[string][2]string{
		tOut + "/tcp://10.9.0.1:80": {"ok", "ETIMEDOUT 3/3 (timeout)"},
		tNode + "/sysctl/x":         {"-", "1"},
	}, true)
	delete(c.Reports[0].Sections, tNode)
	for _, f := range Run(c, nil) {
		if strings.Contains(f.Message, "sysctl/x") {
			t.Fatalf("a row of a section web-a never read was named: %s", f.Message)
		}
	}
}

// A symptom nothing explains says what could not be read (and what reads it) instead of
// listing it as checked, and every other hint that applies: an intermittent failure with
// the rules unread gets both the netadmin and the --window hint.
func TestCheckedSaysWhatWasNotRead(t *testing.T) {
	fs := Run(comparison(map[string][2]string{
		tOut + "/tcp://10.9.0.1:80": {"ok", "ok 2/10, ECONNREFUSED 8/10"},
		tNf + "/error":              {"EPERM", "EPERM"},
	}, true), nil)
	f := fs[0]
	if f.Kind != contract.Symptom || !strings.Contains(f.Checked, "--profile netadmin") || !strings.Contains(f.Checked, "--window") {
		t.Fatalf("want the unexplained symptom with the netadmin and the --window hints:\n%s%s", dump(fs), f.Checked)
	}
	if listed, _, _ := strings.Cut(f.Checked, ";"); strings.Contains(listed, tNf) {
		t.Errorf("the unread section is listed as checked: %s", f.Checked)
	}
}

// One attempt of five lost out on the path is said, softly: a healthy pod on a busy node
// loses a SYN now and then. A probe that always fails makes it loud again.
func TestOutsideThePodNowAndThen(t *testing.T) {
	rows := map[string][2]string{tOut + "/udp://10.9.0.10:53": {"ok", "ok 4/5, ETIMEDOUT 1/5 (timeout)"}}
	fs := Run(comparison(rows, true), nil)
	if fs[0].Rule != RuleOutsidePod || fs[0].Severity > contract.Medium || !strings.HasPrefix(fs[0].Message, "some of web-b's packets") {
		t.Fatalf("want a medium 'some of web-b's packets' finding:\n%s", dump(fs))
	}
	rows[tOut+"/udp://10.9.0.11:53"] = [2]string{"ok", "ETIMEDOUT 5/5 (timeout)"}
	fs = Run(comparison(rows, true), nil)
	if fs[0].Rule != RuleOutsidePod || fs[0].Severity != contract.High || strings.HasPrefix(fs[0].Message, "some of") || len(fs[0].Explains) != 2 {
		t.Fatalf("want one high finding explaining both:\n%s", dump(fs))
	}
}

// A peer that does well everywhere and still does not answer: what governs answering
// alone decides, and the cause is the peer's (web-b ignores echo requests), never web-a's
// for having the other value.
func TestPeerThatDoesNotAnswer(t *testing.T) {
	fs := Run(comparison(map[string][2]string{
		tOut + "/icmp://<peer>": {"ETIMEDOUT 5/5 (timeout)", "ok"},
		tAns + "/echo_ignore":   {"0", "1"},
	}, true), nil)
	top := topLevel(fs)
	if len(top) != 1 || top[0].Subject != "web-b" || !strings.Contains(top[0].Message, "echo_ignore") {
		t.Fatalf("want one cause, web-b's echo_ignore:\n%s", dump(fs))
	}
	for _, f := range fs {
		if f.Kind == contract.Cause && f.Subject == "web-a" && len(f.Explains) > 0 {
			t.Errorf("web-a is blamed: %s", f.Message)
		}
	}
}

// An interface only web-b has is one cause, however many of its properties lie on the
// path; a property of an interface both have is a cause of its own.
func TestOneObjectOneCause(t *testing.T) {
	rows := map[string][2]string{
		tOut + "/tcp://10.9.0.1:80": {"ok", "ETIMEDOUT 3/3 (timeout)"},
		tIf + "/wg0/mtu":            {"-", "1420"},
		tIf + "/wg0/state":          {"-", "up"},
		tIf + "/wg0/type":           {"-", "veth"},
	}
	fs := Run(comparison(rows, true), nil)
	if top := topLevel(fs); len(top) != 1 || len(top[0].Keys) != 3 {
		t.Fatalf("want one cause resting on wg0's three rows:\n%s", dump(fs))
	}
	rows[tIf+"/eth0/mtu"] = [2]string{"1500", "1400"}
	if top := topLevel(Run(comparison(rows, true), nil)); len(top) != 2 {
		t.Fatalf("want wg0 and eth0's mtu as two causes:\n%s", dump(fs))
	}
}

// The node dropped web-b's packets as not its own, and web-b's interface sends without
// ARP: the drop (resting on its own rows alone) follows from the interface, one cause. A
// drop that names the state of its place stays a cause of its own.
func TestWitnessFollowsFromTheState(t *testing.T) {
	rows := map[string][2]string{
		tOut + "/tcp://10.9.0.1:80": {"ok", "ETIMEDOUT 3/3 (timeout)"},
		tIf + "/eth0/flags":         {"up", "up,noarp"},
		tDrop + "/node/OTHERHOST":   {"-", "12"},
	}
	drop := contract.Finding{Kind: contract.Cause, Severity: contract.Critical, Subject: "web-b", Rule: tDrop + "/on-flow",
		Message: "the node dropped 12 of web-b's packets: not addressed to this host", Keys: []string{tDrop + "/node/OTHERHOST"}}
	fs := Run(comparison(rows, true), []contract.Finding{drop})
	top := topLevel(fs)
	if len(top) != 1 || top[0].Rule != tIf+"/differs-on-path" || top[0].Severity != contract.Critical {
		t.Fatalf("want one critical cause, the interface's flags:\n%s", dump(fs))
	}
	folded := false
	for _, f := range fs {
		folded = folded || f.Rule == drop.Rule && f.ConsequenceOf == top[0].ID
	}
	if !folded {
		t.Errorf("the drop is not a consequence of %s:\n%s", top[0].ID, dump(fs))
	}
	drop.Keys = append(drop.Keys, tIf+"/eth0/flags")
	if top := topLevel(Run(comparison(rows, true), []contract.Finding{drop})); len(top) != 1 || top[0].Rule != drop.Rule {
		t.Fatalf("a drop naming the state it follows from is the cause:\n%s", dump(Run(comparison(rows, true), []contract.Finding{drop})))
	}
}
