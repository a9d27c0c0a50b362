package connect

import (
	"strconv"
	"testing"

	"github.com/netdiff/kubectl-netdiff/internal/netnstest"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
)

// For compare_test.go, which must live outside the package to import plugins/all.

const (
	SvcNoRoute = svcNoRoute
	OnLink8080 = onLink8080
	OnLink8081 = onLink8081
	NoListener = noListener
	UDPClosed  = udpClosed
)

func NewWorld(t testing.TB) (a, b *netnstest.NS) {
	w := newWorld(t)
	return w.a, w.b
}

func Collect(t testing.TB, ns *netnstest.NS, targets ...string) *report.Report {
	return collect(t, ns, targets...)
}

func AppPID(ns *netnstest.NS) string {
	pid, _ := apps.Load(ns.Name)
	return strconv.Itoa(pid.(int))
}

// NewHealthyPair is two namespaces configured alike (different subnets, same shape), each
// with a default route through S, for noise tests.
func NewHealthyPair(t testing.TB) (a, b *netnstest.NS) {
	s := netnstest.New(t, "hpS")
	a, b = netnstest.New(t, "hpA"), netnstest.New(t, "hpB")
	s.Exec("sh", "-c", "echo 0 > /proc/sys/net/ipv4/icmp_ratelimit")
	for i, ns := range []*netnstest.NS{a, b} {
		n := strconv.Itoa(i + 1)
		netnstest.Veth(t, ns, "10.20."+n+".1/24", s, "10.20."+n+".2/24")
		s.IP("link", "set", "veth0", "name", "veth"+n)
		ns.IP("route", "add", "default", "via", "10.20."+n+".2")
		ns.IP("route", "add", "blackhole", "10.20.7.0/24")
		ns.WriteEtc("resolv.conf", "nameserver 10.20.7.53\n")
		apps.Store(ns.Name, ns.Start("sleep", "120").Process.Pid)
	}
	s.IP("addr", "add", "10.20.9.1/32", "dev", "lo")
	s.ListenTCP(":8080")
	return a, b
}
