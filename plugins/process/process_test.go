package process

import (
	"bytes"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/netdiff/kubectl-netdiff/internal/netnstest"
	"github.com/netdiff/kubectl-netdiff/internal/plugintest"
	"github.com/netdiff/kubectl-netdiff/pkg/contract"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
)

const (
	proxyPassword = "s3cretPass"
	envPassword   = "hunter2"
)

// waitExec waits until pid runs comm: before that its environment is still the launcher's.
func waitExec(t *testing.T, pid int, comm string) {
	for i := 0; i < 400; i++ {
		if b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm"); strings.TrimSpace(string(b)) == comm {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("pid %d never became %s", pid, comm)
}

// TestPlantedProcess: pod-b's app has a proxy with a password, a password variable, a
// preload, no NET_RAW and no_new_privs; pod-a's app is a plain sleep.
func TestPlantedProcess(t *testing.T) {
	a, b := netnstest.New(t, "proca"), netnstest.New(t, "procb")
	pa := a.Start("sleep", "300").Process.Pid
	pb := b.Start("env",
		"HTTP_PROXY=http://user:"+proxyPassword+"@127.0.0.1:3128",
		"PASSWORD="+envPassword,
		"GODEBUG=netdns=go",
		"setpriv", "--no-new-privs", "--bounding-set", "-net_raw", "--inh-caps", "-net_raw",
		"sleep", "301").Process.Pid
	waitExec(t, pa, "sleep")
	waitExec(t, pb, "sleep")

	ra := a.Collect("--pid", strconv.Itoa(pa))
	out, errOut, rb := b.CollectOutput("--pid", strconv.Itoa(pb))
	for _, secret := range []string{proxyPassword, envPassword} {
		if bytes.Contains(out, []byte(secret)) || bytes.Contains(errOut, []byte(secret)) {
			t.Errorf("secret %q appears in the prober's output", secret)
		}
	}

	var sa, sb Section
	netnstest.Section(t, ra, "process", &sa)
	netnstest.Section(t, rb, "process", &sb)
	tb := sb.Target
	if tb.Error != nil || tb.Comm != "sleep" || tb.PID != pb {
		t.Fatalf("target b: %+v", tb)
	}
	if got := tb.Env["HTTP_PROXY"]; got != "http://***@127.0.0.1:3128" {
		t.Errorf("HTTP_PROXY reported as %q", got)
	}
	if _, ok := tb.Env["PASSWORD"]; ok || tb.Env["GODEBUG"] != "netdns=go" || tb.EnvTotal < 3 {
		t.Errorf("env = %v (total %d)", tb.Env, tb.EnvTotal)
	}
	if slices.Contains(tb.CapEff, "CAP_NET_RAW") || !slices.Contains(sa.Target.CapEff, "CAP_NET_RAW") {
		t.Errorf("NET_RAW: a %v, b %v", sa.Target.CapEff, tb.CapEff)
	}
	if tb.NoNewPrivs == nil || *tb.NoNewPrivs != 1 || tb.Seccomp != "disabled" {
		t.Errorf("nonewprivs %v seccomp %q", tb.NoNewPrivs, tb.Seccomp)
	}
	if tb.Libc == nil || tb.Libc.Flavour != "glibc" || tb.Libc.Source != "maps" {
		t.Errorf("libc = %+v", tb.Libc)
	}
	if tb.Limits["nofile"].Soft == "" || tb.FDs == nil || tb.FDs.Total < 3 {
		t.Errorf("limits %v fds %+v", tb.Limits, tb.FDs)
	}
	if tb.LdSoPreload == nil || tb.LdSoPreload.Error.Name() != "ENOENT" {
		t.Errorf("ld.so.preload = %+v", tb.LdSoPreload)
	}
	if !slices.Equal(tb.Cmdline, []string{"sleep", "301"}) || tb.Exe != "/usr/bin/sleep" {
		t.Errorf("cmdline %v exe %q", tb.Cmdline, tb.Exe)
	}
	seen := false
	for _, p := range sb.Processes.List {
		if p.PID == pb && p.Comm == "sleep" {
			seen = true
		}
		if p.Comm == "netdiff-prober" {
			t.Errorf("the prober lists itself: %+v", p)
		}
	}
	if !seen || len(sb.Processes.List) > MaxProcesses {
		t.Errorf("process list (%d, total %d) lacks the target", len(sb.Processes.List), sb.Processes.Total)
	}
	t.Logf("process section: %d bytes, %d processes listed of %d", len(rb.Sections["process"]), len(sb.Processes.List), sb.Processes.Total)

	fs := plugintest.Findings(t, "process", []string{"pod-a", "pod-b"}, []*report.Report{ra, rb})
	want := map[string]contract.Severity{
		"pod-b sets HTTP_PROXY=http://***@127.0.0.1:3128; pod-a does not":                          contract.High,
		"effective capabilities differ in CAP_NET_RAW (pod-a has NET_RAW; pod-b has none of them)": contract.Medium,
		"no_new_privs differs (pod-a: 0, pod-b: 1)":                                                contract.Low,
		"network-related environment differs: GODEBUG":                                             contract.Low,
	}
	for prefix, sev := range want {
		found := false
		for _, f := range fs {
			if strings.HasPrefix(f.Message, prefix) && f.Severity == sev {
				found = true
			}
		}
		if !found {
			t.Errorf("no %v finding starting %q in %+v", sev, prefix, fs)
		}
	}
	for _, f := range fs {
		if strings.Contains(f.Message, "HTTP_PROXY") {
			plugintest.GoldenHeadline(t, "proxy-variable", f)
		}
	}
}

func TestMissingTarget(t *testing.T) {
	tg := ReadTarget("/proc", 1<<22+7)
	if tg.Error.Name() != "ESRCH" || tg.Env != nil {
		t.Errorf("absent pid: %+v", tg)
	}
}

func TestListRule(t *testing.T) {
	row := func(comm string, a, b string) contract.Row {
		r := contract.Row{Section: "process", Key: "processes/" + comm, Values: []string{a, b}, Missing: []bool{a == "-", b == "-"}}
		r.Equal = a == b
		return r
	}
	c := &contract.Comparison{Subjects: []string{"ha", "debug"}, Rows: []contract.Row{
		row("s6-svscan", "1", "-"), row("python3", "1", "-"), row("go2rtc", "1", "-"), row("sleep", "-", "1"), row("sh", "1", "1"),
	}}
	got := listRule(c)
	if len(got) != 1 || got[0].Message != "the visible processes differ: ha runs go2rtc, python3, s6-svscan; debug runs sleep" || len(got[0].Keys) != 4 {
		t.Errorf("listRule = %+v", got)
	}
}
