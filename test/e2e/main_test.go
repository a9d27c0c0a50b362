//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// env is what every test needs: the cluster, the binaries and the namespaces with fixtures.
type env struct {
	kubeconfig string
	plugin     string // bin/kubectl-netdiff
	kubectl    string
	image      string // --image for the plugin; empty: the plugin's default (local cluster)
	wantImage  string // the image the ephemeral container must run
	appImage   string
	node       string
	node2      string // a second node, "" on a one-node cluster
	nsA, nsB   string
	cacheDir   string
}

var (
	e       *env
	skipMsg string
)

func TestMain(m *testing.M) {
	kc := os.Getenv("NETDIFF_E2E_KUBECONFIG")
	if kc == "" {
		skipMsg = "NETDIFF_E2E_KUBECONFIG is unset: run `make e2e` (local cluster) or set it to a cluster's kubeconfig"
		os.Exit(m.Run())
	}
	var err error
	e, err = setup(kc)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e setup:", err)
		os.Exit(2)
	}
	code := m.Run()
	if os.Getenv("NETDIFF_E2E_KEEP") == "" {
		// Namespace deletion finishes in the background (the controller-manager runs).
		_, _ = e.kubectlOut(context.Background(), "delete", "namespace", e.nsA, e.nsB, "--wait=false")
		deleteExtraNamespaces(e)
	}
	os.RemoveAll(e.cacheDir)
	os.Exit(code)
}

func need(t *testing.T) *env {
	t.Helper()
	if e == nil {
		t.Skip(skipMsg)
	}
	return e
}

func repoRoot() string {
	wd, _ := os.Getwd()
	return filepath.Clean(filepath.Join(wd, "..", ".."))
}

func setup(kc string) (*env, error) {
	root := repoRoot()
	x := &env{
		kubeconfig: kc,
		plugin:     envOr("NETDIFF_E2E_PLUGIN", filepath.Join(root, "bin", "kubectl-netdiff")),
		kubectl:    envOr("NETDIFF_E2E_KUBECTL", "kubectl"),
		image:      os.Getenv("NETDIFF_E2E_IMAGE"),
		appImage:   envOr("NETDIFF_E2E_APP_IMAGE", "netdiff/busybox:v1"),
	}
	if _, err := os.Stat(x.plugin); err != nil {
		return nil, fmt.Errorf("plugin binary %s: %w (run `make plugin`)", x.plugin, err)
	}
	if _, err := exec.LookPath(x.kubectl); err != nil {
		return nil, fmt.Errorf("kubectl not found: %w", err)
	}
	x.wantImage = x.image
	if x.wantImage == "" {
		v, err := os.ReadFile(filepath.Join(root, "VERSION"))
		if err != nil {
			return nil, err
		}
		x.wantImage = "netdiff/netdiff-prober:" + strings.TrimSpace(string(v))
	}
	var err error
	if x.cacheDir, err = os.MkdirTemp("", "netdiff-e2e-kubecache-"); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	nodes, err := x.kubectlOut(ctx, "get", "nodes", "-o", `jsonpath={.items[*].metadata.name}`)
	if err != nil || nodes == "" {
		return nil, fmt.Errorf("list nodes: %v %s", err, nodes)
	}
	names := strings.Fields(nodes)
	x.node = names[0]
	if len(names) > 1 {
		x.node2 = names[1]
	}
	suffix := fmt.Sprintf("%d", time.Now().UnixNano()%1e6)
	x.nsA, x.nsB = "netdiff-e2e-a-"+suffix, "netdiff-e2e-b-"+suffix
	for _, ns := range []string{x.nsA, x.nsB} {
		if out, err := x.kubectlOut(ctx, "create", "namespace", ns); err != nil {
			return nil, fmt.Errorf("create namespace %s: %v: %s", ns, err, out)
		}
		// Without a controller-manager nobody makes the default ServiceAccount.
		if err := x.waitFor(ctx, "get", "serviceaccount", "default", "-n", ns); err != nil {
			if out, err := x.kubectlIn(ctx, "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: default}\nautomountServiceAccountToken: false\n", "apply", "-n", ns, "-f", "-"); err != nil {
				return nil, fmt.Errorf("default ServiceAccount in %s: %v: %s", ns, err, out)
			}
		}
	}
	for _, f := range []struct{ ns, file string }{{x.nsA, "pair.yaml"}, {x.nsA, "reject.yaml"}, {x.nsA, "hostnet.yaml"}, {x.nsB, "other-ns.yaml"}} {
		if err := x.apply(ctx, f.ns, f.file); err != nil {
			return nil, err
		}
	}
	for _, w := range []struct{ ns, pods string }{{x.nsA, "pod/web-a pod/web-b pod/web-broken pod/web-rejected pod/hostnet"}, {x.nsB, "pod/web-c"}} {
		args := append([]string{"wait", "-n", w.ns, "--for=condition=Ready", "--timeout=150s"}, strings.Fields(w.pods)...)
		if out, err := x.kubectlOut(ctx, args...); err != nil {
			desc, _ := x.kubectlOut(ctx, "get", "pods", "-n", w.ns, "-o", "wide")
			return nil, fmt.Errorf("pods not Ready: %v: %s\n%s", err, out, desc)
		}
	}
	return x, nil
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func (x *env) apply(ctx context.Context, ns, file string) error {
	b, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		return err
	}
	m := strings.NewReplacer("${NODE2}", x.node2, "${NODE}", x.node, "${APP_IMAGE}", x.appImage).Replace(string(b))
	if out, err := x.kubectlIn(ctx, m, "apply", "-n", ns, "-f", "-"); err != nil {
		return fmt.Errorf("apply %s in %s: %v: %s", file, ns, err, out)
	}
	return nil
}

func (x *env) environ() []string {
	return append(os.Environ(), "KUBECONFIG="+x.kubeconfig, "KUBECACHEDIR="+x.cacheDir, "NO_COLOR=1")
}

func (x *env) kubectlOut(ctx context.Context, args ...string) (string, error) {
	return x.kubectlIn(ctx, "", args...)
}

func (x *env) kubectlIn(ctx context.Context, stdin string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, x.kubectl, args...)
	cmd.Env = x.environ()
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// kubectlExec runs a command in a pod's container and returns its stdout alone: kubectl
// writes its own complaints to stderr (an older kubectl against a newer server logs
// "Unknown stream id" there), which must not end up in a value a test parses.
func (x *env) kubectlExec(ctx context.Context, ns, pod, container string, command ...string) (string, error) {
	args := append([]string{"exec", "-n", ns, pod, "-c", container, "--"}, command...)
	cmd := exec.CommandContext(ctx, x.kubectl, args...)
	cmd.Env = x.environ()
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	if err := cmd.Run(); err != nil {
		return strings.TrimSpace(so.String()), fmt.Errorf("%w: %s", err, strings.TrimSpace(se.String()))
	}
	return strings.TrimSpace(so.String()), nil
}

func (x *env) waitFor(ctx context.Context, args ...string) error {
	end := time.Now().Add(20 * time.Second)
	for {
		if _, err := x.kubectlOut(ctx, args...); err == nil {
			return nil
		}
		if time.Now().After(end) {
			return errors.New("timed out")
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// result is one run of the plugin binary.
type result struct {
	code           int
	stdout, stderr string
	took           time.Duration
}

// netdiff runs bin/kubectl-netdiff with args (and --image when the suite was given one).
func (x *env) netdiff(t *testing.T, args ...string) result {
	t.Helper()
	if x.image != "" && !hasFlag(args, "-f") {
		args = append(args, "--image", x.image)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, x.plugin, args...)
	cmd.Env = x.environ()
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	start := time.Now()
	err := cmd.Run()
	r := result{stdout: so.String(), stderr: se.String(), took: time.Since(start)}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	default:
		t.Fatalf("run %s %v: %v", x.plugin, args, err)
	}
	t.Logf("kubectl-netdiff %s -> exit %d in %s", strings.Join(args, " "), r.code, r.took.Round(time.Millisecond))
	return r
}

func hasFlag(args []string, f string) bool {
	for _, a := range args {
		if a == f {
			return true
		}
	}
	return false
}

func (r result) want(t *testing.T, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, clip(r.stdout), clip(r.stderr))
	}
}

func clip(s string) string {
	if len(s) > 4000 {
		return s[:4000] + "\n…"
	}
	return s
}

// diffJSON is the documented -o json shape (docs/): only what the tests rely on.
type diffJSON struct {
	APIVersion string   `json:"apiVersion"`
	Subjects   []string `json:"subjects"`
	Differs    bool     `json:"differs"`
	Findings   []struct {
		ID            string   `json:"id"`
		Kind          string   `json:"kind"`
		Subject       string   `json:"subject"`
		Severity      string   `json:"severity"`
		Rule          string   `json:"rule"`
		Message       string   `json:"message"`
		Detail        string   `json:"detail"`
		Effect        string   `json:"effect"`
		Keys          []string `json:"keys"`
		Explains      []string `json:"explains"`
		ExplainedBy   []string `json:"explainedBy"`
		ConsequenceOf string   `json:"consequenceOf"`
		Consequences  []string `json:"consequences"`
		Place         string   `json:"place"`
	} `json:"findings"`
	Rows []struct {
		Section string `json:"section"`
		Key     string `json:"key"`
		Values  []any  `json:"values"`
		Equal   bool   `json:"equal"`
	} `json:"rows"`
}

// topLevel counts the findings the default table shows: all but the symptoms folded
// under their causes.
func (d diffJSON) topLevel() int {
	n := 0
	for _, f := range d.Findings {
		if (f.Kind != "symptom" || len(f.ExplainedBy) == 0) && f.ConsequenceOf == "" {
			n++
		}
	}
	return n
}

func parseDiff(t *testing.T, r result) diffJSON {
	t.Helper()
	var d diffJSON
	if err := json.Unmarshal([]byte(r.stdout), &d); err != nil {
		t.Fatalf("-o json output is not JSON: %v\n%s", err, clip(r.stdout))
	}
	if d.APIVersion != "netdiff/v1" {
		t.Fatalf("apiVersion = %q, want netdiff/v1", d.APIVersion)
	}
	if d.Differs != (r.code == 1) {
		t.Fatalf("differs = %v but exit status %d", d.Differs, r.code)
	}
	if len(d.Subjects) < 2 {
		t.Fatalf("subjects = %d, want at least 2\n%s", len(d.Subjects), clip(r.stdout))
	}
	for i, row := range d.Rows {
		if len(row.Values) != len(d.Subjects) {
			t.Fatalf("row %d (%s %s) has %d values for %d subjects", i, row.Section, row.Key, len(row.Values), len(d.Subjects))
		}
	}
	return d
}

// ephemeral returns the netdiff ephemeral containers of a pod: name, image, target, state.
type ephem struct{ Name, Image, Target, State string }

func (x *env) ephemerals(t *testing.T, ns, pod string) []ephem {
	t.Helper()
	out, err := x.kubectlOut(context.Background(), "get", "pod", "-n", ns, pod, "-o", "json")
	if err != nil {
		t.Fatalf("get pod %s/%s: %v: %s", ns, pod, err, out)
	}
	var p struct {
		Spec struct {
			EphemeralContainers []struct {
				Name                string `json:"name"`
				Image               string `json:"image"`
				TargetContainerName string `json:"targetContainerName"`
			} `json:"ephemeralContainers"`
		} `json:"spec"`
		Status struct {
			EphemeralContainerStatuses []struct {
				Name  string                     `json:"name"`
				State map[string]json.RawMessage `json:"state"`
			} `json:"ephemeralContainerStatuses"`
		} `json:"status"`
	}
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatal(err)
	}
	states := map[string]string{}
	for _, s := range p.Status.EphemeralContainerStatuses {
		for k := range s.State {
			states[s.Name] = k
		}
	}
	var r []ephem
	for _, c := range p.Spec.EphemeralContainers {
		if strings.HasPrefix(c.Name, "netdiff-") {
			r = append(r, ephem{c.Name, c.Image, c.TargetContainerName, states[c.Name]})
		}
	}
	return r
}
