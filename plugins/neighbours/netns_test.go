package neighbours

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/netdiff/kubectl-netdiff/internal/netnstest"
	"github.com/netdiff/kubectl-netdiff/internal/plugintest"
	"github.com/netdiff/kubectl-netdiff/pkg/contract"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
)

// TestPlantedNeighbours: pod-a resolves its gateway (pod-b's address) and has a static
// entry; pod-b's gateway is an address nobody holds, so its entry never resolves.
func TestPlantedNeighbours(t *testing.T) {
	a, b := netnstest.New(t, "nba"), netnstest.New(t, "nbb")
	netnstest.Veth(t, a, "10.76.0.1/24", b, "10.76.0.2/24")
	a.IP("route", "add", "default", "via", "10.76.0.2")
	b.IP("route", "add", "default", "via", "10.76.0.99")
	a.IP("neigh", "add", "10.76.0.9", "lladdr", "02:00:00:00:00:09", "dev", "veth0", "nud", "permanent")
	// One datagram towards a routed destination makes each side resolve its gateway. It
	// never leaves the two test namespaces: 10.76.1.1 is only reachable through them.
	for _, ns := range []*netnstest.NS{a, b} {
		if err := ns.Do(func() error {
			c, err := net.Dial("udp", "10.76.1.1:9")
			if err != nil {
				return err
			}
			defer c.Close()
			_, err = c.Write([]byte("x"))
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	waitState(t, a, "10.76.0.2", "REACHABLE", "STALE", "DELAY")
	waitState(t, b, "10.76.0.99", "INCOMPLETE", "FAILED")

	reps := []*report.Report{a.Collect("--quiet"), b.Collect("--quiet")}
	var sa, sb Section
	netnstest.Section(t, reps[0], Name, &sa)
	netnstest.Section(t, reps[1], Name, &sb)
	byKey := func(s *Section) map[string]Neighbour {
		m := map[string]Neighbour{}
		for _, n := range s.Neighbours {
			m[n.Key()] = n
		}
		return m
	}
	na, nb := byKey(&sa), byKey(&sb)
	if n := na["veth0/10.76.0.9"]; n.State != "PERMANENT" || n.LLAddr != "02:00:00:00:00:09" || n.Gateway {
		t.Errorf("pod-a static entry = %+v", n)
	}
	if n := na["veth0/10.76.0.2"]; !n.Gateway || n.LLAddr == "" {
		t.Errorf("pod-a gateway entry = %+v, want a resolved gateway", n)
	}
	if n := nb["veth0/10.76.0.99"]; !n.Gateway || (n.State != "INCOMPLETE" && n.State != "FAILED") {
		t.Errorf("pod-b gateway entry = %+v, want INCOMPLETE or FAILED", n)
	}

	c := plugintest.Compare(t, Name, []string{"pod-a", "pod-b"}, reps)
	rows := plugintest.RowMap(c)
	if r := rows["veth0/10.76.0.9"]; r.Values[0] != "lladdr 02:00:00:00:00:09" || r.Values[1] != "-" {
		t.Errorf("static entry row = %+v", r)
	}
	if e := plugintest.EngineFindings(t, Name, []string{"pod-a", "pod-b"}, reps); e["neighbours/gateway-unresolved"] != 1 || len(e) != 1 {
		t.Errorf("engine findings = %v", e)
	}
	fs := GatewayUnresolved(c)
	if len(fs) != 1 || fs[0].Severity != contract.High || !strings.HasPrefix(fs[0].Message, "pod-b cannot resolve its gateway 10.76.0.99 on veth0") || !strings.Contains(fs[0].Message, "pod-a resolves 10.76.0.2 on veth0 to") {
		t.Errorf("findings = %+v", fs)
	}
}

func waitState(t *testing.T, ns *netnstest.NS, ip string, states ...string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		out := ns.IP("neigh", "show", ip)
		for _, s := range states {
			if strings.Contains(out, s) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("neighbour %s in %s: %q, want one of %v", ip, ns.Name, out, states)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
