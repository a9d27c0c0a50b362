package drops

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/cilium/ebpf/btf"

	"github.com/netdiff/kubectl-netdiff/internal/netnstest"
	"github.com/netdiff/kubectl-netdiff/pkg/probe"
	"github.com/netdiff/kubectl-netdiff/pkg/target"
)

// On a kernel before 5.17 the tracepoint has no reason: the second program is loaded,
// and drops carry their location and no reason. Played here by hiding the enum.
func TestBeforeReasonsDropsHaveALocation(t *testing.T) {
	netnstest.RequireRoot(t)
	saved := dropReasons
	dropReasons = func(*btf.Spec) map[uint32]string { return nil }
	t.Cleanup(func() { dropReasons = saved })

	ns := netnstest.New(t, "dnoreason")
	peer := netnstest.New(t, "dnrpeer")
	netnstest.Veth(t, ns, "10.42.0.2/24", peer, "10.42.0.1/24")
	ns.Exec("iptables", "-A", "OUTPUT", "-p", "udp", "--dport", "9999", "-j", "DROP")
	var sec *Section
	err := ns.Do(func() error {
		env := &probe.Env{Proc: "/proc", Logf: t.Logf, Targets: []target.Target{{Scheme: target.UDP, Host: "10.42.0.1", Port: 9999}}}
		p := &Plugin{}
		if err := p.Begin(context.Background(), env); err != nil {
			return err
		}
		c, err := net.Dial("udp", "10.42.0.1:9999")
		if err != nil {
			return err
		}
		for range 3 {
			_, _ = c.Write([]byte("x"))
		}
		c.Close()
		time.Sleep(100 * time.Millisecond)
		v, err := p.Collect(context.Background(), env)
		if err != nil {
			return err
		}
		sec = v.(*Section)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if sec.Unavailable != nil || sec.Reasons {
		t.Fatalf("watch %q, reasons %v, unavailable %+v", sec.Watch, sec.Reasons, sec.Unavailable)
	}
	found := false
	for _, d := range sec.Drops {
		if d.Proto == "udp" && d.Remote == "10.42.0.1:9999" && d.Reason == "" && d.Location != "" && d.Location != "?" && d.Hook == "output" && d.Count >= 3 {
			found = true
		}
	}
	if !found {
		t.Errorf("no reasonless drop with its location and hook: %+v", sec.Drops)
	}
	if k := facts(sec)[0]; k.Value != "tp_btf/kfree_skb (no reasons: kernel before 5.17)" {
		t.Errorf("watch fact %q", k.Value)
	}
}
