package sockets

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"

	"github.com/netdiff/kubectl-netdiff/pkg/probe"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
)

// Collect reads every table (netlink, else /proc/net), maps inodes to processes and
// summarises. Nothing here fails the section.
func (*Plugin) Collect(ctx context.Context, env *probe.Env) (any, error) {
	s := &Section{Sources: map[string]Source{}}
	var all []Socket
	for _, table := range Tables {
		socks, src := readTable(env.Proc, table)
		s.Sources[table] = src
		all = append(all, socks...)
	}
	s.EphemeralPorts = ephemeralPorts(env.Proc)
	names := ifNames()
	for i := range all {
		if all[i].Ifindex != 0 {
			all[i].Dev = names[all[i].Ifindex]
			if all[i].Dev == "" {
				all[i].Dev = "if" + strconv.Itoa(all[i].Ifindex)
			}
		}
	}
	want := make(map[uint64]bool, len(all))
	for _, k := range all {
		if k.Inode != 0 {
			want[k.Inode] = true
		}
	}
	owners, err := MapOwners(ctx, env, os.Getpid(), want)
	if err != nil {
		s.OwnersError = report.ErrorOf(err)
	}
	for i := range all {
		if o, ok := owners[all[i].Inode]; ok && all[i].Inode != 0 {
			all[i].PID, all[i].Comm = o.PID, o.Comm
		}
	}
	summarise(s, all)
	return s, nil
}

// dumpTable is dumpDiag; tests replace it to see the /proc/net fallback.
var dumpTable = dumpDiag

// readTable prefers sock_diag, which also gives the bound device, mark, v6only and TCP
// info; /proc/net is the fallback when netlink is refused (seccomp, no module).
func readTable(proc, table string) ([]Socket, Source) {
	socks, marks, err := dumpTable(table)
	if err == nil {
		return socks, Source{Via: "netlink", Marks: marks}
	}
	src := Source{Via: "proc", NetlinkError: report.ErrorOf(err)}
	b, rerr := os.ReadFile(filepath.Join(proc, "net", table))
	if rerr != nil {
		src.Error = report.ErrorOf(rerr)
		return nil, src
	}
	socks, perr := ParseProcNet(bytes.NewReader(b), table)
	if perr != nil {
		src.Error = report.ErrorOf(perr)
	}
	return socks, src
}
