package sysctls

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netdiff/kubectl-netdiff/internal/netnstest"
	"github.com/netdiff/kubectl-netdiff/internal/plugintest"
	"github.com/netdiff/kubectl-netdiff/pkg/contract"
	"github.com/netdiff/kubectl-netdiff/pkg/netstate"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
)

func TestWalkFixture(t *testing.T) {
	s, err := Walk(context.Background(), "testdata/proc/sys")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"net/ipv4/ip_local_port_range":              "32768 60999",
		"net/ipv4/tcp_rmem":                         "4096 131072 33554432",
		"net/ipv4/conf/lo/rp_filter":                "0",
		"net/ipv4/tcp_available_congestion_control": "reno bbr cubic",
		"net/netfilter/nf_conntrack_max":            "262144",
	}
	for k, v := range want {
		if s.Values[k] != v {
			t.Errorf("%s = %q, want %q", k, s.Values[k], v)
		}
	}
	if s.Total != 12 || len(s.Values) != 12 || s.Truncated {
		t.Errorf("total %d values %d truncated %v, want 12/12/false", s.Total, len(s.Values), s.Truncated)
	}
}

func TestWalkRealProcRecordsUnreadable(t *testing.T) {
	if _, err := os.Stat("/proc/sys/net/ipv4/route/flush"); err != nil {
		t.Skip("no /proc/sys/net/ipv4/route/flush here")
	}
	s, err := Walk(context.Background(), "/proc/sys")
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Errors["net/ipv4/route/flush"]; got != "EACCES" {
		t.Errorf("write-only route/flush: error %q, want EACCES", got)
	}
	if _, ok := s.Values["net/ipv4/ip_forward"]; !ok {
		t.Error("net/ipv4/ip_forward missing")
	}
	if v, ok := s.Values["net/ipv4/tcp_fastopen_key"]; ok && v != Redacted {
		t.Errorf("tcp_fastopen_key printed: %q", v)
	}
}

func TestCanonical(t *testing.T) {
	for _, tt := range []struct {
		in    string
		limit int
		want  string
	}{
		{"1\n", 100, "1"},
		{"32768\t60999\n", 100, "32768 60999"},
		{"a\nb\n\n", 100, "a b"},
		{"", 100, ""},
		{"0123456789", 5, "01234 …(truncated)"},
	} {
		if got := netstate.SysctlValue([]byte(tt.in), tt.limit); got != tt.want {
			t.Errorf("SysctlValue(%q, %d) = %q, want %q", tt.in, tt.limit, got, tt.want)
		}
	}
}

func FuzzCanonical(f *testing.F) {
	filepath.WalkDir("testdata/proc", func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := os.ReadFile(p)
			f.Add(b)
		}
		return nil
	})
	f.Fuzz(func(t *testing.T, b []byte) {
		v := netstate.SysctlValue(b, maxValueBytes)
		if strings.ContainsAny(v, "\n\t") || strings.Contains(v, "  ") {
			t.Fatalf("not canonical: %q", v)
		}
		if len(b) <= maxValueBytes && netstate.SysctlValue([]byte(v), maxValueBytes) != v {
			t.Fatalf("not idempotent: %q", v)
		}
	})
}

// TestPlantedSysctls changes two connect-relevant sysctls in one namespace and expects the
// real prober to report them and the rule to call them out as High.
func TestPlantedSysctls(t *testing.T) {
	a, b := netnstest.New(t, "sysa"), netnstest.New(t, "sysb")
	b.Exec("sysctl", "-q", "-w", "net.ipv4.conf.all.rp_filter=2")
	b.Exec("sysctl", "-q", "-w", "net.ipv4.ip_local_port_range=40000 40100")
	ra, rb := a.Collect(), b.Collect()

	var sa, sb Section
	netnstest.Section(t, ra, "sysctls", &sa)
	netnstest.Section(t, rb, "sysctls", &sb)
	if sa.Values["net/ipv4/conf/all/rp_filter"] == "2" || sb.Values["net/ipv4/conf/all/rp_filter"] != "2" {
		t.Errorf("rp_filter a=%q b=%q, want b=2", sa.Values["net/ipv4/conf/all/rp_filter"], sb.Values["net/ipv4/conf/all/rp_filter"])
	}
	if got := sb.Values["net/ipv4/ip_local_port_range"]; got != "40000 40100" {
		t.Errorf("b ip_local_port_range = %q", got)
	}
	if sb.Errors["net/ipv4/route/flush"] != "EACCES" {
		t.Errorf("route/flush error = %q, want EACCES", sb.Errors["net/ipv4/route/flush"])
	}
	size := len(rb.Sections["sysctls"])
	t.Logf("sysctls section: %d values, %d errors, %d bytes", len(sb.Values), len(sb.Errors), size)
	if size > 96*1024 {
		t.Errorf("sysctls section is %d bytes in a bare namespace; keep the report small", size)
	}

	found := map[string]contract.Finding{}
	for _, f := range plugintest.Findings(t, "sysctls", []string{"pod-a", "pod-b"}, []*report.Report{ra, rb}) {
		for _, k := range f.Keys {
			found[k] = f
		}
	}
	for _, k := range []string{"sysctls/net/ipv4/conf/all/rp_filter", "sysctls/net/ipv4/ip_local_port_range"} {
		f, ok := found[k]
		if !ok {
			t.Errorf("no finding for %s; findings: %+v", k, found)
			continue
		}
		if f.Severity != contract.High || !strings.Contains(f.Message, "pod-b: ") {
			t.Errorf("finding for %s: %+v", k, f)
		}
	}
	if len(found) > 4 {
		b, _ := json.MarshalIndent(found, "", " ")
		t.Errorf("two planted sysctls gave %d findings:\n%s", len(found), b)
	}
}

func TestConntrackFull(t *testing.T) {
	c := &contract.Comparison{Subjects: []string{"a", "b"}, Rows: []contract.Row{
		{Section: "sysctls", Key: "net/netfilter/nf_conntrack_count", Values: []string{"10", "950"}, Missing: []bool{false, false}},
		{Section: "sysctls", Key: "net/netfilter/nf_conntrack_max", Values: []string{"1000", "1000"}, Missing: []bool{false, false}, Equal: true},
	}}
	got := conntrackFull(c)
	if len(got) != 1 || !strings.HasPrefix(got[0].Message, "b: conntrack table is 950/1000") {
		t.Errorf("conntrackFull = %+v", got)
	}
	c.Rows = c.Rows[:1]
	if got := conntrackFull(c); got != nil {
		t.Errorf("without max: %+v", got)
	}
}

func TestWalkCapsInterfaces(t *testing.T) {
	root := t.TempDir()
	var names []string
	for i := 0; i < MaxInterfaces+3; i++ {
		names = append(names, fmt.Sprintf("veth%02d", i))
	}
	names = append(names, "all", "lo")
	for _, ifc := range names {
		for _, dir := range []string{"net/ipv4/conf/" + ifc, "net/ipv6/neigh/" + ifc} {
			if err := os.MkdirAll(filepath.Join(root, dir), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(root, dir, "mtu"), []byte("1500\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	s, err := Walk(context.Background(), root)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.SkippedInterfaces) != 3 || s.SkippedInterfaces[0] != fmt.Sprintf("veth%02d", MaxInterfaces) {
		t.Errorf("skipped %v", s.SkippedInterfaces)
	}
	if want := 2 * (MaxInterfaces + 2); len(s.Values) != want {
		t.Errorf("%d values, want %d", len(s.Values), want)
	}
	if _, ok := s.Values["net/ipv6/neigh/lo/mtu"]; !ok {
		t.Error("lo must always be read")
	}
}
