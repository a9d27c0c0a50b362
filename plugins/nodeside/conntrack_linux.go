package nodeside

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"github.com/vishvananda/netlink"

	"github.com/netdiff/kubectl-netdiff/pkg/report"
)

// readConntrack reads /proc/net/nf_conntrack when the kernel has it, netlink otherwise.
func readConntrack(ips []netip.Addr, proc string) *Conntrack {
	ct := &Conntrack{Entries: []string{}}
	ct.TableCount = readInt(filepath.Join(proc, "sys/net/netfilter/nf_conntrack_count"))
	ct.TableMax = readInt(filepath.Join(proc, "sys/net/netfilter/nf_conntrack_max"))
	f, err := os.Open(filepath.Join(proc, "net/nf_conntrack"))
	if err == nil {
		defer f.Close()
		ct.Source = "/proc/net/nf_conntrack"
		if err := ParseConntrack(f, ips, ct); err != nil {
			ct.Error = report.ErrorOf(err)
		}
		return ct
	}
	if !errors.Is(err, os.ErrNotExist) {
		ct.Error = report.ErrorOf(err)
		return ct
	}
	ct.Source = "netlink"
	for _, fam := range []netlink.InetFamily{netlink.FAMILY_V4, netlink.FAMILY_V6} {
		flows, err := netlink.ConntrackTableList(netlink.ConntrackTable, fam)
		if err != nil {
			ct.Error = report.ErrorOf(fmt.Errorf("list conntrack over netlink: %w", err))
			continue
		}
		for _, fl := range flows {
			if !flowHolds(fl, ips) {
				continue
			}
			state := protoName(fl.Forward.Protocol)
			if tcp, ok := fl.ProtoInfo.(*netlink.ProtoInfoTCP); ok {
				state = tcpStates[tcp.State]
			}
			line := fmt.Sprintf("%s %s src=%s dst=%s sport=%d dport=%d", protoName(fl.Forward.Protocol), state,
				fl.Forward.SrcIP, fl.Forward.DstIP, fl.Forward.SrcPort, fl.Forward.DstPort)
			ct.add(strings.TrimSpace(strings.ReplaceAll(line, "  ", " ")), state, false)
		}
	}
	return ct
}

func flowHolds(fl *netlink.ConntrackFlow, ips []netip.Addr) bool {
	for _, a := range []net.IP{fl.Forward.SrcIP, fl.Forward.DstIP, fl.Reverse.SrcIP, fl.Reverse.DstIP} {
		if x, ok := netip.AddrFromSlice(a); ok && isPodIP(x.Unmap().AsSlice(), ips) {
			return true
		}
	}
	return false
}
