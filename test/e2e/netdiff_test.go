//go:build e2e

package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// Two healthy pods of the same kind on one node must show no difference.
func TestHealthyTwinsDiffToExitZero(t *testing.T) {
	x := need(t)
	r := x.netdiff(t, "-n", x.nsA, "web-a", "web-b")
	r.want(t, 0)
	// The real default path ran: an ephemeral container from the prober image, aimed at
	// the app container, sharing its process namespace.
	for _, pod := range []string{"web-a", "web-b"} {
		es := x.ephemerals(t, x.nsA, pod)
		if len(es) == 0 {
			t.Fatalf("%s has no netdiff-* ephemeral container after a diff", pod)
		}
		for _, c := range es {
			if c.Image != x.wantImage || c.Target != "app" {
				t.Errorf("%s: ephemeral container %+v, want image %s targeting app", pod, c, x.wantImage)
			}
		}
	}
}

// The case study: the broken twin has no default route (and no pod-CIDR route). The
// diagnosis leads with that cause, folds its symptoms under it (web-a's failed probes of
// web-broken among them: web-broken cannot route its replies), and shows little else.
func TestBrokenTwinDiffsWithFindingThatNamesTheCause(t *testing.T) {
	x := need(t)
	r := x.netdiff(t, "-n", x.nsA, "web-a", "web-broken", "-o", "json")
	r.want(t, 1)
	d := parseDiff(t, r)
	if len(d.Findings) == 0 {
		t.Fatalf("exit 1 but no findings:\n%s", clip(r.stdout))
	}
	top := d.Findings[0]
	if top.Kind != "cause" || top.Rule != "routes/no-default-route" || top.Subject != "web-broken" || top.Severity != "critical" {
		t.Errorf("first finding = %s %s %s about %q: want the critical cause routes/no-default-route about web-broken\n%s",
			top.Kind, top.Severity, top.Rule, top.Subject, clip(r.stdout))
	}
	if n := d.topLevel(); n > 3 {
		t.Errorf("%d top-level findings, want at most 3:\n%s", n, clip(r.stdout))
	}
	healthyExplained := false
	for _, f := range d.Findings {
		if f.Kind == "symptom" && f.Subject == "web-a" && slices.Contains(f.ExplainedBy, top.ID) {
			healthyExplained = true
		}
		if f.Kind == "symptom" && f.Subject == "web-a" && len(f.ExplainedBy) == 0 {
			t.Errorf("web-a's symptom is blamed on nothing: %s", f.Message)
		}
	}
	if !healthyExplained {
		t.Errorf("web-a's failed probes of web-broken are not explained by %s:\n%s", top.ID, clip(r.stdout))
	}
	// The table output tells the same story, cause first.
	tbl := x.netdiff(t, "-n", x.nsA, "web-a", "web-broken")
	tbl.want(t, 1)
	if lines := strings.SplitN(tbl.stdout, "\n", 3); len(lines) < 2 || !strings.Contains(lines[1], "web-broken has no IPv4 default route") {
		t.Errorf("the table's first finding is not the missing default route:\n%s", clip(tbl.stdout))
	}
}

// The case study's other cause: routes fine, an OUTPUT REJECT rule refuses the connect.
// The default profile cannot list netfilter rules (no NET_ADMIN), but the namespace's own
// ICMP errors give the REJECT away: the first finding says so and how to see the rule;
// the netadmin profile names the rule itself.
func TestRejectRuleIsNotARoutingProblem(t *testing.T) {
	x := need(t)
	r := x.netdiff(t, "-n", x.nsA, "web-a", "web-rejected", "-o", "json")
	r.want(t, 1)
	d := parseDiff(t, r)
	if top := d.Findings[0]; top.Kind != "cause" || top.Rule != "netfilter/local-reject" || !strings.Contains(top.Message, "--profile netadmin") {
		t.Errorf("default profile: first finding %s %s: %s; want the cause netfilter/local-reject naming --profile netadmin\n%s", top.Kind, top.Rule, top.Message, clip(r.stdout))
	}
	for _, f := range d.Findings {
		if f.Rule == "routes/no-default-route" {
			t.Errorf("routing is blamed: %s", f.Message)
		}
	}
	r = x.netdiff(t, "-n", x.nsA, "web-a", "web-rejected", "-o", "json", "--profile", "netadmin")
	r.want(t, 1)
	rule := regexp.MustCompile(`-A OUTPUT .*--dport 443 -j REJECT --reject-with icmp-net-unreachable`)
	if top := parseDiff(t, r).Findings[0]; top.Kind != "cause" || !rule.MatchString(top.Message) {
		t.Errorf("with --profile netadmin, first finding %s %s: %s; want the cause naming the rule (chain, match, reject type)\n%s", top.Kind, top.Rule, top.Message, clip(r.stdout))
	}
}

func TestJSONPipesIntoJq(t *testing.T) {
	x := need(t)
	if _, err := exec.LookPath("jq"); err != nil {
		t.Skip("jq not installed")
	}
	args := []string{x.plugin, "-n", x.nsA, "web-a", "web-broken", "-o", "json"}
	if x.image != "" {
		args = append(args, "--image", x.image)
	}
	script := `"$@" | jq -e '(.subjects | length) == 2 and (.findings | length) > 0 and ([.rows[] | select(.equal == false)] | length) > 0'`
	cmd := exec.Command("sh", append([]string{"-c", script, "sh"}, args...)...)
	cmd.Env = x.environ()
	out, err := cmd.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "true" {
		t.Fatalf("kubectl netdiff -o json | jq: %v\n%s", err, clip(string(out)))
	}
}

func TestDryRunAddsNothing(t *testing.T) {
	x := need(t)
	before := len(x.ephemerals(t, x.nsA, "web-broken")) + len(x.ephemerals(t, x.nsA, "hostnet"))
	r := x.netdiff(t, "-n", x.nsA, "web-broken", "hostnet", "--dry-run")
	if r.code >= 2 {
		t.Fatalf("--dry-run failed: exit %d\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, "targetContainerName") || !strings.Contains(r.stdout, "image:") {
		t.Errorf("--dry-run does not print the ephemeral container spec as YAML:\n%s", clip(r.stdout))
	}
	after := len(x.ephemerals(t, x.nsA, "web-broken")) + len(x.ephemerals(t, x.nsA, "hostnet"))
	if after != before {
		t.Errorf("--dry-run changed the pods: %d netdiff ephemeral containers before, %d after", before, after)
	}
}

// A second run reuses the running prober container instead of adding one more.
func TestSecondRunReusesTheEphemeralContainer(t *testing.T) {
	x := need(t)
	x.netdiff(t, "-n", x.nsA, "web-a", "web-b").want(t, 0)
	first := x.ephemerals(t, x.nsA, "web-a")
	x.netdiff(t, "-n", x.nsA, "web-a", "web-b").want(t, 0)
	second := x.ephemerals(t, x.nsA, "web-a")
	if len(second) != len(first) {
		t.Errorf("ephemeral containers in web-a: %d after the first run, %d after the second: not reused\n%v", len(first), len(second), second)
	}
}

// --save writes each pod's raw report; -f diffs them offline with the same result.
func TestSaveThenOfflineDiffRoundTrip(t *testing.T) {
	x := need(t)
	dir := t.TempDir()
	live := x.netdiff(t, "-n", x.nsA, "web-a", "web-broken", "-o", "json", "--save", dir)
	live.want(t, 1)
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if len(files) != 2 {
		t.Fatalf("--save %s wrote %d JSON files, want 2: %v", dir, len(files), files)
	}
	var a, b string
	for _, f := range files {
		switch {
		case strings.Contains(filepath.Base(f), "web-broken"):
			b = f
		case strings.Contains(filepath.Base(f), "web-a"):
			a = f
		}
	}
	if a == "" || b == "" {
		t.Fatalf("saved report names do not say which pod they are: %v", files)
	}
	// The prober shared the app container's process namespace: PID 1 it saw is testapp.
	raw, err := os.ReadFile(a)
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Sections struct {
			Process struct {
				Target struct {
					PID  int    `json:"pid"`
					Comm string `json:"comm"`
				} `json:"target"`
			} `json:"process"`
		} `json:"sections"`
	}
	if err := json.Unmarshal(raw, &rep); err != nil {
		t.Fatalf("saved report %s: %v", a, err)
	}
	if tg := rep.Sections.Process.Target; tg.PID != 1 || tg.Comm != "testapp" {
		t.Errorf("saved report's target process = pid %d %q, want pid 1 testapp: the ephemeral container does not share the app's PID namespace", tg.PID, tg.Comm)
	}
	// Offline: no cluster at all.
	saved := *x
	saved.kubeconfig = filepath.Join(dir, "no-such-kubeconfig")
	off := saved.netdiff(t, "-f", a, "-f", b, "-o", "json")
	off.want(t, 1)
	dl, do := parseDiff(t, live), parseDiff(t, off)
	if len(dl.Findings) != len(do.Findings) {
		t.Errorf("live diff has %d findings, offline diff of the saved reports %d", len(dl.Findings), len(do.Findings))
	}
	unequal := func(d diffJSON) map[string]bool {
		m := map[string]bool{}
		for _, r := range d.Rows {
			if !r.Equal {
				m[r.Section+" "+r.Key] = true
			}
		}
		return m
	}
	ul, uo := unequal(dl), unequal(do)
	for k := range uo {
		if !ul[k] {
			t.Errorf("offline diff shows %q differing; the live diff did not", k)
		}
	}
	if len(uo) == 0 {
		t.Errorf("offline diff shows no differing row")
	}
	_ = os.Remove(saved.kubeconfig)
}

func TestPodsInTwoNamespaces(t *testing.T) {
	x := need(t)
	r := x.netdiff(t, x.nsA+"/web-a", x.nsB+"/web-c", "-o", "json")
	if r.code >= 2 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	d := parseDiff(t, r)
	if d.Subjects[0] != x.nsA+"/web-a" || d.Subjects[1] != x.nsB+"/web-c" {
		t.Errorf("subjects do not name both namespaces in order: %s / %s", d.Subjects[0], d.Subjects[1])
	}
	if es := x.ephemerals(t, x.nsB, "web-c"); len(es) == 0 {
		t.Errorf("no prober was injected into %s/web-c", x.nsB)
	}
}

func TestHostNetworkPodDiffersFromPodNetwork(t *testing.T) {
	x := need(t)
	r := x.netdiff(t, "-n", x.nsA, "web-a", "hostnet", "-o", "json")
	r.want(t, 1)
	d := parseDiff(t, r)
	found := false
	for _, row := range d.Rows {
		if !row.Equal && strings.Contains(strings.ToLower(row.Key+" "+row.Section), "hostnetwork") {
			found = true
		}
	}
	if !found {
		t.Errorf("no differing hostNetwork row:\n%s", clip(r.stdout))
	}
}

func TestErrorsExitTwoOrMore(t *testing.T) {
	x := need(t)
	r := x.netdiff(t, "-n", x.nsA, "web-a", "no-such-pod")
	if r.code < 2 {
		t.Fatalf("diff against a missing pod: exit %d, want >= 2", r.code)
	}
	if !strings.Contains(r.stderr, "no-such-pod") {
		t.Errorf("error does not name the missing pod:\n%s", r.stderr)
	}
}
