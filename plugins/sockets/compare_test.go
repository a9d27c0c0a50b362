package sockets

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/netdiff/kubectl-netdiff/pkg/contract"
	"github.com/netdiff/kubectl-netdiff/pkg/diff"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
)

// subject makes a report holding only a sockets section built from socks, as Collect would.
func subject(t *testing.T, ip string, socks ...Socket) *report.Report {
	t.Helper()
	s := &Section{Sources: map[string]Source{"tcp": {Via: "netlink", Marks: true}}, EphemeralPorts: [2]int{32768, 60999}}
	summarise(s, socks)
	raw, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return &report.Report{SchemaVersion: report.SchemaVersion, Sections: map[string]json.RawMessage{"sockets": raw},
		Subject: &report.Subject{Name: ip, IPs: []string{ip}}}
}

func compareSockets(t *testing.T, names []string, reps ...*report.Report) *diff.Result {
	t.Helper()
	res, err := diff.Compare(names, reps, diff.Options{Rules: func(n string) bool { return strings.HasPrefix(n, "sockets/") }})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestAddressesAreNormalised: a subject's own address and its peer's become <self> and
// <peer> in keys and values, so listeners on each pod's own IP line up, and SYN-SENT to
// the other pod is named as such even though the peer cannot hold sockets to itself.
func TestAddressesAreNormalised(t *testing.T) {
	a := subject(t, "10.0.0.1",
		Socket{Table: "tcp", State: "LISTEN", Local: "10.0.0.1:8080", Comm: "app", PID: 1, Inode: 1})
	b := subject(t, "10.0.0.2",
		Socket{Table: "tcp", State: "LISTEN", Local: "10.0.0.2:8080", Comm: "app", PID: 1, Inode: 1},
		Socket{Table: "tcp", State: "SYN-SENT", Local: "10.0.0.2:40001", Remote: "10.0.0.1:80", Comm: "app", PID: 1, Inode: 2},
		Socket{Table: "tcp", State: "SYN-SENT", Local: "10.0.0.2:40002", Remote: "10.0.0.1:80", Comm: "app", PID: 1, Inode: 3},
		Socket{Table: "tcp", State: "SYN-SENT", Local: "10.0.0.2:40003", Remote: "10.0.0.1:80", Comm: "app", PID: 1, Inode: 4})
	res := compareSockets(t, []string{"pod-a", "pod-b"}, a, b)
	rows := map[string]contract.Row{}
	for _, r := range res.Rows {
		rows[r.Key] = r
	}
	if r, ok := rows["listen/tcp/8080"]; !ok || !r.Equal || r.Values[0] != "ipv4-only <self> (app)" {
		t.Errorf("listen row %+v, want equal \"ipv4-only <self> (app)\"", r)
	}
	if _, ok := rows["syn-sent/app/tcp/<peer>:80"]; !ok {
		t.Errorf("no syn-sent row to <peer>:80 in %v", keysOf(rows))
	}
	var got []string
	for _, f := range res.Findings {
		got = append(got, f.Message)
	}
	if len(got) != 1 || !strings.Contains(got[0], "pod-b's app has 3 tcp socket(s) stuck in SYN-SENT to <peer>:80") {
		t.Errorf("findings %q, want one about pod-b's SYN-SENT to <peer>:80", got)
	}
}

// TestRulesWithThreeSubjects: only the subjects holding more than the fewest are named,
// and a section missing from one report is no crash.
func TestRulesWithThreeSubjects(t *testing.T) {
	v6only := true
	marked := Socket{Table: "tcp", State: "ESTAB", Local: "10.0.0.3:40000", Remote: "10.9.0.1:443", Mark: 0x2a, Comm: "app", PID: 7, Inode: 9}
	a := subject(t, "10.0.0.1", Socket{Table: "tcp6", State: "LISTEN", Local: "[::]:8080", V6Only: new(bool), Comm: "app", PID: 1, Inode: 1})
	b := subject(t, "10.0.0.2", Socket{Table: "tcp6", State: "LISTEN", Local: "[::]:8080", V6Only: &v6only, Comm: "app", PID: 1, Inode: 1})
	c := subject(t, "10.0.0.3", marked, Socket{Table: "tcp", State: "ESTAB", Local: "10.0.0.3:40001", Remote: "10.9.0.1:443", Dev: "eth1", Comm: "app", PID: 7, Inode: 10})
	empty := &report.Report{SchemaVersion: report.SchemaVersion, Sections: map[string]json.RawMessage{}}
	res := compareSockets(t, []string{"pod-a", "pod-b", "pod-c", "pod-d"}, a, b, c, empty)
	want := map[string]string{
		"sockets/listen-family": "pod-b listens on tcp :8080 only on IPv6",
		"sockets/mark":          "pod-c has 1 tcp socket(s) with fwmark 0x2a (held by app)",
		"sockets/bound":         "pod-c's app binds 1 tcp socket(s) to device eth1",
	}
	for _, f := range res.Findings {
		w, ok := want[f.Rule]
		if !ok || !strings.Contains(f.Message, w) {
			t.Errorf("unexpected finding %s: %s", f.Rule, f.Message)
			continue
		}
		delete(want, f.Rule)
	}
	for rule, w := range want {
		t.Errorf("no %s finding saying %q", rule, w)
	}
}

func keysOf(m map[string]contract.Row) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestLinkLocalScopeIsNoDeviceBind: the kernel records the scope of an IPv6 link-local
// connection as the bound device; that is not SO_BINDTODEVICE and gives no fact.
func TestLinkLocalScopeIsNoDeviceBind(t *testing.T) {
	s := &Section{}
	summarise(s, []Socket{
		{Table: "tcp6", State: "ESTAB", Local: "[fe80::1]:40000", Remote: "[fe80::2]:22", Ifindex: 2, Dev: "eth0", Comm: "ssh", PID: 5, Inode: 1},
		{Table: "tcp", State: "ESTAB", Local: "10.0.0.1:40001", Remote: "10.0.0.2:22", Ifindex: 2, Dev: "eth0", Comm: "ssh", PID: 5, Inode: 2},
	})
	var devs []Group
	for _, g := range s.Groups {
		if g.Kind == "dev" {
			devs = append(devs, g)
		}
	}
	if len(devs) != 1 || devs[0].Table != "tcp" {
		t.Errorf("device groups %+v, want only the IPv4 socket", devs)
	}
}
