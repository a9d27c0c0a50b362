package interfaces_test

import (
	"testing"
	"time"

	"github.com/netdiff/kubectl-netdiff/internal/netnstest"
	"github.com/netdiff/kubectl-netdiff/pkg/diff"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
	_ "github.com/netdiff/kubectl-netdiff/plugins/interfaces"
	_ "github.com/netdiff/kubectl-netdiff/plugins/neighbours"
	_ "github.com/netdiff/kubectl-netdiff/plugins/netns"
	_ "github.com/netdiff/kubectl-netdiff/plugins/routes"
	_ "github.com/netdiff/kubectl-netdiff/plugins/rules"
)

// TestHealthyReplicasDoNotDiffer wires two "pods" the way Calico does (a /32 on eth0, a
// default route via 169.254.1.1 on a link route, the host answering ARP) and checks
// that the netlink sections show no difference and no finding: everything that differs
// by nature (addresses, MACs, link-local addresses, ifindexes, inodes) must normalise away.
func TestHealthyReplicasDoNotDiffer(t *testing.T) {
	node := netnstest.New(t, "node")
	// The gateway answers ARP for itself here, where Calico answers by proxy ARP: the
	// prober probes the gateway, and a healthy pod resolves it.
	node.IP("addr", "add", "169.254.1.1/32", "dev", "lo")
	pods := []*netnstest.NS{netnstest.New(t, "pa"), netnstest.New(t, "pb")}
	for i, pod := range pods {
		host := []string{"calia", "calib"}[i]
		ip := []string{"10.77.0.2", "10.77.0.3"}[i]
		node.IP("link", "add", host, "type", "veth", "peer", "name", "eth0", "netns", pod.Name)
		node.IP("link", "set", host, "up")
		node.Exec("sysctl", "-qw", "net.ipv4.conf."+host+".proxy_arp=1")
		node.IP("route", "add", ip+"/32", "dev", host)
		pod.IP("addr", "add", ip+"/32", "dev", "eth0")
		pod.IP("link", "set", "eth0", "up")
		pod.IP("route", "add", "169.254.1.1", "dev", "eth0", "scope", "link")
		pod.IP("route", "add", "default", "via", "169.254.1.1", "dev", "eth0")
	}
	// Let the link-local addresses leave DAD, as they have in any pod that ran a second.
	time.Sleep(2500 * time.Millisecond)

	reps := []*report.Report{pods[0].Collect("--quiet"), pods[1].Collect("--quiet")}
	res, err := diff.Compare([]string{"pod-a", "pod-b"}, reps, diff.Options{})
	if err != nil {
		t.Fatal(err)
	}
	mine := map[string]bool{"interfaces": true, "routes": true, "rules": true, "neighbours": true, "netns": true}
	rows := 0
	for _, r := range res.Rows {
		if !mine[r.Section] {
			continue
		}
		rows++
		if !r.Equal {
			t.Errorf("row %s differs between healthy replicas: %q", r.ID(), r.Values)
		}
	}
	if rows < 30 {
		t.Errorf("only %d rows in the netlink sections: the sections are missing", rows)
	}
	for _, f := range res.Findings {
		for s := range mine {
			if len(f.Rule) > len(s) && f.Rule[:len(s)+1] == s+"/" {
				t.Errorf("finding between healthy replicas: %s: %s", f.Rule, f.Message)
			}
		}
	}
}
