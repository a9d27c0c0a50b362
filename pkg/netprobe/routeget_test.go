package netprobe

import (
	"testing"

	"github.com/netdiff/kubectl-netdiff/pkg/report"
)

func TestFormat(t *testing.T) {
	tests := []struct {
		l    RouteLookup
		want string
	}{
		{RouteLookup{Route: &RouteAnswer{Type: "unicast", Table: "main", Dev: "eth0", Gateway: "169.254.1.1", Src: "10.1.63.136"}}, "unicast dev eth0 via 169.254.1.1 src 10.1.63.136 table main"},
		{RouteLookup{Route: &RouteAnswer{Type: "local", Table: "local", Dev: "lo", MTU: 9000}}, "local dev lo table local mtu 9000"},
		{RouteLookup{Error: &report.Error{Errno: "ENETUNREACH", Message: "x"}}, "ENETUNREACH"},
		{RouteLookup{Error: &report.Error{Message: "no address to look up"}}, "no address to look up"},
	}
	for _, tt := range tests {
		if got := tt.l.Format(); got != tt.want {
			t.Errorf("Format = %q, want %q", got, tt.want)
		}
	}
	if k := (RouteLookup{Target: "tcp://a:1", Key: "ipv6#2"}).FactKey(); k != "tcp://a:1/ipv6#2" {
		t.Errorf("FactKey = %q", k)
	}
}
