package dnsconfig

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/netdiff/kubectl-netdiff/internal/netnstest"
	"github.com/netdiff/kubectl-netdiff/internal/plugintest"
	"github.com/netdiff/kubectl-netdiff/pkg/probe"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
)

func TestParseHosts(t *testing.T) {
	es, err := ParseHosts(bytes.NewReader(plugintest.Fixture(t, "hosts-k8s")))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, e := range es {
		got[e.Name] = e.Addrs
	}
	for name, want := range map[string][]string{
		"localhost":                     {"127.0.0.1", "::1"},
		"ip6-localnet":                  {"fe00::"},
		"homeassistant-6c9f7d8b5-x2x9q": {"10.1.63.136"},
		"ccu3":                          {"10.1.2.3"},
	} {
		if !reflect.DeepEqual(got[name], want) {
			t.Errorf("%s = %v, want %v", name, got[name], want)
		}
	}
	if len(es) != 10 {
		t.Errorf("%d names, want 10", len(es))
	}
	es, _ = ParseHosts(bytes.NewReader(plugintest.Fixture(t, "hosts-host")))
	if len(es) != 3 || es[1].Name != "runsc" {
		t.Errorf("host fixture: %+v", es)
	}
}

func TestParseNsswitch(t *testing.T) {
	m, err := ParseNsswitch(bytes.NewReader(plugintest.Fixture(t, "nsswitch-debian.conf")))
	if err != nil {
		t.Fatal(err)
	}
	if m["hosts"] != "files dns" || m["passwd"] != "files systemd" || m["netgroup"] != "nis" {
		t.Errorf("nsswitch = %v", m)
	}
}

func TestParseGai(t *testing.T) {
	g, err := ParseGai(bytes.NewReader(plugintest.Fixture(t, "gai-debian.conf")))
	if err != nil {
		t.Fatal(err)
	}
	if g.Prefers() != "ipv6" || g.PrecedenceString() != "default" {
		t.Errorf("debian gai.conf (all comments): prefers %s, precedence %s", g.Prefers(), g.PrecedenceString())
	}
	g, _ = ParseGai(bytes.NewReader(plugintest.Fixture(t, "gai-ipv4first.conf")))
	if g.Prefers() != "ipv4" || g.PrecedenceString() != "::ffff:0.0.0.0/96=100" {
		t.Errorf("ipv4-first gai.conf: prefers %s, precedence %s", g.Prefers(), g.PrecedenceString())
	}
	var none *Gai
	if none.Prefers() != "ipv6" {
		t.Error("no gai.conf must mean the RFC 3484 default, IPv6 first")
	}
}

func seed(f *testing.F, prefix string) {
	files, _ := filepath.Glob(filepath.Join("testdata", prefix+"*"))
	for _, p := range files {
		b, _ := os.ReadFile(p)
		f.Add(b)
	}
}

func FuzzParseHosts(f *testing.F) {
	seed(f, "hosts")
	f.Fuzz(func(t *testing.T, b []byte) {
		es, err := ParseHosts(bytes.NewReader(b))
		if err != nil {
			return
		}
		for _, e := range es {
			if e.Name == "" || len(e.Addrs) == 0 || e.Name != strings.ToLower(e.Name) {
				t.Fatalf("bad entry %+v", e)
			}
		}
	})
}

func FuzzParseNsswitch(f *testing.F) {
	seed(f, "nsswitch")
	f.Fuzz(func(t *testing.T, b []byte) { _, _ = ParseNsswitch(bytes.NewReader(b)) })
}

func FuzzParseGai(f *testing.F) {
	seed(f, "gai")
	f.Fuzz(func(t *testing.T, b []byte) {
		g, err := ParseGai(bytes.NewReader(b))
		if err == nil && g.Prefers() != "ipv4" && g.Prefers() != "ipv6" {
			t.Fatal(g.Prefers())
		}
	})
}

func TestReadRecordsMissingFilesAndProcess(t *testing.T) {
	proc := t.TempDir()
	etc := filepath.Join(proc, "7", "root", "etc")
	if err := os.MkdirAll(etc, 0o755); err != nil {
		t.Fatal(err)
	}
	for dst, src := range map[string]string{"resolv.conf": "resolv-host.conf", "hosts": "hosts-k8s"} {
		if err := os.WriteFile(filepath.Join(etc, dst), plugintest.Fixture(t, src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s := Read(proc, 7)
	if s.ResolvConf.Error != nil || !slices.Equal(s.ResolvConf.Nameservers, []string{"10.255.255.53"}) {
		t.Errorf("resolv.conf: %+v", s.ResolvConf)
	}
	if s.Nsswitch.Error.Name() != "ENOENT" || s.Gai.Error.Name() != "ENOENT" || s.Gai.Prefers != "ipv6" {
		t.Errorf("missing files: nsswitch %v gai %v prefers %s", s.Nsswitch.Error, s.Gai.Error, s.Gai.Prefers)
	}
	gone := Read(proc, 8)
	if gone.ResolvConf.Error.Name() != "ENOENT" || gone.Hosts.Error.Name() != "ENOENT" {
		t.Errorf("absent process: %+v", gone)
	}
	targets := (&Plugin{}).DefaultTargets(context.Background(), &probe.Env{Proc: proc, PID: 7, Logf: t.Logf})
	if len(targets) != 1 || targets[0].String() != "tcp://10.255.255.53:53" {
		t.Errorf("default targets = %v", targets)
	}
}

// plantEtc writes files that `ip netns exec NS` bind-mounts over /etc in the mount
// namespace of what it runs, so a process started that way sees them as its /etc.
func plantEtc(t *testing.T, ns *netnstest.NS, files map[string]string) {
	dir := filepath.Join("/etc/netns", ns.Name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// startTarget starts a sleeping process in ns and waits until it has exec'd (its /proc
// entry then shows the namespace's /etc).
func startTarget(t *testing.T, ns *netnstest.NS) int {
	pid := ns.Start("sleep", "300").Process.Pid
	for i := 0; i < 200; i++ {
		if b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm"); strings.TrimSpace(string(b)) == "sleep" {
			return pid
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("pid %d never became sleep", pid)
	return 0
}

// TestPlantedDNSConfig gives two namespaces different resolv.conf, hosts and gai.conf as
// their target processes see them, and probes each other's address as nameserver.
func TestPlantedDNSConfig(t *testing.T) {
	a, b := netnstest.New(t, "dnsa"), netnstest.New(t, "dnsb")
	netnstest.Veth(t, a, "10.199.2.1/24", b, "10.199.2.2/24")
	plantEtc(t, a, map[string]string{
		"resolv.conf": "nameserver 10.199.2.2\n",
		"hosts":       "127.0.0.1 localhost\n",
	})
	plantEtc(t, b, map[string]string{
		"resolv.conf": "search ns1.svc.cluster.local svc.cluster.local\nnameserver 10.199.2.1\noptions ndots:5\n",
		"hosts":       "127.0.0.1 localhost\n10.199.2.9 ccu3.local\n",
		"gai.conf":    "precedence ::ffff:0:0/96 100\n",
	})
	pa, pb := startTarget(t, a), startTarget(t, b)
	ra, rb := a.Collect("--pid", strconv.Itoa(pa)), b.Collect("--pid", strconv.Itoa(pb))

	var sa, sb Section
	netnstest.Section(t, ra, "dnsconfig", &sa)
	netnstest.Section(t, rb, "dnsconfig", &sb)
	if !slices.Equal(sb.ResolvConf.Nameservers, []string{"10.199.2.1"}) || sb.ResolvConf.Ndots() != 5 || len(sb.ResolvConf.Search) != 2 {
		t.Errorf("b resolv.conf through /proc/%d/root: %+v", pb, sb.ResolvConf)
	}
	if !slices.Equal(sa.ResolvConf.Nameservers, []string{"10.199.2.2"}) {
		t.Errorf("a resolv.conf: %+v", sa.ResolvConf)
	}
	if sb.Gai.Prefers != "ipv4" || sa.Gai.Prefers != "ipv6" {
		t.Errorf("gai prefers a=%s b=%s", sa.Gai.Prefers, sb.Gai.Prefers)
	}
	if !slices.Contains(rb.Targets, "tcp://10.199.2.1:53") {
		t.Errorf("b default targets %v lack its nameserver", rb.Targets)
	}
	t.Logf("dnsconfig section: %d bytes", len(rb.Sections["dnsconfig"]))

	var msgs []string
	for _, f := range plugintest.Findings(t, "dnsconfig", []string{"pod-a", "pod-b"}, []*report.Report{ra, rb}) {
		msgs = append(msgs, f.Message)
	}
	all := strings.Join(msgs, "\n")
	for _, want := range []string{
		"different nameservers: pod-a: 10.199.2.2, pod-b: 10.199.2.1",
		"pod-b's resolv.conf has `options ndots:5` (pod-a: no ndots option (ndots:1))",
		"pod-b's resolv.conf has `search ns1.svc.cluster.local svc.cluster.local`",
		"ccu3.local (pod-a: -, pod-b: 10.199.2.9)",
		"getaddrinfo sorts a different family first (pod-a: ipv6, pod-b: ipv4",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("no finding with %q in:\n%s", want, all)
		}
	}
}
