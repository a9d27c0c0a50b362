package netfilter

import (
	"context"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/netdiff/kubectl-netdiff/pkg/netstate"
	"github.com/netdiff/kubectl-netdiff/pkg/probe"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
)

// Collect reads the visibility files from <proc>/net and the rules of the prober's own
// network namespace.
func (*Plugin) Collect(_ context.Context, env *probe.Env) (any, error) {
	s := &Section{Visibility: map[string]List{}, Iptables: map[string][]XTable{}}
	dir := filepath.Join(env.Proc, "net")
	for _, f := range visibilityFiles {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			s.Visibility[f] = List{Names: []string{}, Error: report.ErrorOf(err)}
			continue
		}
		s.Visibility[f] = List{Names: netstate.ParseNames(b, maxNames)}
	}
	if _, err := os.Stat(filepath.Join(dir, "nf_conntrack")); err == nil {
		s.Conntrack = true
	}
	s.Nftables = listNft()
	for fam, file := range map[string]string{"ipv4": "ip_tables_names", "ipv6": "ip6_tables_names"} {
		af := unix.AF_INET
		if fam == "ipv6" {
			af = unix.AF_INET6
		}
		for _, name := range s.Visibility[file].Names {
			s.Iptables[fam] = append(s.Iptables[fam], readXTable(af, name))
		}
	}
	if s.Nftables.Error != nil && (s.Nftables.Error.Errno == "EPERM" || s.Nftables.Error.Errno == "EACCES") {
		s.Note = "rules not readable: listing netfilter rules needs CAP_NET_ADMIN, which a pod normally lacks (use the netadmin profile to see them); the table names above are what any process can see"
	}
	return s, nil
}
