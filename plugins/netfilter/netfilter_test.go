package netfilter

import (
	"encoding/binary"
	"flag"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"unsafe"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"

	"github.com/netdiff/kubectl-netdiff/internal/netnstest"
	"github.com/netdiff/kubectl-netdiff/internal/plugintest"
	"github.com/netdiff/kubectl-netdiff/pkg/contract"
	"github.com/netdiff/kubectl-netdiff/pkg/netstate"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
)

var update = flag.Bool("update", false, "rewrite testdata/ipt-filter-*.bin from the kernel")

func TestParseNames(t *testing.T) {
	b, err := os.ReadFile("testdata/ip_tables_targets")
	if err != nil {
		t.Fatal(err)
	}
	names := netstate.ParseNames(b, maxNames)
	if !slices.Contains(names, "REJECT") || !slices.Contains(names, "MASQUERADE") || !slices.IsSorted(names) {
		t.Errorf("targets = %v", names)
	}
	if strings.Count(string(b), "DNAT\n") < 2 || slices.Compact(slices.Clone(names)) == nil || len(slices.Compact(slices.Clone(names))) != len(names) {
		t.Errorf("names not de-duplicated: %v", names)
	}
	if got := netstate.ParseNames(nil, maxNames); len(got) != 0 {
		t.Errorf("empty file: %v", got)
	}
}

// blobFixture is one IPT_SO_GET_ENTRIES answer with the getinfo fields it needs.
type blobFixture struct {
	validHooks uint32
	underflow  [numHooks]uint32
	entries    []byte
}

// The fixture file is the 4+40 byte header (valid_hooks, underflow[5] as u32, pad) and the blob.
func (f blobFixture) encode() []byte {
	h := make([]byte, 24)
	binary.LittleEndian.PutUint32(h, f.validHooks)
	for i, u := range f.underflow {
		binary.LittleEndian.PutUint32(h[4+4*i:], u)
	}
	return append(h, f.entries...)
}

func decodeFixture(b []byte) (blobFixture, bool) {
	if len(b) < 24 {
		return blobFixture{}, false
	}
	f := blobFixture{validHooks: binary.LittleEndian.Uint32(b), entries: b[24:]}
	for i := range f.underflow {
		f.underflow[i] = binary.LittleEndian.Uint32(b[4+4*i:])
	}
	return f, true
}

// readFilter reads the raw filter table of the calling thread's namespace (which creates
// it there: this is test-only, the prober reads only tables that already exist).
func readFilter() (getinfo, []byte, error) { return readFilterOf(unix.AF_INET, unix.IPPROTO_IP) }

func readFilterOf(family, level int) (getinfo, []byte, error) {
	fd, err := unix.Socket(family, unix.SOCK_RAW, unix.IPPROTO_RAW)
	if err != nil {
		return getinfo{}, nil, err
	}
	defer unix.Close(fd)
	var info getinfo
	copy(info.Name[:], "filter")
	size := uint32(unsafe.Sizeof(info))
	if err := getsockopt(fd, level, soGetInfo, unsafe.Pointer(&info), &size); err != nil {
		return info, nil, err
	}
	buf := make([]byte, 40+int(info.Size))
	copy(buf, "filter")
	binary.NativeEndian.PutUint32(buf[32:], info.Size)
	blen := uint32(len(buf))
	if err := getsockopt(fd, level, soGetEntries, unsafe.Pointer(&buf[0]), &blen); err != nil {
		return info, nil, err
	}
	return info, buf[40:], nil
}

// plantLegacyReject replaces the (fresh) filter table with one holding a REJECT rule in
// OUTPUT, the way iptables-legacy -A OUTPUT -j REJECT would.
func plantLegacyReject() error {
	info, blob, err := readFilter()
	if err != nil {
		return err
	}
	const rejectSize = 112 + 40 // ipt_entry + XT_ALIGN(xt_entry_target + ipt_reject_info)
	out := info.Underflow[3]    // the OUTPUT policy entry: the rule goes before it
	rule := make([]byte, rejectSize)
	binary.NativeEndian.PutUint16(rule[88:], 112)        // target_offset
	binary.NativeEndian.PutUint16(rule[90:], rejectSize) // next_offset
	binary.NativeEndian.PutUint16(rule[112:], 40)        // target_size
	copy(rule[114:], "REJECT")                           // with = 0: icmp-net-unreachable
	entries := slices.Concat(blob[:out], rule, blob[out:])

	// struct ipt_replace: name[32], valid_hooks, num_entries, size, hook_entry[5],
	// underflow[5], num_counters, (pad), counters pointer, entries.
	rep := make([]byte, 96+len(entries))
	copy(rep, "filter")
	le := binary.NativeEndian
	le.PutUint32(rep[32:], info.ValidHooks)
	le.PutUint32(rep[36:], info.NumEntries+1)
	le.PutUint32(rep[40:], uint32(len(entries)))
	for h := 0; h < numHooks; h++ {
		// Entries at or after the insertion point move; OUTPUT's first rule is the new one.
		he, uf := info.HookEntry[h], info.Underflow[h]
		if he > out {
			he += rejectSize
		}
		if uf >= out {
			uf += rejectSize
		}
		le.PutUint32(rep[44+4*h:], he)
		le.PutUint32(rep[64+4*h:], uf)
	}
	le.PutUint32(rep[84:], info.NumEntries)
	counters := make([]byte, 16*info.NumEntries)
	le.PutUint64(rep[88:], uint64(uintptr(unsafe.Pointer(&counters[0]))))
	copy(rep[96:], entries)
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW, unix.IPPROTO_RAW)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	const iptSoSetReplace = 64
	_, _, e := unix.Syscall6(unix.SYS_SETSOCKOPT, uintptr(fd), unix.IPPROTO_IP, iptSoSetReplace, uintptr(unsafe.Pointer(&rep[0])), uintptr(len(rep)), 0)
	// The kernel reads counters through a pointer inside rep: keep it alive until here.
	runtime.KeepAlive(counters)
	if e != 0 {
		return e
	}
	return nil
}

// plantNft adds table inet netdiff_test with an output chain holding a reject and a drop rule.
func plantNft(t *testing.T, ns *netnstest.NS) {
	f, err := os.Open(filepath.Join("/run/netns", ns.Name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c, err := nftables.New(nftables.WithNetNSFd(int(f.Fd())))
	if err != nil {
		t.Fatal(err)
	}
	tbl := c.AddTable(&nftables.Table{Family: nftables.TableFamilyINet, Name: "netdiff_test"})
	accept := nftables.ChainPolicyAccept
	ch := c.AddChain(&nftables.Chain{Name: "output", Table: tbl, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookOutput, Priority: nftables.ChainPriorityFilter, Policy: &accept})
	c.AddRule(&nftables.Rule{Table: tbl, Chain: ch, Exprs: []expr.Any{&expr.Counter{}, &expr.Reject{Type: unix.NFT_REJECT_ICMPX_UNREACH, Code: unix.NFT_REJECT_ICMPX_NO_ROUTE}}})
	c.AddRule(&nftables.Rule{Table: tbl, Chain: ch, Exprs: []expr.Any{&expr.Verdict{Kind: expr.VerdictDrop}}})
	if err := c.Flush(); err != nil {
		t.Fatalf("plant nftables rules in %s: %v", ns.Name, err)
	}
}

func TestPlantedNetfilter(t *testing.T) {
	a, b := netnstest.New(t, "nfa"), netnstest.New(t, "nfb")
	plantNft(t, b)
	if err := b.Do(plantLegacyReject); err != nil {
		t.Fatalf("plant iptables REJECT: %v", err)
	}
	// An empty ip6tables filter table, to check the IPv6 entry layout against the kernel.
	if err := b.Do(func() error { _, _, err := readFilterOf(unix.AF_INET6, unix.IPPROTO_IPV6); return err }); err != nil {
		t.Fatalf("create ip6tables filter: %v", err)
	}
	// The kernel's own view of the planted table is the fixture for the parser.
	var info getinfo
	var blob []byte
	if err := b.Do(func() (err error) { info, blob, err = readFilter(); return err }); err != nil {
		t.Fatal(err)
	}
	fx := blobFixture{validHooks: info.ValidHooks, underflow: info.Underflow, entries: blob}
	if *update {
		if err := os.WriteFile("testdata/ipt-filter-reject.bin", fx.encode(), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	ra, rb := a.Collect("--quiet"), b.Collect("--quiet")
	var sa, sb Section
	netnstest.Section(t, ra, "netfilter", &sa)
	netnstest.Section(t, rb, "netfilter", &sb)
	if sa.Nftables.Error != nil || len(sa.Nftables.Tables) != 0 || len(sa.Iptables) != 0 {
		t.Errorf("a: nft %+v iptables %+v", sa.Nftables, sa.Iptables)
	}
	if n := sb.Nftables; n.Error != nil || len(n.Tables) != 1 || n.Tables[0].Rules != 2 || n.Tables[0].Actions["reject"] != 1 || n.Tables[0].Actions["drop"] != 1 {
		t.Errorf("b nftables: %+v", n)
	}
	if len(sb.Nftables.Chains) != 1 || sb.Nftables.Chains[0].Hook != "output" || sb.Nftables.Chains[0].Policy != "accept" {
		t.Errorf("b chains: %+v", sb.Nftables.Chains)
	}
	if !slices.Equal(sb.Visibility["ip_tables_names"].Names, []string{"filter"}) {
		t.Errorf("b ip_tables_names = %+v", sb.Visibility["ip_tables_names"])
	}
	if x := sb.Iptables["ipv4"]; len(x) != 1 || x[0].Error != nil || x[0].Rules != 1 || x[0].Targets["REJECT"] != 1 || x[0].Policies["OUTPUT"] != "ACCEPT" {
		t.Errorf("b iptables: %+v", x)
	}
	if x := sb.Iptables["ipv6"]; len(x) != 1 || x[0].Error != nil || x[0].Entries != 4 || x[0].Rules != 0 || x[0].Policies["FORWARD"] != "ACCEPT" {
		t.Errorf("b ip6tables: %+v", x)
	}
	t.Logf("netfilter section: a %d bytes, b %d bytes", len(ra.Sections["netfilter"]), len(rb.Sections["netfilter"]))

	fs := plugintest.Findings(t, "netfilter", []string{"pod-a", "pod-b"}, []*report.Report{ra, rb})
	want := map[string]contract.Severity{
		"legacy iptables tables differ (pod-a: (none), pod-b: filter, /proc/net/ip6_tables_names)":              contract.Medium,
		"pod-b has `nft add rule inet netdiff_test output reject with icmpx no-route` (pod-a has no such rule)": contract.High,
		"pod-b has `nft add rule inet netdiff_test output drop` (pod-a has no such rule)":                       contract.High,
		"pod-b's legacy iptables has 1 REJECT rule in ipv4/filter (pod-a: (none))":                              contract.High,
		"legacy iptables tables differ (pod-a: (none), pod-b: filter":                                           contract.Medium,
	}
	for prefix, sev := range want {
		if !slices.ContainsFunc(fs, func(f contract.Finding) bool { return strings.HasPrefix(f.Message, prefix) && f.Severity == sev }) {
			t.Errorf("no %v finding %q in %+v", sev, prefix, fs)
		}
	}

	// Without CAP_NET_ADMIN (a normal pod) the rules are refused, and the report says so.
	rep := b.CollectAs([]string{"setpriv", "--inh-caps", "-net_admin", "--bounding-set", "-net_admin"}, "--quiet")
	var s Section
	netnstest.Section(t, rep, "netfilter", &s)
	if s.Nftables.Error.Name() != "EPERM" || !strings.Contains(s.Note, "CAP_NET_ADMIN") {
		t.Errorf("without NET_ADMIN: nft error %v, note %q", s.Nftables.Error, s.Note)
	}
	if x := s.Iptables["ipv4"]; len(x) != 1 || x[0].Error.Name() != "EPERM" {
		t.Errorf("without NET_ADMIN: iptables %+v", x)
	}
	if !slices.Equal(s.Visibility["ip_tables_names"].Names, []string{"filter"}) {
		t.Errorf("table names must stay visible without NET_ADMIN: %+v", s.Visibility)
	}
}

func TestParseEntriesFixture(t *testing.T) {
	b, err := os.ReadFile("testdata/ipt-filter-reject.bin")
	if err != nil {
		t.Fatal(err)
	}
	fx, ok := decodeFixture(b)
	if !ok {
		t.Fatal("short fixture")
	}
	x, err := ParseEntries(fx.entries, layout4, fx.validHooks, fx.underflow)
	if err != nil {
		t.Fatal(err)
	}
	if x.Entries != 5 || x.Rules != 1 || x.UserChains != 0 || x.Targets["REJECT"] != 1 ||
		len(x.Policies) != 3 || x.Policies["INPUT"] != "ACCEPT" {
		t.Errorf("parsed %+v", x)
	}
	if _, err := ParseEntries(fx.entries[:len(fx.entries)-1], layout4, fx.validHooks, fx.underflow); err == nil {
		t.Error("truncated blob accepted")
	}
}

func FuzzParseEntries(f *testing.F) {
	b, err := os.ReadFile("testdata/ipt-filter-reject.bin")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		fx, ok := decodeFixture(b)
		if !ok {
			return
		}
		x, err := ParseEntries(fx.entries, layout4, fx.validHooks, fx.underflow)
		if err == nil && x.Rules > x.Entries {
			t.Fatalf("%d rules of %d entries", x.Rules, x.Entries)
		}
	})
}

func FuzzParseNames(f *testing.F) {
	for _, n := range []string{"ip_tables_targets", "ip_tables_matches", "ip6_tables_targets"} {
		b, _ := os.ReadFile(filepath.Join("testdata", n))
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if n := netstate.ParseNames(b, maxNames); len(n) > maxNames || !slices.IsSorted(n) {
			t.Fatalf("%d names, sorted %v", len(n), slices.IsSorted(n))
		}
	})
}
