package counters

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/netdiff/kubectl-netdiff/internal/netnstest"
	"github.com/netdiff/kubectl-netdiff/internal/plugintest"
	"github.com/netdiff/kubectl-netdiff/pkg/contract"
	"github.com/netdiff/kubectl-netdiff/pkg/diff"
	"github.com/netdiff/kubectl-netdiff/pkg/probe"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
)

func TestParseFixtures(t *testing.T) {
	for _, tt := range []struct {
		file string
		want map[string]int64
		min  int
	}{
		{"snmp", map[string]int64{"Ip/DefaultTTL": 64, "Ip/OutNoRoutes": 0, "Tcp/MaxConn": -1, "Tcp/AttemptFails": 2, "IcmpMsg/InType3": 1, "Udp/InDatagrams": 41}, 80},
		{"netstat", map[string]int64{"TcpExt/ListenDrops": 0, "MPTcpExt/MPCapableSYNRX": 0}, 150},
		{"snmp6", map[string]int64{"Ip6InReceives": 1, "Ip6OutNoRoutes": 0}, 80},
		{"sockstat", map[string]int64{"sockets/used": 14, "TCP/inuse": 2, "TCP/mem": 358, "FRAG/memory": 0}, 10},
		{"sockstat6", map[string]int64{"TCP6/inuse": 0, "FRAG6/memory": 0}, 5},
	} {
		t.Run(tt.file, func(t *testing.T) {
			m, err := parseBytes(tt.file, plugintest.Fixture(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tt.want {
				if got, ok := m[k]; !ok || got != v {
					t.Errorf("%s = %d (present %v), want %d", k, got, ok, v)
				}
			}
			if len(m) < tt.min {
				t.Errorf("%d values, want at least %d", len(m), tt.min)
			}
		})
	}
}

func TestParseRejectsMismatchedLines(t *testing.T) {
	if _, err := ParseSNMP(strings.NewReader("Ip: A B\nIp: 1\n")); err == nil {
		t.Error("names/values mismatch accepted")
	}
	if _, err := ParseSockstat(strings.NewReader("TCP inuse 1\n")); err == nil {
		t.Error("line without group accepted")
	}
}

func FuzzParseSNMP(f *testing.F) {
	plugintest.Seed(f, "snmp", "netstat")
	f.Fuzz(func(t *testing.T, b []byte) { _, _ = ParseSNMP(bytes.NewReader(b)) })
}

func FuzzParseFlat(f *testing.F) {
	plugintest.Seed(f, "snmp6")
	f.Fuzz(func(t *testing.T, b []byte) { _, _ = ParseFlat(bytes.NewReader(b)) })
}

func FuzzParseSockstat(f *testing.F) {
	plugintest.Seed(f, "sockstat", "sockstat6")
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseSockstat(bytes.NewReader(b))
		if err == nil {
			for k := range m {
				if !strings.Contains(k, "/") {
					t.Fatalf("key %q has no group", k)
				}
			}
		}
	})
}

func TestFixtureProc(t *testing.T) {
	dir := t.TempDir()
	if err := os.Symlink(filepath.Join(mustAbs(t, "testdata")), filepath.Join(dir, "net")); err != nil {
		t.Fatal(err)
	}
	p := &Plugin{}
	env := &probe.Env{Proc: dir}
	if err := p.Begin(context.Background(), env); err != nil {
		t.Fatal(err)
	}
	v, err := p.Collect(context.Background(), env)
	if err != nil {
		t.Fatal(err)
	}
	s := v.(*Section)
	if !s.Window || len(s.Moved) != 0 || s.Unchanged["snmp/Tcp/AttemptFails"] != 2 || s.Sockstat["sockstat/TCP/inuse"] != 2 || len(s.Errors) != 0 {
		t.Errorf("fixture section: window %v moved %v attemptfails %d tcp inuse %d errors %v",
			s.Window, s.Moved, s.Unchanged["snmp/Tcp/AttemptFails"], s.Sockstat["sockstat/TCP/inuse"], s.Errors)
	}
}

func mustAbs(t *testing.T, p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestWindowSeesRoutingFailure runs the plugin on a thread inside a namespace without
// routes: /proc/thread-self/net is that namespace. A connect there fails in the route
// lookup (no packet leaves), and the window must show OutNoRoutes growing by exactly that.
func TestWindowSeesRoutingFailure(t *testing.T) {
	ns := netnstest.New(t, "cnt")
	const connects = 3
	var s *Section
	err := ns.Do(func() error {
		p := &Plugin{}
		env := &probe.Env{Proc: "/proc/thread-self"}
		if err := p.Begin(context.Background(), env); err != nil {
			return err
		}
		for i := 0; i < connects; i++ {
			// 10.199.0.1 is in no namespace's routes here; the lookup fails locally.
			if _, err := net.Dial("tcp4", "10.199.0.1:80"); err == nil || !strings.Contains(err.Error(), "network is unreachable") {
				t.Errorf("connect without routes: %v, want ENETUNREACH", err)
			}
		}
		v, err := p.Collect(context.Background(), env)
		s, _ = v.(*Section)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Moved["snmp/Ip/OutNoRoutes"]; got.Delta != connects {
		t.Errorf("OutNoRoutes moved %+v, want delta %d", got, connects)
	}
}

// TestProberReportsCounters: pod-a reaches a server in a third namespace, pod-b has no
// routes at all. Both probe the server; the real prober's connect probes fail in pod-b's
// route lookup, so OutNoRoutes moves in pod-b's window only.
func TestProberReportsCounters(t *testing.T) {
	a, b, srv := netnstest.New(t, "cnta"), netnstest.New(t, "cntb"), netnstest.New(t, "cnts")
	netnstest.Veth(t, a, "10.199.5.1/24", srv, "10.199.5.2/24")
	srv.ListenTCP("10.199.5.2:8080")
	if err := b.Do(func() error {
		for i := 0; i < 4; i++ {
			_, _ = net.Dial("tcp4", "10.199.5.2:8080")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	ra, rb := a.Collect("--quiet", "--target", "10.199.5.2:8080"), b.Collect("--quiet", "--target", "10.199.5.2:8080")
	var sa, sb Section
	netnstest.Section(t, ra, "counters", &sa)
	netnstest.Section(t, rb, "counters", &sb)
	if !sa.Window || !sb.Window {
		t.Fatalf("no window: a %v b %v", sa.Window, sb.Window)
	}
	endB := sb.Unchanged["snmp/Ip/OutNoRoutes"] + sb.Moved["snmp/Ip/OutNoRoutes"].End
	if endB < 4 {
		t.Errorf("b OutNoRoutes total %d, want >= 4 (planted before the prober ran)", endB)
	}
	if sa.Moved["snmp/Ip/OutNoRoutes"].Delta != 0 {
		t.Errorf("a has a route to the target, yet OutNoRoutes moved: %+v", sa.Moved["snmp/Ip/OutNoRoutes"])
	}
	if len(sb.Sockstat) < 5 || len(sb.Errors) != 0 {
		t.Errorf("b sockstat %v errors %v", sb.Sockstat, sb.Errors)
	}
	t.Logf("counters section: %d bytes, %d moved in a %d ms window", len(rb.Sections["counters"]), len(sb.Moved), sb.WindowMS)

	want := "pod-b: routing failed %d times during the probe window (Ip OutNoRoutes): connects got ENETUNREACH from the route lookup; it did not move in pod-a"
	d := sb.Moved["snmp/Ip/OutNoRoutes"].Delta
	if d > 0 {
		t.Logf("the active probes moved OutNoRoutes by %d in pod-b's window", d)
	} else {
		// No active probe plugin is registered: plant one moved counter into b's real
		// section, since a prober run's window is too short to inject traffic from outside.
		t.Log("no active probe moved OutNoRoutes; planting a moved counter into the section")
		d = 7
		sb.Moved["snmp/Ip/OutNoRoutes"] = Moved{Start: endB, End: endB + d, Delta: d}
		delete(sb.Unchanged, "snmp/Ip/OutNoRoutes")
		rb.Sections["counters"] = plugintest.MustMarshal(t, sb)
	}
	want = fmt.Sprintf(want, d)
	var hit *contract.Finding
	for _, f := range plugintest.Findings(t, "counters", []string{"pod-a", "pod-b"}, []*report.Report{ra, rb}) {
		if slices.Contains(f.Keys, "counters/snmp/Ip/OutNoRoutes") {
			hit = &f
		}
	}
	if hit == nil || hit.Severity != contract.Critical || hit.Message != want {
		t.Errorf("OutNoRoutes finding = %+v\nwant message %q", hit, want)
	}
}

func TestMovedRuleOnlyWhereWindowed(t *testing.T) {
	row := func(key string, vals ...string) contract.Row {
		return contract.Row{Section: "counters", Key: key, Values: vals, Missing: make([]bool, len(vals))}
	}
	c := &contract.Comparison{Subjects: []string{"a", "b", "c"}, Rows: []contract.Row{
		row("snmp/Tcp/AttemptFails", "0", "3", "0"),
		row("snmp/Tcp/ActiveOpens", "0", "3", "0"),          // normal traffic: no finding
		row("netstat/TcpExt/TCPAbortOnData", "1", "0", "0"), // failure-like: summary
		row("snmp/Ip/OutNoRoutes", "2", "2", "2"),           // everywhere: no finding
	}}
	got := movedRule(c)
	if len(got) != 2 || got[0].Severity != contract.High || !strings.HasPrefix(got[0].Message, "b: 3 TCP connection attempts failed") ||
		!strings.Contains(got[0].Message, "did not move in a, c") || got[1].Severity != contract.Low || got[1].Keys[0] != "counters/netstat/TcpExt/TCPAbortOnData" {
		t.Errorf("findings = %+v", got)
	}

	// A subject without a window (its report has no start sample) says nothing.
	noWin := &report.Report{Sections: map[string]json.RawMessage{"counters": json.RawMessage(`{"window":false}`)}}
	win := &report.Report{Sections: map[string]json.RawMessage{"counters": json.RawMessage(`{"window":true}`)}}
	c = &contract.Comparison{Subjects: []string{"a", "b"}, Reports: []*report.Report{noWin, win}, Rows: []contract.Row{
		{Section: "counters", Key: "snmp/Tcp/AttemptFails", Values: []string{"-", "3"}, Missing: []bool{true, false}},
	}}
	if got := movedRule(c); len(got) != 0 {
		t.Errorf("finding against a subject without window: %+v", got)
	}
}

// Loss that TCP repaired by itself is shown and hinted at, but is no difference: healthy
// replicas see a retransmission now and then. A loss that failed a connect still differs.
func TestRepairedLossIsAHintNotADifference(t *testing.T) {
	win := json.RawMessage(`{"window":true,"moved":{"snmp/Tcp/RetransSegs":{"delta":1,"end":9},"netstat/TcpExt/TCPSynRetrans":{"delta":2,"end":2}},"unchanged":{"snmp/Tcp/AttemptFails":0}}`)
	still := json.RawMessage(`{"window":true,"unchanged":{"snmp/Tcp/RetransSegs":4,"netstat/TcpExt/TCPSynRetrans":0,"snmp/Tcp/AttemptFails":0}}`)
	failed := json.RawMessage(`{"window":true,"moved":{"snmp/Tcp/RetransSegs":{"delta":1,"end":9},"snmp/Tcp/AttemptFails":{"delta":1,"end":1}},"unchanged":{"netstat/TcpExt/TCPSynRetrans":0}}`)
	mk := func(name string, raw json.RawMessage) *report.Report {
		return &report.Report{SchemaVersion: report.SchemaVersion, Subject: &report.Subject{Name: name},
			Sections: map[string]json.RawMessage{"counters": raw}}
	}
	res, err := diff.Compare([]string{"a", "b"}, []*report.Report{mk("a", still), mk("b", win)}, diff.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Differs() {
		t.Errorf("a retransmission in one replica made them differ: %+v", res.Findings)
	}
	hint := false
	for _, f := range res.Findings {
		hint = hint || f.Rule == "counters/moved" && f.Severity == contract.Info &&
			strings.HasPrefix(f.Message, "b: TCP retransmitted during the probe window") && strings.Contains(f.Message, "TcpExt TCPSynRetrans, Tcp RetransSegs") &&
			strings.Contains(f.Message, "--window")
	}
	if !hint {
		t.Errorf("no hint about the repaired loss: %+v", res.Findings)
	}

	res, err = diff.Compare([]string{"a", "b"}, []*report.Report{mk("a", still), mk("b", failed)}, diff.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Differs() {
		t.Errorf("a failed connect attempt in one replica is no difference: %+v", res.Findings)
	}
	for _, f := range res.Findings {
		if strings.Contains(f.Message, "TCP retransmitted") {
			t.Errorf("retransmission hint although the subjects differ otherwise: %s", f.Message)
		}
	}
}
