package icmp

import (
	"strconv"
	"strings"
	"testing"

	"github.com/netdiff/kubectl-netdiff/internal/netnstest"
	"github.com/netdiff/kubectl-netdiff/internal/plugintest"
	"github.com/netdiff/kubectl-netdiff/pkg/contract"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
)

// A may open unprivileged ICMP sockets (ping_group_range covers root's gid), B may not and
// falls back to raw. B has no route to S's 10.10.9.1 and a policy rule that rejects TCP
// to port 8081, so ping works where TCP does not.
func TestEchoInNamespaces(t *testing.T) {
	a, b, s := netnstest.TwoClients(t, "icmp")
	s.IP("addr", "add", "10.10.9.1/32", "dev", "lo")
	a.IP("addr", "add", "fd00:1::1/64", "dev", "veth0", "nodad")
	s.IP("addr", "add", "fd00:1::2/64", "dev", "vethA", "nodad")
	b.IP("rule", "add", "ipproto", "tcp", "dport", "8081", "table", "100", "pref", "100")
	b.IP("route", "add", "unreachable", "default", "table", "100")
	a.Exec("sh", "-c", "echo '0 2147483647' > /proc/sys/net/ipv4/ping_group_range")
	b.Exec("sh", "-c", "echo '1 0' > /proc/sys/net/ipv4/ping_group_range")
	s.ListenTCP(":8081")
	pids := map[*netnstest.NS]string{}
	for _, ns := range []*netnstest.NS{a, b} {
		// Own resolv.conf: the DNS probes ask S, never the host's nameserver.
		ns.WriteEtc("resolv.conf", "nameserver 10.10.2.2\n")
		pids[ns] = strconv.Itoa(ns.Start("sleep", "60").Process.Pid)
	}

	args := []string{"--quiet", "--timeout", "2s", "--attempts", "3", "--burst", "2",
		"--target", "icmp://10.10.2.2", "--target", "icmp://10.10.9.1", "--target", "tcp://10.10.2.2:8081",
		"--target", "icmp://[fd00:1::2]"}
	ra, rb := a.Collect(append(args, "--pid", pids[a])...), b.Collect(append(args, "--pid", pids[b])...)
	fa, fb := plugintest.Facts(t, Name, ra), plugintest.Facts(t, Name, rb)
	plugintest.CheckFacts(t, map[string]map[string]string{"A": fa, "B": fb}, [][3]string{
		{"A", "icmp://10.10.2.2/ipv4/method", MethodDgram},
		{"B", "icmp://10.10.2.2/ipv4/method", MethodRaw},
		{"A", "icmp://10.10.2.2/ipv4", "ok 3/3"},
		{"B", "icmp://10.10.2.2/ipv4", "ok 3/3"},
		{"A", "icmp://10.10.9.1/ipv4", "ok 3/3"},
		{"B", "icmp://10.10.9.1/ipv4", "ENETUNREACH 3/3 (immediate)"},
		{"A", "icmp://fd00:1::2/ipv6/method", MethodDgram},
		{"A", "icmp://fd00:1::2/ipv6", "ok 3/3"},
		{"B", "icmp://fd00:1::2/ipv6/method", MethodRaw},
		{"B", "icmp://fd00:1::2/ipv6", "ENETUNREACH 3/3 (immediate)"},
	})
	var sec Section
	netnstest.Section(t, rb, Name, &sec)
	if e := sec.Targets[0].Addresses[0].OpenErrors[MethodDgram]; e == nil || e.Errno != "EACCES" {
		t.Errorf("B: dgram socket error = %+v, want EACCES (ping_group_range)", e)
	}
	if !strings.HasPrefix(fa["icmp://10.10.2.2/ipv4/rtt"], "min ") {
		t.Errorf("A: rtt = %q", fa["icmp://10.10.2.2/ipv4/rtt"])
	}

	c := &contract.Comparison{Subjects: []string{"A", "B"}, Reports: []*report.Report{ra, rb}}
	got := ruleEchoDiffers(c)
	if len(got) != 2 || !strings.Contains(got[0].Message, "B: ICMP echo to icmp://10.10.9.1/ipv4 (10.10.9.1) gets ENETUNREACH 3/3 (immediate) while A gets replies") {
		t.Errorf("echo-differs = %+v", got)
	}
	got = rulePingOKTCPFails(c)
	if len(got) != 1 || !strings.Contains(got[0].Message, "B: ICMP echo to 10.10.2.2 works in every subject, but TCP connect to tcp://10.10.2.2:8081 fails here") {
		t.Errorf("ping-ok-tcp-fails = %+v", got)
	}
}

func TestUnavailableSaysWhy(t *testing.T) {
	a := AddrResult{Method: MethodUnavailable, OpenErrors: map[string]*report.Error{
		MethodDgram: {Errno: "EACCES"}, MethodRaw: {Errno: "EPERM"}}}
	if got := openReason(a); got != "dgram EACCES, raw EPERM" {
		t.Errorf("openReason = %q", got)
	}
}
