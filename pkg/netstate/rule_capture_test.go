package netstate

import (
	"bytes"
	"encoding/binary"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/netdiff/kubectl-netdiff/internal/netnstest"
)

var update = flag.Bool("update", false, "recapture testdata/*.nldump from real namespaces")

// rawDump returns the kernel's RTM_GETRULE dump for one family, netlink headers included.
func rawDump(family uint8) ([]byte, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	req := make([]byte, unix.SizeofNlMsghdr+ruleHdrLen)
	ne := binary.NativeEndian
	ne.PutUint32(req[0:], uint32(len(req)))
	ne.PutUint16(req[4:], unix.RTM_GETRULE)
	ne.PutUint16(req[6:], unix.NLM_F_REQUEST|unix.NLM_F_DUMP)
	ne.PutUint32(req[8:], 1)
	req[unix.SizeofNlMsghdr] = family
	if err := unix.Sendto(fd, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	buf := make([]byte, 1<<16)
	for {
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			return nil, err
		}
		out.Write(buf[:n])
		msgs := buf[:n]
		for len(msgs) >= unix.SizeofNlMsghdr {
			l := int(ne.Uint32(msgs))
			if ne.Uint16(msgs[4:]) == unix.NLMSG_DONE {
				return out.Bytes(), nil
			}
			if l < unix.SizeofNlMsghdr || l > len(msgs) {
				break
			}
			msgs = msgs[(l+3)&^3:]
		}
	}
}

// TestCaptureFixtures rewrites the fixtures with -update: one dump of a namespace with
// every selector planted, per family.
func TestCaptureFixtures(t *testing.T) {
	if !*update {
		t.Skip("run with -update to recapture fixtures")
	}
	ns := netnstest.New(t, "rulecap")
	netnstest.Veth(t, ns, "10.74.0.1/24", netnstest.New(t, "rulecap2"), "10.74.0.2/24")
	for _, args := range [][]string{
		{"rule", "add", "priority", "100", "ipproto", "tcp", "dport", "8081", "table", "100"},
		{"rule", "add", "priority", "110", "from", "10.74.0.0/24", "to", "192.0.2.0/24", "tos", "0x10", "table", "110"},
		{"rule", "add", "priority", "120", "fwmark", "0x1/0xff", "iif", "veth0", "lookup", "main", "suppress_prefixlength", "0"},
		{"rule", "add", "priority", "130", "not", "oif", "veth0", "ipproto", "udp", "sport", "1000-2000", "prohibit"},
		{"rule", "add", "priority", "140", "uidrange", "1000-1999", "unreachable"},
		{"rule", "add", "priority", "150", "fwmark", "0x2", "blackhole"},
		{"rule", "add", "priority", "160", "to", "198.51.100.7", "goto", "32766"},
		{"-6", "rule", "add", "priority", "100", "from", "fd74::/64", "ipproto", "tcp", "dport", "443", "table", "200"},
		{"-6", "rule", "add", "priority", "110", "uidrange", "0-0", "unreachable"},
	} {
		ns.IP(args...)
	}
	for fam, file := range map[uint8]string{unix.AF_INET: "planted-ipv4.nldump", unix.AF_INET6: "planted-ipv6.nldump"} {
		var b []byte
		if err := ns.Do(func() (err error) { b, err = rawDump(fam); return err }); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join("testdata", file), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The host's own rules, read only: what an unmodified system dumps.
	b, err := rawDump(unix.AF_INET)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("testdata", "host-ipv4.nldump"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}
