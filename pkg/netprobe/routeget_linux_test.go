package netprobe

import (
	"net/netip"
	"testing"

	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

// Loopback is in every namespace, so this needs no setup: the local table answers.
func TestGetLoopback(t *testing.T) {
	r, err := RouteGet(netip.MustParseAddr("127.0.0.1"), 6, 80)
	if err != nil {
		t.Fatalf("route get 127.0.0.1: %+v", err)
	}
	// Without policy rules the kernel merges the local table into main, and says so.
	if r.Type != "local" || (r.Table != "local" && r.Table != "main") || r.Dev != "lo" || r.Src != "127.0.0.1" {
		t.Errorf("route get 127.0.0.1 = %+v, want local, table local or main, dev lo, src 127.0.0.1", r)
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
	want := RouteAnswer{Type: "unicast", Table: "100", Dst: "10.0.0.1", Gateway: "169.254.1.1", Src: "10.1.63.136", MTU: 1450}
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
