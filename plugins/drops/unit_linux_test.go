package drops

import (
	"net/netip"
	"testing"
)

func TestResolveNamesTheHoldingSymbol(t *testing.T) {
	got, how := resolve("testdata/kallsyms", []uint64{0xffffffff81a00010, 0xffffffff81b00410, 0xffffffffc0000044, 0xffffffff81d00001, 0xffffffff80000000})
	want := map[uint64]string{0xffffffff81a00010: "nf_hook_slow", 0xffffffff81b00410: "ip_local_out",
		0xffffffffc0000044: "nft_do_chain", 0xffffffff81d00001: "ip_forward"}
	if how != "kallsyms" || len(got) != len(want) {
		t.Fatalf("resolve = %v, %q", got, how)
	}
	for a, n := range want {
		if got[a] != n {
			t.Errorf("%x = %q, want %q", a, got[a], n)
		}
	}
	hidden := t.TempDir() + "/kallsyms"
	writeFile(t, hidden, "0000000000000000 T _stext\n0000000000000000 T nf_hook_slow\n")
	if got, how := resolve(hidden, []uint64{1}); len(got) != 0 || how == "kallsyms" {
		t.Errorf("hidden addresses: %v, %q", got, how)
	}
}

func TestNetfilterHookFromTheStack(t *testing.T) {
	for stack, want := range map[string]string{
		"nf_hook_slow __ip_local_out ip_local_out": "output",
		"nft_do_chain nf_hook_slow ip_forward":     "forward",
		"nf_hook_slow ip_local_deliver ip_rcv":     "input",
		"nf_hook_slow br_handle_frame":             "bridge",
		"nf_hook_slow tcp_v4_rcv":                  "",
	} {
		if got := netfilterHook(splitWords(stack)); got != want {
			t.Errorf("%s: %q, want %q", stack, got, want)
		}
	}
}

// The port stays on the side that serves: the remote's for the pod's own connects, the
// pod's own for a connect into it; ephemeral ports are folded away.
func TestDropFoldsEphemeralPorts(t *testing.T) {
	pod, srv := netip.MustParseAddr("10.41.0.3"), netip.MustParseAddr("10.41.9.2")
	w := &watch{roles: map[uint32]string{7: "pod"}, pod: map[netip.Addr]bool{pod: true}, ports: map[int]bool{8080: true}, reasons: map[uint32]string{2: "NETFILTER_DROP"}}
	key := func(s, d netip.Addr, sp, dp uint16) raw {
		var r raw
		r.k.Netns, r.k.Family, r.k.Proto, r.k.Reason = 7, 4, 6, 2
		a, b := s.As4(), d.As4()
		copy(r.k.Saddr[:], a[:])
		copy(r.k.Daddr[:], b[:])
		r.k.Sport, r.k.Dport = sp, dp
		r.v.Count = 3
		return r
	}
	for _, tc := range []struct {
		r    raw
		want string
	}{
		{key(pod, srv, 40123, 8080), "pod/tcp/10.41.0.3->10.41.9.2:8080/NETFILTER_DROP@?"},
		{key(srv, pod, 8080, 40123), "pod/tcp/10.41.9.2:8080->10.41.0.3/NETFILTER_DROP@?"},
		{key(srv, pod, 51000, 8080), "pod/tcp/10.41.9.2->10.41.0.3:8080/NETFILTER_DROP@?"},
		{key(pod, srv, 33000, 5432), "pod/tcp/10.41.0.3->10.41.9.2:5432/NETFILTER_DROP@?"},
	} {
		if got := w.drop(tc.r, nil).Key(); got != tc.want {
			t.Errorf("key = %s, want %s", got, tc.want)
		}
	}
}

// A pod's own chatter (router solicitations, neighbour discovery, multicast) is no probe's flow.
func TestProbeFlow(t *testing.T) {
	mk := func(src, dst string) dropsDropKey {
		var k dropsDropKey
		s, d := netip.MustParseAddr(src), netip.MustParseAddr(dst)
		k.Family = 6
		if s.Is4() {
			k.Family = 4
			a, b := s.As4(), d.As4()
			copy(k.Saddr[:], a[:])
			copy(k.Daddr[:], b[:])
		} else {
			k.Saddr, k.Daddr = s.As16(), d.As16()
		}
		return k
	}
	for _, tc := range []struct {
		src, dst string
		want     bool
	}{
		{"10.0.0.2", "10.96.0.1", true},
		{"fd00::2", "fd00::1", true},
		{"fe80::1", "ff02::2", false},
		{"fd00::2", "ff02::16", false},
		{"10.0.0.2", "224.0.0.251", false},
		{"10.0.0.2", "255.255.255.255", false},
	} {
		if got := probeFlow(mk(tc.src, tc.dst)); got != tc.want {
			t.Errorf("%s -> %s: %v, want %v", tc.src, tc.dst, got, tc.want)
		}
	}
}
