package routeget

import (
	"encoding/json"
	"net/netip"
	"strings"
	"testing"

	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"

	"github.com/netdiff/kubectl-netdiff/pkg/diff"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
)

func TestFormat(t *testing.T) {
	tests := []struct {
		l    Lookup
		want string
	}{
		{Lookup{Route: &Route{Type: "unicast", Table: "main", Dev: "eth0", Gateway: "169.254.1.1", Src: "10.1.63.136"}}, "unicast dev eth0 via 169.254.1.1 src 10.1.63.136 table main"},
		{Lookup{Route: &Route{Type: "local", Table: "local", Dev: "lo", MTU: 9000}}, "local dev lo table local mtu 9000"},
		{Lookup{Error: &report.Error{Errno: "ENETUNREACH", Message: "x"}}, "ENETUNREACH"},
		{Lookup{Error: &report.Error{Message: "no address to look up"}}, "no address to look up"},
	}
	for _, tt := range tests {
		if got := tt.l.Format(); got != tt.want {
			t.Errorf("Format = %q, want %q", got, tt.want)
		}
	}
	if k := (Lookup{Target: "tcp://a:1", Key: "ipv6#2"}).FactKey(); k != "tcp://a:1/ipv6#2" {
		t.Errorf("FactKey = %q", k)
	}
}

// Loopback is in every namespace, so this needs no setup: the local table answers.
func TestGetLoopback(t *testing.T) {
	r, err := Get(netip.MustParseAddr("127.0.0.1"), 6, 80)
	if err != nil {
		t.Fatalf("route get 127.0.0.1: %+v", err)
	}
	// Without policy rules the kernel merges the local table into main, and says so.
	if r.Type != "local" || (r.Table != "local" && r.Table != "main") || r.Dev != "lo" || r.Src != "127.0.0.1" {
		t.Errorf("route get 127.0.0.1 = %+v, want local, table local or main, dev lo, src 127.0.0.1", r)
	}
}

func TestRuleLookupFails(t *testing.T) {
	mk := func(l Lookup) *report.Report {
		raw, _ := json.Marshal(Section{Lookups: []Lookup{l}})
		return &report.Report{Sections: map[string]json.RawMessage{Name: raw}}
	}
	base := Lookup{Target: "tcp://10.0.0.1:8081", Address: "10.0.0.1", Family: "ipv4", Key: "ipv4", IPProto: "tcp", Dport: 8081}
	good, bad := base, base
	good.Route = &Route{Type: "unicast", Table: "main", Dev: "eth0"}
	bad.Error = &report.Error{Errno: "EHOSTUNREACH", Message: "no route to host"}
	c := &diff.Comparison{Subjects: []string{"a", "b", "c"}, Reports: []*report.Report{mk(good), mk(bad), nil}}
	got := ruleLookupFails(c)
	if len(got) != 1 || got[0].Severity != diff.Critical ||
		!strings.Contains(got[0].Message, "b: route lookup for tcp://10.0.0.1:8081 (ip route get 10.0.0.1 ipproto tcp dport 8081) fails with EHOSTUNREACH while it works in a (unicast dev eth0 table main)") {
		t.Errorf("findings = %+v", got)
	}
	c.Reports[0] = mk(bad)
	if got := ruleLookupFails(c); len(got) != 0 {
		t.Errorf("failing everywhere is not a difference: %+v", got)
	}
}

// rtAnswer builds an RTM_NEWROUTE payload the way the kernel lays it out.
func rtAnswer(typ uint8, table uint32, attrs ...[]byte) []byte {
	msg := nl.RtMsg{RtMsg: unix.RtMsg{Family: unix.AF_INET, Dst_len: 32, Table: uint8(table), Type: typ}}
	b := msg.Serialize()
	for _, a := range attrs {
		b = append(b, a...)
	}
	return b
}

func attr(typ int, v []byte) []byte { return nl.NewRtAttr(typ, v).Serialize() }

func TestParseRoute(t *testing.T) {
	tbl := make([]byte, 4)
	nl.NativeEndian().PutUint32(tbl, 100)
	mtu := nl.NewRtAttr(unix.RTA_METRICS, nil)
	v := make([]byte, 4)
	nl.NativeEndian().PutUint32(v, 1450)
	mtu.AddRtAttr(unix.RTAX_MTU, v)
	m := rtAnswer(unix.RTN_UNICAST, 252, attr(unix.RTA_TABLE, tbl), attr(unix.RTA_DST, []byte{10, 0, 0, 1}),
		attr(unix.RTA_GATEWAY, []byte{169, 254, 1, 1}), attr(unix.RTA_PREFSRC, []byte{10, 1, 63, 136}), mtu.Serialize())
	r, err := parseRoute(m)
	if err != nil {
		t.Fatal(err)
	}
	want := Route{Type: "unicast", Table: "100", Dst: "10.0.0.1", Gateway: "169.254.1.1", Src: "10.1.63.136", MTU: 1450}
	if *r != want {
		t.Errorf("parseRoute = %+v, want %+v", *r, want)
	}
	if _, err := parseRoute(m[:5]); err == nil {
		t.Error("short answer accepted")
	}
	// An attribute claiming more bytes than there are (found by FuzzParseRoute: netlink's
	// parser panics on it).
	if _, err := parseRoute(append(rtAnswer(unix.RTN_UNICAST, 254), 8, 0, 1, 0, 0, 0)); err == nil {
		t.Error("overlong attribute accepted")
	}
}

func FuzzParseRoute(f *testing.F) {
	f.Add(rtAnswer(unix.RTN_UNICAST, 254, attr(unix.RTA_DST, []byte{10, 0, 0, 1}), attr(unix.RTA_OIF, []byte{1, 0, 0, 0})))
	f.Add(rtAnswer(unix.RTN_LOCAL, 255))
	f.Add(append(rtAnswer(unix.RTN_UNICAST, 254), 8, 0, 1, 0, 0, 0))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = parseRoute(b)
	})
}
