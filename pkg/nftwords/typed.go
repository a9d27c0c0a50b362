package nftwords

import "strings"

// Typed is a rule as a person types it: `iptables [-t nat] -A CHAIN …` for a rule in
// iptables-save's words (match and target as Iptables gives them; the defaults
// iptables-save spells out left out: `-m tcp` before a port, `--syn`, the connlimit
// mask), else `nft add rule FAMILY TABLE CHAIN …` (match and verdict as Nft gives them).
// family is "ip", "ip6", "inet" …, as the table's key names it.
func Typed(family, table, chain, match, verdict string, iptables bool) string {
	if iptables {
		cmd := "iptables"
		if family == "ip6" {
			cmd = "ip6tables"
		}
		if table != "filter" {
			cmd += " -t " + table
		}
		return strings.Join(nonEmpty(cmd, "-A "+chain, shortIptables(match), shortVerdict(verdict)), " ")
	}
	return strings.Join(nonEmpty("nft add rule", family, table, chain, match, verdict), " ")
}

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// shortIptables leaves out what iptables-save spells out and a person does not type.
func shortIptables(m string) string {
	for _, r := range [][2]string{
		{"-m tcp --tcp-flags FIN,SYN,RST,ACK SYN", "--syn"},
		{" --tcp-flags FIN,SYN,RST,ACK SYN", " --syn"},
		{" --connlimit-mask 32 --connlimit-saddr", ""},
		{" --connlimit-mask 128 --connlimit-saddr", ""},
	} {
		m = strings.ReplaceAll(m, r[0], r[1])
	}
	f := strings.Fields(m)
	var out []string
	for k := 0; k < len(f); k++ {
		// "-m tcp"/"-m udp" before its options is implied by "-p tcp".
		if f[k] == "-m" && k+2 < len(f) && (f[k+1] == "tcp" || f[k+1] == "udp") && strings.HasPrefix(f[k+2], "--") || f[k] == "-m" && k+2 < len(f) && (f[k+1] == "tcp" || f[k+1] == "udp") && f[k+2] == "!" {
			k++
			continue
		}
		if (f[k] == "-d" || f[k] == "-s") && k+1 < len(f) && strings.HasSuffix(f[k+1], "/32") {
			out = append(out, f[k], strings.TrimSuffix(f[k+1], "/32"))
			k++
			continue
		}
		out = append(out, f[k])
	}
	return strings.Join(out, " ")
}

func shortVerdict(v string) string {
	return strings.TrimSuffix(v, " --reject-with icmp-port-unreachable")
}
