package routes

import (
	"net"
	"testing"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// BenchmarkConvertAndFacts10k measures the pure part of a 10,000-route collection:
// conversion, ordering, capping and flattening into facts.
func BenchmarkConvertAndFacts10k(b *testing.B) {
	rs := make([]netlink.Route, 10000)
	for i := range rs {
		rs[i] = netlink.Route{Family: unix.AF_INET, Table: 1 + i%4, Type: unix.RTN_UNICAST, Protocol: unix.RTPROT_BOOT,
			Dst: &net.IPNet{IP: net.IPv4(10, byte(100+i/256), byte(i), 0).To4(), Mask: net.CIDRMask(24, 32)}, Gw: net.ParseIP("10.80.0.2"), LinkIndex: 2}
	}
	b.ReportAllocs()
	for b.Loop() {
		s := Convert(rs, names)
		if len(Facts(s)) == 0 {
			b.Fatal("no facts")
		}
	}
}
