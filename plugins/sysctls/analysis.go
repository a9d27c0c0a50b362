package sysctls

import "github.com/netdiff/kubectl-netdiff/pkg/contract"

// analysis: the sysctls that govern a probe's outcome: the local port range and reserved
// ports (EADDRNOTAVAIL), SYN retries (the time to ETIMEDOUT), reverse-path filtering (lost
// replies), disable_ipv6, and who may open ICMP sockets.
var analysis = contract.Analysis{Role: contract.State, Path: func(c *contract.Comparison, p *contract.Probe, i int) []string {
	if p.Proto == "" {
		return nil
	}
	devs := []string{"all", "default"}
	for _, r := range p.Route {
		if r.Dev != "" {
			devs = append(devs, r.Dev)
		}
	}
	var out []string
	switch {
	case p.Proto == "tcp" && p.Reply:
		out = append(out, "net/ipv4/tcp_syncookies")
	case p.Proto == "tcp":
		out = append(out, "net/ipv4/ip_local_port_range", "net/ipv4/ip_local_reserved_ports", "net/ipv4/tcp_syn_retries")
	case p.Proto == "udp" && !p.Reply:
		out = append(out, "net/ipv4/ip_local_port_range", "net/ipv4/ip_local_reserved_ports")
	case p.Proto == "icmp" && p.Reply:
		out = append(out, "net/ipv4/icmp_echo_ignore_all")
	case p.Proto == "icmp":
		out = append(out, "net/ipv4/ping_group_range")
	}
	for _, d := range devs {
		if p.Family() == "ipv6" {
			out = append(out, "net/ipv6/conf/"+d+"/disable_ipv6")
		} else {
			out = append(out, "net/ipv4/conf/"+d+"/rp_filter")
		}
	}
	return out
}}
