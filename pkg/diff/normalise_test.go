package diff

import (
	"regexp"
	"strings"
	"testing"
)

var (
	idA = Identity{IPs: []string{"10.0.0.1", "fd00::1/64", "fe80::a"}, MACs: []string{"0A:58:0A:00:00:01"}, Hostname: "pod-a", Names: []string{"veth1234", "lo"}}
	idB = Identity{IPs: []string{"10.0.0.2/24", "fd00::2"}, MACs: []string{"0a:58:0a:00:00:02"}, Hostname: "pod-b"}
	idC = Identity{IPs: []string{"10.0.0.3"}, Hostname: "pod-c"}
)

func TestNormalise(t *testing.T) {
	two := NewNormaliser([]string{"a", "b"}, []Identity{idA, idB}, 0)
	tests := []struct{ in, want string }{
		{"", ""},
		{"10.0.0.1", "<self>"},
		{"10.0.0.2", "<peer>"},
		{"10.0.0.12", "10.0.0.12"},
		{"110.0.0.1", "110.0.0.1"},
		{"10.0.0.1.5", "10.0.0.1.5"},
		{"10.0.0.1x", "10.0.0.1x"},
		{"x10.0.0.1", "x10.0.0.1"},
		{"cafe10.0.0.1", "cafe10.0.0.1"},
		{"10.0.0.1.nip.io", "10.0.0.1.nip.io"},
		{"10.0.0.1/32", "<self>/32"},
		{"10.0.0.0/24", "10.0.0.0/24"},
		{"tcp://10.0.0.1:80", "tcp://<self>:80"},
		{"udp:10.0.0.2:53", "udp:<peer>:53"},
		{"[10.0.0.1]", "[<self>]"},
		{"10.0.0.1:", "<self>:"},
		{"src 10.0.0.1.", "src <self>."},
		{"10.0.0.1,10.0.0.2", "<self>,<peer>"},
		{"10.0.0.1 10.0.0.1", "<self> <self>"},
		{"via 10.0.0.254 dev eth0 mtu 1450", "via 10.0.0.254 dev eth0 mtu 1450"},
		{"fd00::1", "<self>"},
		{"FD00:0::1", "<self>"},
		{"fd00:0:0:0:0:0:0:1", "<self>"},
		{"[fd00:0:0:0:0:0:0:1]:80", "[<self>]:80"},
		{"fd00::1/128", "<self>/128"},
		{"fd00::10", "fd00::10"},
		{"fd00::1:80", "fd00::1:80"},
		{"fd00::1x", "fd00::1x"},
		{"fd00::2 via fe80::a", "<peer> via <self>"},
		{"fe80::a%eth0", "<self>%eth0"},
		{"udp:fd00::2", "udp:<peer>"},
		{"::ffff:10.0.0.1", "::ffff:<self>"},
		{"64:ff9b::10.0.0.1", "64:ff9b::10.0.0.1"},
		{"lladdr 0A:58:0A:00:00:01 REACHABLE", "lladdr <self-mac> REACHABLE"},
		{"0a:58:0a:00:00:02", "<peer-mac>"},
		{"gw 0a:58:0a:00:00:09", "gw 0a:58:0a:00:00:09"},
		{"0a:58:0a:00:00:01:ff", "0a:58:0a:00:00:01:ff"},
		{"pod-a", "<hostname>"},
		{"pod-a.ns.svc.cluster.local", "<hostname>.ns.svc.cluster.local"},
		{"pod-ab", "pod-ab"},
		{"my-pod-a", "my-pod-a"},
		{"pod-b", "<peer-hostname>"},
		{"veth1234@if3", "<self-name>@if3"},
		{"lo", "lo"}, // too short to be an identity
		{"10.0.0.1 pod-a # 10.0.0.12", "<self> <hostname> # 10.0.0.12"},
		{"12:30:45.123", "12:30:45.123"},
		{"héllo10.0.0.1", "héllo10.0.0.1"},
	}
	for _, tt := range tests {
		if got := two.Normalise(tt.in); got != tt.want {
			t.Errorf("Normalise(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestNormaliseManySubjects(t *testing.T) {
	subjects := []string{"a", "b", "c"}
	ids := []Identity{idA, idB, idC}
	tests := []struct {
		self    int
		in, out string
	}{
		{0, "10.0.0.2 10.0.0.3 10.0.0.1", "<peer:b> <peer:c> <self>"},
		{1, "10.0.0.1 pod-c 0a:58:0a:00:00:01", "<peer:a> <peer-hostname:c> <peer-mac:a>"},
		{2, "10.0.0.3", "<self>"},
	}
	for _, tt := range tests {
		if got := NewNormaliser(subjects, ids, tt.self).Normalise(tt.in); got != tt.out {
			t.Errorf("self=%d Normalise(%q) = %q, want %q", tt.self, tt.in, got, tt.out)
		}
	}
}

// A value that belongs to both subjects (host-network pods share the node's addresses)
// is each one's own.
func TestNormaliseSharedIdentity(t *testing.T) {
	host := Identity{IPs: []string{"192.0.2.10"}, Hostname: "node-1"}
	ids := []Identity{host, host}
	for self := range ids {
		if got := NewNormaliser([]string{"a", "b"}, ids, self).Normalise("192.0.2.10 node-1"); got != "<self> <hostname>" {
			t.Errorf("self=%d: got %q", self, got)
		}
	}
}

func TestNormaliseNoIdentity(t *testing.T) {
	n := NewNormaliser([]string{"a", "b"}, []Identity{{}, {}}, 0)
	if got := n.Normalise("10.0.0.1"); got != "10.0.0.1" {
		t.Errorf("got %q", got)
	}
	var nilN *Normaliser
	if got := nilN.Normalise("x"); got != "x" {
		t.Errorf("nil normaliser changed the string: %q", got)
	}
}

var identityToken = regexp.MustCompile(`(^|[^0-9A-Za-z_.:\-\x{80}-\x{10FFFF}])(10\.0\.0\.1|10\.0\.0\.2|pod-a|pod-b)($|[^0-9A-Za-z_.:\-\x{80}-\x{10FFFF}])`)

func FuzzNormalise(f *testing.F) {
	for _, s := range []string{"10.0.0.1", "tcp://10.0.0.2:80", "[fd00::1]:53", "::ffff:10.0.0.1",
		"0a:58:0a:00:00:01", "pod-a.ns", "veth1234@if3", "10.0.0.1/32 via 10.0.0.254", "fd00::1:", ":10.0.0.1:"} {
		f.Add(s)
	}
	n := NewNormaliser([]string{"a", "b"}, []Identity{idA, idB}, 0)
	f.Fuzz(func(t *testing.T, s string) {
		out := n.Normalise(s)
		if again := n.Normalise(out); again != out {
			t.Errorf("not idempotent: %q -> %q -> %q", s, out, again)
		}
		// Nothing identity-like in, nothing changed out.
		if !strings.ContainsAny(s, ":.") && !strings.Contains(s, "pod-") && !strings.Contains(s, "veth1234") && out != s {
			t.Errorf("changed a string without identity tokens: %q -> %q", s, out)
		}
		// A cleanly delimited identity never survives.
		if m := identityToken.FindString(" " + out + " "); m != "" {
			t.Errorf("identity token survived: %q -> %q (%q)", s, out, m)
		}
	})
}

// A rule that builds a row key from a section it decoded names the row the diff made.
func TestNormaliseForNamesTheRow(t *testing.T) {
	ids := []Identity{{IPs: []string{"10.9.0.5"}}, {IPs: []string{"10.9.0.6"}}}
	c := &Comparison{Subjects: []string{"a", "b"}, Identities: ids, Normalise: NormaliseFunc([]string{"a", "b"}, ids)}
	if got := c.NormaliseFor(0, "tcp/nonblocking/tcp://10.9.0.6:8080/ipv4"); got != "tcp/nonblocking/tcp://<peer>:8080/ipv4" {
		t.Errorf("NormaliseFor(0) = %q", got)
	}
	if got := c.NormaliseFor(1, "tcp://10.9.0.6:8080"); got != "tcp://<self>:8080" {
		t.Errorf("NormaliseFor(1) = %q", got)
	}
	if got := c.NormaliseFor(5, "x"); got != "x" {
		t.Errorf("out of range: %q", got)
	}
}
