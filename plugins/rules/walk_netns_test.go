package rules_test

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/netdiff/kubectl-netdiff/internal/netnstest"
	"github.com/netdiff/kubectl-netdiff/internal/plugintest"
	"github.com/netdiff/kubectl-netdiff/pkg/diff"
	"github.com/netdiff/kubectl-netdiff/pkg/render"
	"github.com/netdiff/kubectl-netdiff/pkg/report"

	// The whole diagnosis: routeget's answers, the routes, the connects.
	_ "github.com/netdiff/kubectl-netdiff/plugins/all"
)

// walkPod is a pod on the node's bridge, its default route via the node.
func walkPod(t *testing.T, node *netnstest.NS, label, host, cidr string) *netnstest.NS {
	t.Helper()
	ns := netnstest.New(t, label)
	if out, err := exec.Command("ip", "link", "add", host, "netns", node.Name, "type", "veth", "peer", "name", "eth0", "netns", ns.Name).CombinedOutput(); err != nil {
		t.Fatalf("veth for %s: %v: %s", label, err, out)
	}
	node.IP("link", "set", host, "master", "br0", "up")
	ns.IP("addr", "add", cidr, "dev", "eth0")
	ns.IP("link", "set", "eth0", "up")
	ns.IP("route", "add", "default", "via", "10.76.0.1")
	return ns
}

// walkCase plants policy rules into pod-b (and what both share into both) of an otherwise
// identical pair.
type walkCase struct {
	name   string
	shared func(ns *netnstest.NS)
	plant  func(a, b *netnstest.NS)
	// first must match the first top-level finding: the rule the kernel's walk decides by.
	first string
	// never must match no cause that explains a symptom: a rule the walk does not take.
	never string
	// note: the rule never matches is at most context (a note), never a cause at all.
	note bool
}

// TestRuleWalkNamesTheDecidingRule plants, in pod-b, rules that the old "every rule whose
// selectors could match" path took for causes: a rule the walk never reaches (a
// higher-priority rule decides first, or a goto skips it), a main lookup with
// suppress_prefixlength 0 that passes the probe on (wg-quick's pair), and a fwmark rule
// no unmarked connect takes. The first finding names the rule that decides, and it is the
// only cause that explains a symptom.
func TestRuleWalkNamesTheDecidingRule(t *testing.T) {
	netnstest.RequireRoot(t)
	cases := []walkCase{
		{name: "higher-priority-first",
			shared: func(ns *netnstest.NS) {
				ns.IP("route", "add", "blackhole", "default", "table", "100")
			},
			plant: func(a, b *netnstest.NS) {
				// The lower rule differs too (pod-a looks up main, pod-b prohibits), but
				// pod-b's walk ends at 100 before it.
				a.IP("rule", "add", "prio", "200", "to", "10.86.0.0/24", "lookup", "main")
				b.IP("rule", "add", "prio", "200", "to", "10.86.0.0/24", "prohibit")
				b.IP("rule", "add", "prio", "100", "to", "10.86.0.1", "lookup", "100")
			},
			first: "pod-b has `100: from all to 10.86.0.1 lookup 100`, table 100 holding `blackhole default`",
			never: `200: from all to 10.86.0.0/24`},
		{name: "wg-quick-suppress",
			plant: func(a, b *netnstest.NS) {
				b.IP("route", "add", "blackhole", "default", "table", "51820")
				b.IP("rule", "add", "prio", "200", "not", "fwmark", "51820", "table", "51820")
				b.IP("rule", "add", "prio", "100", "table", "main", "suppress_prefixlength", "0")
			},
			first: "pod-b has `200: not from all fwmark 0xca6c lookup 51820`, table 51820 holding `blackhole default`",
			never: `suppress_prefixlength`},
		{name: "fwmark-cannot-match",
			plant: func(a, b *netnstest.NS) {
				b.IP("route", "add", "unreachable", "default", "table", "100")
				b.IP("rule", "add", "prio", "100", "fwmark", "0x1", "lookup", "100")
				b.IP("rule", "add", "prio", "200", "ipproto", "tcp", "dport", "8081", "prohibit")
			},
			first: "pod-b has `200: from all ipproto tcp dport 8081 prohibit`",
			never: `fwmark 0x1`, note: true},
		{name: "goto-skips",
			shared: func(ns *netnstest.NS) {
				ns.IP("rule", "add", "prio", "200", "to", "10.86.0.0/24", "lookup", "main")
				ns.IP("rule", "add", "prio", "300", "ipproto", "tcp", "dport", "8081", "prohibit")
			},
			plant: func(a, b *netnstest.NS) {
				// 250 sends to a blackhole, but the goto jumps over it.
				b.IP("route", "add", "blackhole", "default", "table", "250")
				b.IP("rule", "add", "prio", "250", "to", "10.86.0.1", "lookup", "250")
				b.IP("rule", "add", "prio", "100", "to", "10.86.0.1", "goto", "300")
			},
			first: "pod-b has `100: from all to 10.86.0.1 goto 300`",
			never: `250: from all`},
	}
	var wg sync.WaitGroup
	for n, tc := range cases {
		wg.Go(func() {
			t.Run(tc.name, func(t *testing.T) { runWalkCase(t, n, tc) })
		})
	}
	wg.Wait()
}

func runWalkCase(t *testing.T, n int, tc walkCase) {
	node := netnstest.New(t, fmt.Sprintf("rwnode%d", n))
	node.IP("link", "add", "br0", "type", "bridge")
	node.IP("addr", "add", "10.76.0.1/24", "dev", "br0")
	node.IP("link", "set", "br0", "up")
	node.IP("addr", "add", "10.86.0.1/32", "dev", "lo")
	for _, port := range []string{"8080", "8081"} {
		node.ListenTCP("10.86.0.1:" + port)
	}
	host := fmt.Sprintf("rwv%d-%d", os.Getpid()%100000, n)
	a := walkPod(t, node, fmt.Sprintf("rwpod%da", n), host+"a", "10.76.0.5/24")
	b := walkPod(t, node, fmt.Sprintf("rwpod%db", n), host+"b", "10.76.0.6/24")
	netnstest.Settle(t, a, b)
	a.ListenTCP("10.76.0.5:8080")
	b.ListenTCP("10.76.0.6:8080")
	for _, ns := range []*netnstest.NS{a, b} {
		if tc.shared != nil {
			tc.shared(ns)
		}
	}
	tc.plant(a, b)
	collect := func(ns *netnstest.NS, peer string) *report.Report {
		return ns.Collect("-q", "--attempts", "2", "--burst", "2", "--timeout", "1s",
			"--target", peer+":8080", "--target", "10.86.0.1:8080", "--target", "10.86.0.1:8081")
	}
	var ra, rb *report.Report
	var wg sync.WaitGroup
	wg.Go(func() { ra = collect(a, "10.76.0.6") })
	wg.Go(func() { rb = collect(b, "10.76.0.5") })
	wg.Wait()
	res, err := diff.Compare([]string{"pod-a", "pod-b"}, []*report.Report{ra, rb}, diff.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	_ = render.Render(&out, res, "wide", render.Options{})
	if len(res.Findings) == 0 {
		t.Fatalf("no findings")
	}
	top := res.Findings[0]
	if top.Kind != diff.Cause || !strings.Contains(top.Message, tc.first) || len(top.Explains) == 0 {
		t.Errorf("first finding is not %q:\n%s", tc.first, out.String())
	}
	plugintest.GoldenHeadline(t, "walk-"+tc.name, top)
	never := regexp.MustCompile(tc.never)
	causes := 0
	for _, f := range res.Findings {
		if tc.note && f.Kind == diff.Cause && never.MatchString(f.Message) {
			t.Errorf("a rule no probe can take is a cause: %s", f.Message)
		}
		if f.Kind != diff.Cause || f.ConsequenceOf != "" || len(f.Explains) == 0 {
			continue
		}
		causes++
		if never.MatchString(f.Message) {
			t.Errorf("a rule the walk does not take explains symptoms: %s\n%s", f.Message, out.String())
		}
	}
	if causes != 1 {
		t.Errorf("%d top-level causes, want 1:\n%s", causes, out.String())
	}
	t.Logf("first: %s (explains %d)", top.Message, len(top.Explains))
	if testing.Verbose() {
		t.Log(out.String())
	}
}
