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
