package diff_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/netdiff/kubectl-netdiff/internal/netnstest"
	"github.com/netdiff/kubectl-netdiff/internal/plugintest"
	"github.com/netdiff/kubectl-netdiff/pkg/contract"
	"github.com/netdiff/kubectl-netdiff/pkg/diff"
	"github.com/netdiff/kubectl-netdiff/pkg/render"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
)

// planted is one fault planted into pod-b of an otherwise identical pair.
type planted struct {
	name  string
	plant func(t *testing.T, a, b *netnstest.NS)
	// names must match the first top-level finding: the planted fact, by its mechanism.
	names string
	// targets beyond the common ones; unprivileged collects without CAP_NET_ADMIN.
	targets      []string
	unprivileged bool
	// args replace the collect's default probing flags (--attempts 3 --burst 3 --timeout 2s).
	args []string
	// detail, when set, must match the first finding's detail (a hint, the kernel's word).
	detail string
	// folded, when set, must match a consequence folded under the first finding (the
	// same fault's other fact: the route in the table a policy rule points to).
	folded string
	// appUID, when set, runs both pods' app processes as that uid (gid the same), so the
	// prober's connects as the app differ from its connects as root.
	appUID int
}

// The faults cover every kind of state fact the diagnosis follows: routes (absent, a
// reject type, an attribute), policy rules (a uid selector, a prohibit action), netfilter
// (readable, and seen only through counters), sysctls, interfaces and /etc/hosts.
var plantedCauses = []planted{
	{name: "no-default-route", names: `no IPv4 default route`,
		plant: func(t *testing.T, a, b *netnstest.NS) { b.IP("route", "del", "default") }},
	{name: "route-mtu", names: `(?i)mtu.*1280|1280.*mtu`,
		plant: func(t *testing.T, a, b *netnstest.NS) {
			b.IP("route", "replace", "default", "via", "10.77.0.1", "mtu", "1280")
		}},
	{name: "rule-uidrange", names: `uidrange 0-0`,
		plant: func(t *testing.T, a, b *netnstest.NS) {
			b.IP("route", "add", "unreachable", "default", "table", "100")
			b.IP("rule", "add", "uidrange", "0-0", "ipproto", "tcp", "dport", "8081", "lookup", "100", "prio", "100")
		}},
	{name: "rule-prohibit", names: `prohibit`,
		plant: func(t *testing.T, a, b *netnstest.NS) {
			b.IP("rule", "add", "to", "10.88.0.1", "ipproto", "tcp", "dport", "8082", "prohibit", "prio", "100")
		}},
	{name: "blackhole-route", names: "`blackhole 10.88.0.0/24`",
		plant: func(t *testing.T, a, b *netnstest.NS) { b.IP("route", "add", "blackhole", "10.88.0.0/24") }},
	// The issue-31 pair: a connlimit REJECT that only bursts meet, and a policy rule
	// sending TCP to 9090 to a table whose default is unreachable.
	{name: "connlimit-reject", names: "--dports 8080,9090 -m connlimit --connlimit-above 4.*REJECT --reject-with tcp-reset",
		targets: []string{"10.88.0.1:9090"}, args: []string{"--attempts", "3", "--burst", "10", "--timeout", "2s"},
		plant: func(t *testing.T, a, b *netnstest.NS) {
			b.Exec(strings.Fields("iptables -A OUTPUT -p tcp --syn -m multiport --dports 8080,9090 -m connlimit --connlimit-above 4 -j REJECT --reject-with tcp-reset")...)
		}},
	{name: "rule-dport-table", names: "`\\d+: from all ipproto tcp dport 9090 lookup 150`, table 150 holding `unreachable default`.*9090 fails at once with EHOSTUNREACH",
		targets: []string{"10.88.0.1:9090"}, folded: "`unreachable default table 150`",
		plant: func(t *testing.T, a, b *netnstest.NS) {
			b.IP("route", "add", "unreachable", "default", "table", "150")
			b.IP("rule", "add", "ipproto", "tcp", "dport", "9090", "lookup", "150")
		}},
	// A native nftables rule (the kernel's drop on its flow leads, naming the rule).
	{name: "nft-native-drop", names: `tcp dport 8082.*drop`,
		plant: func(t *testing.T, a, b *netnstest.NS) {
			b.Exec("nft", "add", "table", "inet", "t")
			b.Exec("nft", "add", "chain", "inet", "t", "out", "{ type filter hook output priority 0; }")
			b.Exec("nft", "add", "rule", "inet", "t", "out", "tcp", "dport", "8082", "drop")
		}},
	{name: "reject-owner", names: `--dport 8082 -m owner --uid-owner 0.*REJECT --reject-with icmp-net-unreachable`,
		plant: plantOwnerReject},
	{name: "reject-unreadable", names: `a netfilter REJECT in pod-b's own network namespace dropped its packets`,
		detail: `could not be read \(EPERM\): rerun with --profile netadmin`,
		plant:  plantOwnerReject, unprivileged: true},
	{name: "local-port-range", names: `ip_local_port_range`,
		plant: func(t *testing.T, a, b *netnstest.NS) {
			b.Exec("sysctl", "-qw", "net.ipv4.ip_local_port_range=40000 40001")
		}},
	{name: "hosts-override", names: `svc\.test`, targets: []string{"svc.test:8080"},
		plant: func(t *testing.T, a, b *netnstest.NS) {
			a.WriteEtc("hosts", "127.0.0.1 localhost\n10.88.0.1 svc.test\n")
			b.WriteEtc("hosts", "127.0.0.1 localhost\n10.88.0.99 svc.test\n")
		}},
	// Chains: the kernel removes the connected route with the address, and the default
	// route via a gateway it can no longer reach, so no neighbour entry is made either;
	// a link that goes down takes its routes with it. One fault, one top-level cause.
	{name: "address-removed", names: `(?i)eth0.*addr|address`,
		plant: func(t *testing.T, a, b *netnstest.NS) { b.IP("addr", "del", "10.77.0.6/24", "dev", "eth0") }},
	{name: "link-down", names: `(?i)eth0.*(state|down)`,
		plant: func(t *testing.T, a, b *netnstest.NS) { b.IP("link", "set", "eth0", "down") }},
	{name: "interface-mtu", names: `(?i)mtu.*eth0|eth0.*mtu`,
		plant: func(t *testing.T, a, b *netnstest.NS) { b.IP("link", "set", "eth0", "mtu", "1280") }},
	// A neighbour entry pinned to a MAC nobody has: the gateway's frames go nowhere.
	{name: "neighbour-wrong-mac", names: `10\.77\.0\.1.*02:00:00:00:00:99|02:00:00:00:00:99.*10\.77\.0\.1`,
		plant: func(t *testing.T, a, b *netnstest.NS) {
			b.IP("neigh", "replace", "10.77.0.1", "lladdr", "02:00:00:00:00:99", "dev", "eth0", "nud", "permanent")
		}},
	// Faults only the app meets: its uid (1000) is selected, root's is not.
	{name: "app-uidrange", names: `uidrange 1000-1000 lookup 100`, appUID: 1000,
		plant: func(t *testing.T, a, b *netnstest.NS) {
			b.IP("route", "add", "unreachable", "default", "table", "100")
			b.IP("rule", "add", "uidrange", "1000-1000", "lookup", "100", "prio", "100")
		}},
	{name: "app-owner-reject", names: `--uid-owner 1000.*REJECT`, appUID: 1000,
		plant: func(t *testing.T, a, b *netnstest.NS) {
			b.Exec("iptables", "-A", "OUTPUT", "-p", "tcp", "-m", "owner", "--uid-owner", "1000", "-j", "REJECT")
		}},
}

func plantOwnerReject(t *testing.T, a, b *netnstest.NS) {
	b.Exec("iptables", "-A", "OUTPUT", "-p", "tcp", "--dport", "8082", "-m", "owner", "--uid-owner", "0",
		"-j", "REJECT", "--reject-with", "icmp-net-unreachable")
}

// TestPlantedCausesRankFirst plants each fault into one of two otherwise identical pods
// and checks the diagnosis: the first finding is a cause naming the planted fact, and the
// symptoms it produced are explained by it. It prints the score over all faults.
func TestPlantedCausesRankFirst(t *testing.T) {
	netnstest.RequireRoot(t)
	for _, pc := range plantedCauses {
		t.Run(pc.name, func(t *testing.T) {
			res := plantAndDiff(t, pc)
			logFindings(t, res)
			if scorePlanted(t, "pod/"+pc.name, res, pc.names) {
				plugintest.GoldenHeadline(t, pc.name, res.Findings[0])
				if pc.detail != "" && !regexp.MustCompile(pc.detail).MatchString(res.Findings[0].Detail) {
					t.Errorf("detail %q does not match %q", res.Findings[0].Detail, pc.detail)
				}
				if pc.folded != "" && !foldedUnder(res, res.Findings[0], pc.folded) {
					t.Errorf("no consequence matching %q under %s", pc.folded, res.Findings[0].Message)
				}
			}
		})
	}
}

// plantedScore tallies every planted fault's diagnosis across the tests of this package;
// TestMain prints (and, for make unit, writes) the summary.
type plantedScore struct {
	mu        sync.Mutex
	runs      int
	first     int
	maxCauses int
	worst     string
}

var plantedTally plantedScore

func (p *plantedScore) record(name string, first bool, causes int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.runs++
	if first {
		p.first++
	}
	if causes > p.maxCauses {
		p.maxCauses, p.worst = causes, name
	}
}

func (p *plantedScore) summary() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.runs == 0 {
		return ""
	}
	s := fmt.Sprintf("planted causes ranked first: %d/%d\ntop-level causes per planted fault: max %d", p.first, p.runs, p.maxCauses)
	if p.maxCauses != 1 {
		s += " (" + p.worst + ")"
	}
	return s + "\n"
}

func TestMain(m *testing.M) {
	code := m.Run()
	if s := plantedTally.summary(); s != "" {
		fmt.Print(s)
		if f := os.Getenv("NETDIFF_PLANTED_OUT"); f != "" {
			_ = os.WriteFile(f, []byte(s), 0o644)
		}
	}
	os.Exit(code)
}

// plantAndDiff builds the pair (two pods on a node's bridge, a service address on the
// node), plants the fault, collects both at once, and diffs them.
func plantAndDiff(t *testing.T, pc planted) *diff.Result {
	node := netnstest.New(t, "dnode")
	node.IP("link", "add", "br0", "type", "bridge")
	node.IP("addr", "add", "10.77.0.1/24", "dev", "br0")
	node.IP("link", "set", "br0", "up")
	node.IP("addr", "add", "10.88.0.1/32", "dev", "lo")
	for _, port := range []string{"8080", "8081", "8082", "9090"} {
		node.ListenTCP("10.88.0.1:" + port)
	}
	a := pod(t, node, "dpod-a", "10.77.0.5/24")
	b := pod(t, node, "dpod-b", "10.77.0.6/24")
	for _, ns := range []*netnstest.NS{a, b} {
		ns.WriteEtc("resolv.conf", "nameserver 10.88.0.1\n")
	}
	netnstest.Settle(t, a, b)
	a.ListenTCP("10.77.0.5:8080")
	b.ListenTCP("10.77.0.6:8080")
	pc.plant(t, a, b)
	// The "app": a process inside each namespace (and its /etc), as the prober sees the
	// target container's.
	apps := map[*netnstest.NS]string{}
	for _, ns := range []*netnstest.NS{a, b} {
		app := []string{"sleep", "300"}
		if pc.appUID != 0 {
			id := strconv.Itoa(pc.appUID)
			app = append([]string{"setpriv", "--reuid=" + id, "--regid=" + id, "--clear-groups"}, app...)
		}
		apps[ns] = strconv.Itoa(ns.Start(app...).Process.Pid)
	}
	if pc.appUID != 0 {
		waitForUID(t, apps, pc.appUID)
	}

	collect := func(ns *netnstest.NS, peer string) *report.Report {
		probing := pc.args
		if probing == nil {
			probing = []string{"--attempts", "3", "--burst", "3", "--timeout", "2s"}
		}
		args := append([]string{"-q", "--pid", apps[ns], "--defaults", "--target", peer + ":8080"}, probing...)
		for _, tg := range append([]string{"10.88.0.1:8080", "10.88.0.1:8081", "10.88.0.1:8082"}, pc.targets...) {
			args = append(args, "--target", tg)
		}
		if pc.unprivileged {
			return ns.CollectAs([]string{"setpriv", "--inh-caps", "-net_admin", "--bounding-set", "-net_admin"}, args...)
		}
		return ns.Collect(args...)
	}
	var ra, rb *report.Report
	var wg sync.WaitGroup
	wg.Go(func() { ra = collect(a, "10.77.0.6") })
	wg.Go(func() { rb = collect(b, "10.77.0.5") })
	wg.Wait()
	if ra == nil || rb == nil {
		t.FailNow()
	}
	// NETDIFF_PLANTED_DUMP=DIR keeps the two reports (DIR/NAME-a.json, -b.json) for
	// `kubectl-netdiff -f … -f …` by hand.
	if dir := os.Getenv("NETDIFF_PLANTED_DUMP"); dir != "" {
		for n, r := range map[string]*report.Report{"a": ra, "b": rb} {
			b, _ := json.Marshal(r)
			_ = os.WriteFile(filepath.Join(dir, pc.name+"-"+n+".json"), b, 0o644)
		}
	}
	res, err := diff.Compare([]string{"pod-a", "pod-b"}, []*report.Report{ra, rb}, diff.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Findings) == 0 {
		t.Fatalf("%s: no findings at all", pc.name)
	}
	return res
}

// flap deletes and re-adds ns's default route, absent a third of each period, until the
// test ends: the case study's intermittent fault, planted from outside the "pod".
func flap(t *testing.T, ns *netnstest.NS, period time.Duration) {
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			_ = exec.Command("ip", "-n", ns.Name, "route", "del", "default").Run()
			select {
			case <-stop:
				return
			case <-time.After(period / 3):
			}
			_ = exec.Command("ip", "-n", ns.Name, "route", "add", "default", "via", "10.77.0.1").Run()
			select {
			case <-stop:
				return
			case <-time.After(period * 2 / 3):
			}
		}
	}()
	t.Cleanup(func() { close(stop); <-done })
}

// A default route absent a third of the time is named as changing, in every run: at
// ~7 Hz with the default flags, at ~1 Hz with --window 10s (those runs in parallel).
func TestFlappingRouteNamedAsChanging(t *testing.T) {
	netnstest.RequireRoot(t)
	// A starved flapper (a load of 20 on two cores) may manage one flap in the window.
	changing := regexp.MustCompile("pod-b's route `default via 10\\.77\\.0\\.1 dev eth0[^`]*` flapped (\\d+ times|once|twice) while probed")
	cases := []struct {
		name   string
		period time.Duration
		args   []string
	}{
		{"7Hz-default-flags", 143 * time.Millisecond, []string{}},
		{"1Hz-window-10s", time.Second, []string{"--window", "10s"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var named atomic.Int32
			t.Run("runs", func(t *testing.T) {
				// The slow flap's ten runs go at once (-parallel is GOMAXPROCS, two here).
				var wg sync.WaitGroup
				for run := range 10 {
					if tc.period < time.Second {
						wg.Wait()
					}
					wg.Go(func() {
						t.Run(strconv.Itoa(run), func(t *testing.T) {
							res := plantAndDiff(t, planted{name: tc.name, args: tc.args,
								plant: func(t *testing.T, a, b *netnstest.NS) { flap(t, b, tc.period) }})
							top := res.Findings[0]
							if top.Kind != diff.Cause || top.Rule != "events/churn" || !changing.MatchString(top.Message) {
								var out strings.Builder
								_ = render.Render(&out, res, "wide", render.Options{})
								t.Errorf("the flap is not the first cause:\n%s", out.String())
								return
							}
							named.Add(1)
							if run == 0 {
								t.Logf("first: %s (explains %d)", top.Message, len(top.Explains))
								plugintest.GoldenHeadline(t, "flapping-route-"+tc.name, top)
							}
						})
					})
				}
				wg.Wait()
			})
			t.Logf("flapping default route (%s) named as changing: %d/10", tc.name, named.Load())
		})
	}
}

// waitForUID waits until every app process runs with uid (setpriv has switched and
// executed the app).
func waitForUID(t *testing.T, apps map[*netnstest.NS]string, uid int) {
	t.Helper()
	want := fmt.Sprintf("\nUid:\t%d\t%d\t", uid, uid)
	for _, pid := range apps {
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			b, _ := os.ReadFile("/proc/" + pid + "/status")
			if strings.Contains(string(b), want) && strings.Contains(string(b), "Name:\tsleep\n") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("app %s does not run sleep as uid %d", pid, uid)
			}
		}
	}
}

// logFindings shows (go test -v) the top-level findings as -o json would hold them.
func logFindings(t *testing.T, res *diff.Result) {
	if !testing.Verbose() {
		return
	}
	for _, f := range res.Findings {
		if f.ConsequenceOf == "" && f.Kind == contract.Cause {
			t.Logf("%s %s [%s] %s\n  effect: %s\n  detail: %s\n  explains %v, consequences %v",
				f.ID, f.Severity, f.Rule, f.Message, f.Effect, f.Detail, f.Explains, f.Consequences)
		}
	}
}

// foldedUnder tells whether a consequence of top matches the pattern.
func foldedUnder(res *diff.Result, top diff.Finding, pattern string) bool {
	re := regexp.MustCompile(regexp.QuoteMeta(pattern))
	for _, f := range res.Findings {
		if f.ConsequenceOf == top.ID && re.MatchString(f.Message) {
			return true
		}
	}
	return false
}
