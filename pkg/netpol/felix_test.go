package netpol

import (
	"bufio"
	"os"
	"regexp"
	"strings"
	"testing"
)

// The chains Felix made on the local cluster (ip netns exec netdiff-a iptables-save -c -t
// filter, with a Kubernetes NetworkPolicy of each direction, a Calico NetworkPolicy and a
// Calico GlobalNetworkPolicy applied): the first rule of each policy or profile chain
// carries the name Felix hashed into the chain's, as a comment ("Policy
// calico-h3-scratch/knp.default.db-ingress ingress"). Each name is turned back into the
// policy's kind, namespace and name, and FelixChain must give that chain's name.
func TestFelixChainNamesOnTheCluster(t *testing.T) {
	f, err := os.Open("testdata/felix-iptables-save.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rule := regexp.MustCompile(`-A (cali-p(?:i|o|ri|ro)-\S+) .*--comment "(Policy|Profile) (\S+) (ingress|egress)"`)
	kinds := map[string]int{}
	seen := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		m := rule.FindStringSubmatch(sc.Text())
		if m == nil || seen[m[1]] {
			continue
		}
		seen[m[1]] = true
		chain, what, name, dir := m[1], m[2], m[3], Direction(m[4])
		if what == "Profile" {
			prefix := FelixProfileEgressPrefix
			if dir == Ingress {
				prefix = FelixProfileIngressPrefix
			}
			if got := LengthLimitedID(prefix, name, felixMaxChainName); got != chain {
				t.Errorf("profile %s %s: chain %s, want %s", name, dir, got, chain)
			}
			kinds["profile"]++
			continue
		}
		var ref Ref
		ns, n, namespaced := strings.Cut(name, "/")
		switch {
		case !namespaced:
			ref = Ref{Kind: "Calico GlobalNetworkPolicy", Name: name}
		case strings.HasPrefix(n, knpPrefix):
			ref = Ref{Kind: "NetworkPolicy", Namespace: ns, Name: strings.TrimPrefix(n, knpPrefix)}
		default:
			ref = Ref{Kind: "Calico NetworkPolicy", Namespace: ns, Name: n}
		}
		if got := FelixChain(ref, dir); got != chain {
			t.Errorf("%s (%s): chain %s, want %s", ref, dir, got, chain)
		}
		kinds[ref.Kind+" "+string(dir)]++
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"NetworkPolicy ingress", "NetworkPolicy egress", "Calico NetworkPolicy egress", "Calico GlobalNetworkPolicy ingress", "profile"} {
		if kinds[k] == 0 {
			t.Errorf("no %s chain in the capture (found %v)", k, kinds)
		}
	}
}

func TestLengthLimitedID(t *testing.T) {
	for _, c := range []struct{ prefix, suffix, want string }{
		{"cali-pro-", "kns.kube-system", "cali-pro-kns.kube-system"}, // short: kept
		{"cali-pri-", "ksa.kube-system.coredns", "cali-pri-_u2Tn2rSoAPffvE7JO6"},
		{"cali-po-", "default/x", "cali-po-default/x"},
		// exactly 28 and starting with "_": hashed, so it cannot collide with a hash
		{"cali-po-", "_abcdefghijklmnopqrs", "cali-po-_9ym1uSjbAKyRLKe7BPq"},
		{"cali-po-", "abcdefghijklmnopqrst", "cali-po-abcdefghijklmnopqrst"}, // exactly 28: kept
	} {
		if got := LengthLimitedID(c.prefix, c.suffix, felixMaxChainName); got != c.want {
			t.Errorf("LengthLimitedID(%q, %q) = %q, want %q", c.prefix, c.suffix, got, c.want)
		}
	}
	if got := FelixChain(Ref{Kind: "AdminNetworkPolicy", Name: "x"}, Egress); got != "" {
		t.Errorf("a kind Felix does not program as a policy chain got %q", got)
	}
}
