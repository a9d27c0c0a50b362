package nodeside

import (
	"strconv"

	"github.com/netdiff/kubectl-netdiff/pkg/netstate"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
)

// podArgs: the node pod finds the pod's veth by --pod-ifindex, the peer index of the pod's
// interface that holds its IP (else of eth0); without it, by the route to the pod.
func podArgs(rep *report.Report, ips []string) []string {
	if idx := PeerIndex(rep, ips); idx > 0 {
		return []string{"--pod-ifindex", strconv.Itoa(idx)}
	}
	return nil
}

// PeerIndex finds, in a pod's report, the peer index of the interface that holds one of
// ips (eth0 when none does): the ifindex of the veth's host end in the node's namespace.
func PeerIndex(rep *report.Report, ips []string) int {
	if rep == nil {
		return 0
	}
	// The interfaces section's schema (docs/sections/interfaces.md), the part read here.
	var s struct {
		Interfaces []netstate.Interface `json:"interfaces"`
	}
	if ok, err := rep.Section("interfaces", &s); !ok || err != nil {
		return 0
	}
	eth0 := 0
	for _, in := range s.Interfaces {
		if in.PeerIndex == 0 {
			continue
		}
		for _, a := range in.Addrs {
			for _, ip := range ips {
				if a.IP() == ip {
					return in.PeerIndex
				}
			}
		}
		if in.Name == "eth0" {
			eth0 = in.PeerIndex
		}
	}
	return eth0
}
