package sockets

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/netdiff/kubectl-netdiff/pkg/probe"
	"github.com/netdiff/kubectl-netdiff/pkg/section"
)

// TestFallbackToProc: when sock_diag is refused every table comes from /proc/net, the
// section says so with the errno, and the summaries are built from what /proc gives.
func TestFallbackToProc(t *testing.T) {
	old := dumpTable
	t.Cleanup(func() { dumpTable = old })
	dumpTable = func(string) ([]Socket, bool, error) {
		return nil, false, errors.Join(errors.New("netlink sock_diag socket"), unix.EPROTONOSUPPORT)
	}
	v, err := (&Plugin{}).Collect(context.Background(), &probe.Env{Proc: "testdata/proc"})
	if err != nil {
		t.Fatal(err)
	}
	s := v.(*Section)
	for _, table := range Tables {
		src := s.Sources[table]
		if src.Via != "proc" || src.NetlinkError.Name() != "EPROTONOSUPPORT" || src.Error != nil {
			t.Errorf("%s: source %+v, want proc after EPROTONOSUPPORT", table, src)
		}
	}
	if s.Total != 12 || s.States["tcp6"]["LISTEN"] != 2 || s.States["raw6"]["UNCONN"] != 1 {
		t.Errorf("total %d, states %v", s.Total, s.States)
	}
	if s.Unowned != s.Total || len(s.Owners) != 0 {
		t.Errorf("a fixture proc has no processes: unowned %d of %d, owners %v", s.Unowned, s.Total, s.Owners)
	}
	raw, _ := json.Marshal(s)
	facts, err := section.Facts(Name, raw)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, f := range facts {
		got[f.Key] = f.Value
	}
	for k, want := range map[string]string{
		"source/tcp":       "proc",
		"state/udp/UNCONN": "1",
		"total":            "12",
	} {
		if got[k] != want {
			t.Errorf("fact %s = %q, want %q", k, got[k], want)
		}
	}
	// Without sock_diag, v6only is unknown and the listen facts say so rather than guess;
	// sockets nobody visible holds are still listeners.
	for k, want := range map[string]string{
		keyListen + "tcp/8080": reachMaybe6 + " [::] ((unknown))",
		keyListen + "udp/53":   reachV6 + " [fd00:63::1] ((unknown))",
		keyListen + "udp/5353": reachV4 + " 10.63.0.1 ((unknown))",
	} {
		if got[k] != want {
			t.Errorf("fact %s = %q, want %q", k, got[k], want)
		}
	}
}

// TestRequestLayout pins the inet_diag_req_v2 bytes the kernel reads.
func TestRequestLayout(t *testing.T) {
	b := diagRequest(unix.AF_INET6, unix.IPPROTO_TCP, 7)
	if len(b) != 16+56 {
		t.Fatalf("request of %d bytes, want 72", len(b))
	}
	r := b[16:]
	if r[0] != unix.AF_INET6 || r[1] != unix.IPPROTO_TCP || r[2] != extInfoBit || r[4] != 0xff || r[7] != 0xff {
		t.Errorf("request body % x", r[:8])
	}
}

// FuzzParseDiagReplies: whatever the kernel (or a corrupted buffer) sends, the parser
// returns, never panics. Seeds are replies built like the kernel's.
func FuzzParseDiagReplies(f *testing.F) {
	f.Add(diagReply(t4Msg()), "tcp")
	f.Add(diagReply(t4Msg(), doneMsg(0)), "udp6")
	f.Add(doneMsg(-2), "raw")
	f.Fuzz(func(t *testing.T, b []byte, table string) {
		_, socks, _, _ := ParseDiagReplies(b, table)
		for _, s := range socks {
			if s.Local == "" || s.State == "" {
				t.Fatalf("incomplete socket %+v", s)
			}
		}
	})
}

func TestParseDiagReplies(t *testing.T) {
	done, socks, marks, err := ParseDiagReplies(diagReply(t4Msg(), doneMsg(0)), "tcp")
	if err != nil || !done || !marks || len(socks) != 1 {
		t.Fatalf("done %v marks %v err %v socks %+v", done, marks, err, socks)
	}
	s := socks[0]
	if s.State != "SYN-SENT" || s.Local != "10.0.0.1:40000" || s.Remote != "10.0.0.2:443" || s.Ifindex != 3 ||
		s.UID != 1000 || s.Inode != 4242 || s.Mark != 0x2a || !s.Freebind || s.TCP == nil || s.TCP.Retransmits != 2 || s.TCP.RTTUs != 1500 {
		t.Errorf("decoded %+v tcp %+v", s, s.TCP)
	}
	if _, _, _, err := ParseDiagReplies(doneMsg(-2), "raw"); !errors.Is(err, errNoDiag) {
		t.Errorf("DONE with ENOENT: %v, want errNoDiag", err)
	}
}

var (
	ne = binary.NativeEndian
	be = binary.BigEndian
)

func nlmsg(typ uint16, body []byte) []byte {
	b := make([]byte, 16, 16+len(body)+3)
	ne.PutUint32(b[0:], uint32(16+len(body)))
	ne.PutUint16(b[4:], typ)
	b = append(b, body...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func doneMsg(errno int32) []byte {
	b := make([]byte, 4)
	ne.PutUint32(b, uint32(errno))
	return nlmsg(unix.NLMSG_DONE, b)
}

func attr(typ uint16, v []byte) []byte {
	b := make([]byte, 4, 4+len(v)+3)
	ne.PutUint16(b[0:], uint16(4+len(v)))
	ne.PutUint16(b[2:], typ)
	b = append(b, v...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

// t4Msg is a SYN-SENT IPv4 socket bound to ifindex 3 with mark 0x2a, freebind and tcp_info.
func t4Msg() []byte {
	m := make([]byte, sizeofMsg)
	m[0], m[1] = unix.AF_INET, 2
	be.PutUint16(m[4:], 40000)
	be.PutUint16(m[6:], 443)
	copy(m[8:], []byte{10, 0, 0, 1})
	copy(m[24:], []byte{10, 0, 0, 2})
	ne.PutUint32(m[40:], 3)
	ne.PutUint32(m[64:], 1000)
	ne.PutUint32(m[68:], 4242)
	mark := make([]byte, 4)
	ne.PutUint32(mark, 0x2a)
	info := make([]byte, 232)
	info[2] = 2
	ne.PutUint32(info[68:], 1500)
	m = append(m, attr(attrMark, mark)...)
	m = append(m, attr(attrSockopt, []byte{1 << 2, 0})...)
	m = append(m, attr(attrInfo, info)...)
	return nlmsg(unix.SOCK_DIAG_BY_FAMILY, m)
}

func diagReply(msgs ...[]byte) []byte {
	var b []byte
	for _, m := range msgs {
		b = append(b, m...)
	}
	return b
}
