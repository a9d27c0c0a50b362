//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// stallTarget is answered by nobody (the stall container of testdata/faults.yaml accepts
// and stays silent): it keeps a collect running for its whole window.
const stallTarget = "http://127.0.0.1:9999/"

// The fault matrix: every fault ends within a bounded time, with exit status >= 2 and a
// message that names the pod, the step and the fix. Each fault has its own pods
// (testdata/faults.yaml) in one namespace made on first use.

var (
	faultOnce sync.Once
	faultNs   string
	faultErr  error
)

// faults returns the namespace with the fault fixtures, Ready.
func (x *env) faults(t *testing.T) string {
	t.Helper()
	faultOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		faultNs, faultErr = x.namespace(ctx, "netdiff-e2e-faults", nil)
		if faultErr == nil {
			faultErr = x.apply(ctx, faultNs, "faults.yaml")
		}
		if faultErr == nil {
			faultErr = x.waitReady(ctx, faultNs, "f-a", "f-b", "pull-a", "pull-b", "fake-a", "fake-b", "kill-a", "sig-a", "sig-b",
				"ten-a", "ten-b", "rbac-a", "rbac-b", "multi", "hostnet2", "hostnet3", "tight", "sec-a", "sec-b", "flap-a", "flap-b", "conc-a", "conc-b", "via-a", "via-b")
		}
	})
	if faultErr != nil {
		t.Fatalf("fault fixtures: %v", faultErr)
	}
	return faultNs
}

var extraNamespaces struct {
	sync.Mutex
	names []string
}

// namespace creates a namespace with a unique name and labels, and its default
// ServiceAccount; TestMain's cleanup deletes it.
func (x *env) namespace(ctx context.Context, prefix string, labels map[string]string) (string, error) {
	ns := fmt.Sprintf("%s-%d", prefix, time.Now().UnixNano()%1e6)
	if out, err := x.kubectlOut(ctx, "create", "namespace", ns); err != nil {
		return "", fmt.Errorf("create namespace %s: %v: %s", ns, err, out)
	}
	extraNamespaces.Lock()
	extraNamespaces.names = append(extraNamespaces.names, ns)
	extraNamespaces.Unlock()
	for k, v := range labels {
		if out, err := x.kubectlOut(ctx, "label", "namespace", ns, k+"="+v); err != nil {
			return "", fmt.Errorf("label namespace %s: %v: %s", ns, err, out)
		}
	}
	if err := x.waitFor(ctx, "get", "serviceaccount", "default", "-n", ns); err != nil {
		if out, err := x.kubectlIn(ctx, "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: default}\nautomountServiceAccountToken: false\n", "apply", "-n", ns, "-f", "-"); err != nil {
			return "", fmt.Errorf("default ServiceAccount in %s: %v: %s", ns, err, out)
		}
	}
	return ns, nil
}

func deleteExtraNamespaces(x *env) {
	extraNamespaces.Lock()
	defer extraNamespaces.Unlock()
	if len(extraNamespaces.names) > 0 {
		args := append([]string{"delete", "namespace", "--wait=false"}, extraNamespaces.names...)
		_, _ = x.kubectlOut(context.Background(), args...)
	}
}

func (x *env) waitReady(ctx context.Context, ns string, pods ...string) error {
	args := []string{"wait", "-n", ns, "--for=condition=Ready", "--timeout=150s"}
	for _, p := range pods {
		args = append(args, "pod/"+p)
	}
	if out, err := x.kubectlOut(ctx, args...); err != nil {
		desc, _ := x.kubectlOut(ctx, "get", "pods", "-n", ns, "-o", "wide")
		return fmt.Errorf("pods not Ready: %v: %s\n%s", err, out, desc)
	}
	return nil
}

// fails checks the fault contract: exit >= 2, within limit, and stderr matching every
// pattern (the pod, the step, the fix).
func (r result) fails(t *testing.T, limit time.Duration, patterns ...string) {
	t.Helper()
	t.Logf("stderr (what the user sees):\n%s", clip(r.stderr))
	if r.code < 2 {
		t.Errorf("exit %d, want >= 2\nstdout:\n%s\nstderr:\n%s", r.code, clip(r.stdout), clip(r.stderr))
	}
	if r.took > limit {
		t.Errorf("took %s, want at most %s", r.took.Round(time.Millisecond), limit)
	}
	for _, p := range patterns {
		if !regexp.MustCompile(p).MatchString(r.stderr) {
			t.Errorf("stderr does not match %q:\n%s", p, clip(r.stderr))
		}
	}
	// client-go's own logging is noise around the message. The reflector's "Failed to
	// watch … context canceled" came with every failure and is gone; a rarer request.go
	// "Unexpected error when reading response body" (a List cut off by the same cancel)
	// can only be silenced in main (klog), so it is logged here, not failed.
	if strings.Contains(r.stderr, "reflector.go") {
		t.Errorf("stderr carries client-go reflector log lines:\n%s", clip(r.stderr))
	} else if regexp.MustCompile(`(?m)^[EWI]\d{4} `).MatchString(r.stderr) {
		t.Logf("note: stderr carries a client-go log line (klog is not silenced in main)")
	}
}

// running is a plugin run in the background, for faults injected while it works.
type running struct {
	cmd    *exec.Cmd
	so, se bytes.Buffer
	start  time.Time
	done   chan struct{}
	err    error
}

func (x *env) startNetdiff(t *testing.T, args ...string) *running {
	t.Helper()
	if x.image != "" && !hasFlag(args, "--image") {
		args = append(args, "--image", x.image)
	}
	r := &running{done: make(chan struct{})}
	r.cmd = exec.Command(x.plugin, args...)
	r.cmd.Env = x.environ()
	r.cmd.Stdout, r.cmd.Stderr = &r.so, &r.se
	r.start = time.Now()
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { r.err = r.cmd.Wait(); close(r.done) }()
	t.Cleanup(func() {
		select {
		case <-r.done:
		default:
			_ = r.cmd.Process.Kill()
			<-r.done
		}
	})
	t.Logf("started kubectl-netdiff %s (pid %d)", strings.Join(args, " "), r.cmd.Process.Pid)
	return r
}

// wait returns the result, or fails the test when the run outlives limit.
func (r *running) wait(t *testing.T, limit time.Duration) result {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(limit):
		_ = r.cmd.Process.Kill()
		<-r.done
		t.Fatalf("kubectl-netdiff still running after %s (killed)\nstderr:\n%s", limit, clip(r.se.String()))
	}
	res := result{stdout: r.so.String(), stderr: r.se.String(), took: time.Since(r.start)}
	if r.cmd.ProcessState != nil {
		res.code = r.cmd.ProcessState.ExitCode()
	}
	t.Logf("-> exit %d in %s", res.code, res.took.Round(time.Millisecond))
	return res
}

// collectPIDs lists the prober collect processes in a pod, seen from its app container
// (the prober shares the app's PID namespace).
func (x *env) collectPIDs(ctx context.Context, ns, pod string) []string {
	out, err := x.kubectlExec(ctx, ns, pod, "app", "ps")
	if err != nil {
		return nil
	}
	var pids []string
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "netdiff-prober collect") {
			if f := strings.Fields(l); len(f) > 0 {
				pids = append(pids, f[0])
			}
		}
	}
	return pids
}

// untilCollecting waits for a collect process in the pod other than the ones in old (a
// collect of an interrupted run goes on until its window ends).
func (x *env) untilCollecting(t *testing.T, ns, pod string, limit time.Duration, old ...string) []string {
	t.Helper()
	end := time.Now().Add(limit)
	for time.Now().Before(end) {
		var fresh []string
		for _, p := range x.collectPIDs(context.Background(), ns, pod) {
			if !slices.Contains(old, p) {
				fresh = append(fresh, p)
			}
		}
		if len(fresh) > 0 {
			return fresh
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("no netdiff-prober collect process in %s/%s within %s", ns, pod, limit)
	return nil
}

func (x *env) runningEphemerals(t *testing.T, ns, pod string) int {
	n := 0
	for _, c := range x.ephemerals(t, ns, pod) {
		if c.State == "running" {
			n++
		}
	}
	return n
}

func TestFaultImageCannotBePulled(t *testing.T) {
	x := need(t)
	ns := x.faults(t)
	// No registry is reachable: the kubelet gives up on a pull in about 25s. The three
	// cases run at once (each its own image) to keep the suite short.
	const img = "netdiff/netdiff-prober:no-such-tag-e2e"
	for _, c := range []struct{ name, image, policy, timeout string }{
		{"IfNotPresent", img + "-1", "IfNotPresent", "40s"},
		{"Always", img + "-2", "Always", "40s"},
		// --timeout shorter than the kubelet's pull: the same words, from the wait.
		{"timeout-first", img + "-3", "IfNotPresent", "8s"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			limit, _ := time.ParseDuration(c.timeout)
			r := x.netdiff(t, "-n", ns, "pull-a", "pull-b", "--image", c.image, "--image-pull-policy", c.policy, "--timeout", c.timeout, "--window", "1s")
			r.fails(t, limit+5*time.Second, "pull-[ab]", "wait for container", regexp.QuoteMeta(c.image), "--image")
		})
	}
}

func TestFaultPodNotFoundOrNotRunning(t *testing.T) {
	x := need(t)
	ns := x.faults(t)
	r := x.netdiff(t, "-n", ns, "f-a", "no-such-pod", "--timeout", "30s")
	r.fails(t, 30*time.Second, "no-such-pod", "not found", "namespace")
	r = x.netdiff(t, "-n", ns, "f-a", "pending", "--timeout", "30s")
	r.fails(t, 30*time.Second, ns+"/pending", "Pending, not Running")
}

// A namespace enforcing baseline admits the default profile; one enforcing restricted
// refuses it with the failed check and the --profile to use, and admits that profile.
func TestFaultPodSecurity(t *testing.T) {
	x := need(t)
	ctx := context.Background()
	for _, level := range []string{"baseline", "restricted"} {
		t.Run(level, func(t *testing.T) {
			ns, err := x.namespace(ctx, "netdiff-e2e-psa-"+level, map[string]string{"pod-security.kubernetes.io/enforce": level})
			if err != nil {
				t.Fatal(err)
			}
			if err := x.apply(ctx, ns, "psa.yaml"); err != nil {
				t.Fatal(err)
			}
			if err := x.waitReady(ctx, ns, "ps-a", "ps-b"); err != nil {
				t.Fatal(err)
			}
			r := x.netdiff(t, "-n", ns, "ps-a", "ps-b", "--window", "1s", "--timeout", "40s")
			if level == "baseline" {
				if r.code >= 2 {
					t.Fatalf("default profile under baseline: exit %d\n%s", r.code, clip(r.stderr))
				}
				return
			}
			r.fails(t, 40*time.Second, "ps-[ab]", "add ephemeral container", "violates PodSecurity", `restricted`, `--profile=restricted`,
				// The API server's words for the failed checks.
				`allowPrivilegeEscalation|runAsNonRoot|seccompProfile|capabilities`)
			r = x.netdiff(t, "-n", ns, "ps-a", "ps-b", "--profile", "restricted", "--window", "1s", "--timeout", "40s")
			if r.code >= 2 {
				t.Fatalf("--profile restricted under restricted: exit %d\n%s", r.code, clip(r.stderr))
			}
		})
	}
}

// A ServiceAccount that lacks one permission: the error names the verb and resource.
func TestFaultRBAC(t *testing.T) {
	x := need(t)
	ns := x.faults(t)
	ctx := context.Background()
	server, err := x.kubectlOut(ctx, "config", "view", "--raw", "--minify", "-o", "jsonpath={.clusters[0].cluster.server}")
	if err != nil {
		t.Fatal(err, server)
	}
	ca, err := x.kubectlOut(ctx, "config", "view", "--raw", "--minify", "--flatten", "-o", "jsonpath={.clusters[0].cluster.certificate-authority-data}")
	if err != nil || ca == "" {
		t.Fatalf("admin kubeconfig has no certificate-authority-data: %v %s", err, ca)
	}
	base := `
- apiGroups: [""]
  resources: [pods]
  verbs: [get, list, watch]`
	// Order matters: the first user cannot add a container, so the second one (which can)
	// finds no running prober to reuse and really needs pods/exec.
	for _, c := range []struct{ user, rules, want string }{
		{"noeph", base + `
- apiGroups: [""]
  resources: [pods/exec]
  verbs: [create, get]`, `"patch" on "pods/ephemeralcontainers"`},
		{"noexec", base + `
- apiGroups: [""]
  resources: [pods/ephemeralcontainers]
  verbs: [patch, get, update]`, `"create" \(and "get"\) on "pods/exec"`},
	} {
		t.Run(c.user, func(t *testing.T) {
			rbac := fmt.Sprintf(`apiVersion: v1
kind: ServiceAccount
metadata: {name: %[1]s}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: %[1]s}
rules:%[2]s
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: %[1]s}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: %[1]s}
subjects: [{kind: ServiceAccount, name: %[1]s, namespace: %[3]s}]
`, c.user, c.rules, ns)
			if out, err := x.kubectlIn(ctx, rbac, "apply", "-n", ns, "-f", "-"); err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			token, err := x.kubectlOut(ctx, "create", "token", c.user, "-n", ns, "--duration", "10m")
			if err != nil {
				t.Fatalf("create token: %v: %s", err, token)
			}
			kc := filepath.Join(t.TempDir(), "kubeconfig")
			cfg := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: %q, certificate-authority-data: %s}}]
users: [{name: u, user: {token: %q}}]
contexts: [{name: c, context: {cluster: c, user: u, namespace: %s}}]
current-context: c
`, server, ca, token, ns)
			if err := os.WriteFile(kc, []byte(cfg), 0o600); err != nil {
				t.Fatal(err)
			}
			u := *x
			u.kubeconfig = kc
			r := u.netdiff(t, "rbac-a", "rbac-b", "--window", "1s", "--timeout", "40s")
			r.fails(t, 40*time.Second, "rbac-[ab]", c.want)
		})
	}
}

// The prober's collect is killed mid-stream in one pod: that pod fails clearly, the
// other pod's report is still saved.
func TestFaultProberKilledMidStream(t *testing.T) {
	x := need(t)
	ns := x.faults(t)
	dir := t.TempDir()
	run := x.startNetdiff(t, "-n", ns, "f-a", "kill-a", "-t", stallTarget, "--window", "10s", "--timeout", "60s", "--save", dir)
	pids := x.untilCollecting(t, ns, "kill-a", 40*time.Second)
	if out, err := x.kubectlOut(context.Background(), append([]string{"exec", "-n", ns, "kill-a", "-c", "app", "--", "kill", "-9"}, pids...)...); err != nil {
		t.Fatalf("kill the prober: %v: %s", err, out)
	}
	r := run.wait(t, 60*time.Second)
	r.fails(t, 60*time.Second, ns+"/kill-a", "exec prober|read report", "killed|rerun")
	if strings.Contains(r.stderr, ns+"/f-a") {
		t.Errorf("the healthy pod f-a is reported as failing:\n%s", r.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, ns+"_f-a.json")); err != nil {
		t.Errorf("the healthy pod's report was not saved: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, ns+"_kill-a.json")); err == nil {
		t.Errorf("a report was saved for the pod whose prober was killed")
	}
}

func TestFaultPodDeletedWhileProbing(t *testing.T) {
	x := need(t)
	ns := x.faults(t)
	ctx := context.Background()
	pod := strings.Replace(`apiVersion: v1
kind: Pod
metadata: {name: doomed}
spec:
  nodeName: ${NODE}
  terminationGracePeriodSeconds: 1
  containers:
  - {name: app, image: ${APP_IMAGE}, imagePullPolicy: IfNotPresent, command: ["testapp", "-listen", ":8080"]}
  - {name: stall, image: ${APP_IMAGE}, imagePullPolicy: IfNotPresent, command: ["sh", "-c", "sleep 86400 | nc -l -p 9999"]}
`, "${NODE}", x.node, 1)
	pod = strings.ReplaceAll(pod, "${APP_IMAGE}", x.appImage)
	if out, err := x.kubectlIn(ctx, pod, "apply", "-n", ns, "-f", "-"); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if err := x.waitReady(ctx, ns, "doomed"); err != nil {
		t.Fatal(err)
	}
	run := x.startNetdiff(t, "-n", ns, "f-a", "doomed", "-t", stallTarget, "--window", "15s", "--timeout", "60s")
	x.untilCollecting(t, ns, "doomed", 40*time.Second)
	if out, err := x.kubectlOut(ctx, "delete", "pod", "-n", ns, "doomed", "--wait=false"); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	r := run.wait(t, 60*time.Second)
	r.fails(t, 60*time.Second, ns+"/doomed", "exec prober|read report|wait for container", "deleted|killed|rerun")
}

var (
	fakeOnce sync.Once
	fakeErr  error
)

// fakeProberImages builds netdiff/fake-prober:{garbage,schema,truncated} (testdata/
// fakeprober) with hack/mkimage and imports them into every local node's containerd.
func (x *env) fakeProberImages(t *testing.T) {
	t.Helper()
	socks, _ := filepath.Glob(filepath.Join(repoRoot(), "_out", "cluster", "nodes", "*", "containerd", "containerd.sock"))
	if len(socks) == 0 || os.Getenv("NETDIFF_E2E_LOCAL") == "" && os.Getenv("NETDIFF_E2E_IMAGE") != "" {
		t.Skip("fake prober images need the local cluster's containerd (make e2e)")
	}
	fakeOnce.Do(func() {
		dir, err := os.MkdirTemp("", "netdiff-e2e-fake-")
		if err != nil {
			fakeErr = err
			return
		}
		defer os.RemoveAll(dir)
		run := func(name string, args ...string) error {
			cmd := exec.Command(name, args...)
			cmd.Dir = repoRoot()
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
			if out, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("%s %v: %v: %s", name, args, err, out)
			}
			return nil
		}
		mk := filepath.Join(dir, "mkimage")
		if fakeErr = run("go", "build", "-o", mk, "./hack/mkimage"); fakeErr != nil {
			return
		}
		bin := filepath.Join(dir, "fakeprober")
		if fakeErr = run("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, "./test/e2e/testdata/fakeprober"); fakeErr != nil {
			return
		}
		arch := strings.TrimSpace(goEnv("GOARCH"))
		for _, mode := range []string{"garbage", "schema", "truncated"} {
			root := filepath.Join(dir, mode)
			if fakeErr = os.MkdirAll(root, 0o755); fakeErr != nil {
				return
			}
			b, _ := os.ReadFile(bin)
			if fakeErr = os.WriteFile(filepath.Join(root, "netdiff-prober"), b, 0o755); fakeErr != nil {
				return
			}
			if fakeErr = os.WriteFile(filepath.Join(root, "mode"), []byte(mode), 0o644); fakeErr != nil {
				return
			}
			tar := filepath.Join(dir, mode+".tar")
			if fakeErr = run(mk, "-ref", "netdiff/fake-prober:"+mode, "-entrypoint", "/netdiff-prober", "-rootfs", "linux/"+arch+"="+root, "-docker-tar", tar); fakeErr != nil {
				return
			}
			for _, sock := range socks {
				if fakeErr = run("ctr", "--address", sock, "-n", "k8s.io", "images", "import", tar); fakeErr != nil {
					return
				}
			}
		}
	})
	if fakeErr != nil {
		t.Fatalf("fake prober images: %v", fakeErr)
	}
}

func goEnv(k string) string {
	out, _ := exec.Command("go", "env", k).Output()
	return string(out)
}

// A prober image whose collect prints garbage, a report of another schema version, or a
// truncated report: a clear error naming the pod, "read report" and the image to fix.
func TestFaultWrongProberOutput(t *testing.T) {
	x := need(t)
	ns := x.faults(t)
	x.fakeProberImages(t)
	for _, c := range []struct{ mode, want string }{
		{"garbage", "malformed report"},
		{"schema", `netdiff.report/v999.*same version`},
		{"truncated", "malformed report|unexpected EOF"},
	} {
		t.Run(c.mode, func(t *testing.T) {
			r := x.netdiff(t, "-n", ns, "fake-a", "fake-b", "--image", "netdiff/fake-prober:"+c.mode, "--image-pull-policy", "Never", "--window", "1s", "--timeout", "40s")
			r.fails(t, 40*time.Second, "fake-[ab]", "read report", c.want, "--image")
		})
	}
}

// Ctrl-C during injection and during the exec: the plugin returns promptly, and the
// prober's collect in the pod stops too.
func TestFaultInterrupt(t *testing.T) {
	x := need(t)
	ns := x.faults(t)
	interrupt := func(t *testing.T, r *running) result {
		t.Helper()
		sent := time.Now()
		if err := r.cmd.Process.Signal(syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
		res := r.wait(t, 15*time.Second)
		if d := time.Since(sent); d > 5*time.Second {
			t.Errorf("returned %s after SIGINT, want at most 5s", d.Round(time.Millisecond))
		}
		if res.code == 0 || res.code == 1 {
			t.Errorf("exit %d after SIGINT: an interrupted run must not look like a diff result", res.code)
		}
		if !strings.Contains(res.stderr, "interrupted") || strings.Contains(res.stderr, "reflector.go") {
			t.Errorf("after SIGINT, stderr should say it was interrupted, without client-go log lines:\n%s", clip(res.stderr))
		}
		return res
	}
	t.Run("injection", func(t *testing.T) {
		// An image that is never pulled keeps the run waiting for its container (the
		// kubelet takes ~25s to give up on the pull here).
		r := x.startNetdiff(t, "-n", ns, "sig-a", "sig-b", "--image", "netdiff/netdiff-prober:no-such-tag-sigint", "--window", "10s", "--timeout", "60s")
		time.Sleep(1500 * time.Millisecond)
		interrupt(t, r)
	})
	t.Run("exec", func(t *testing.T) {
		old := x.collectPIDs(context.Background(), ns, "sig-a")
		r := x.startNetdiff(t, "-n", ns, "sig-a", "sig-b", "-t", stallTarget, "--window", "10s", "--timeout", "60s")
		x.untilCollecting(t, ns, "sig-a", 40*time.Second, old...)
		interrupt(t, r)
		// The torn-down exec closes the collect's stdin (--stdin-watch): it stops within
		// seconds, long before its 10s window would have ended.
		end := time.Now().Add(4 * time.Second)
		for len(x.collectPIDs(context.Background(), ns, "sig-a")) > 0 {
			if time.Now().After(end) {
				t.Fatalf("netdiff-prober collect still runs in sig-a 4s after SIGINT (its window had ~10s left)")
			}
			time.Sleep(500 * time.Millisecond)
		}
	})
}

// findings returns rule -> message of a -o json run.
func findings(d diffJSON) map[string]string {
	m := map[string]string{}
	for _, f := range d.Findings {
		m[f.Rule] = f.Message
	}
	return m
}

// Two containers of one pod, and two hostNetwork pods, live in one network namespace:
// the diff says so.
func TestFaultSharedNetns(t *testing.T) {
	x := need(t)
	ns := x.faults(t)
	t.Run("containers", func(t *testing.T) {
		r := x.netdiff(t, "-n", ns, "multi", "multi", "--container-a", "app", "--container-b", "side", "-o", "json", "--window", "1s")
		r.want(t, 0)
		d := parseDiff(t, r)
		if f := findings(d); !strings.Contains(f["netns/shared"], "one network namespace") {
			t.Errorf("no netns/shared finding for two containers of one pod: %v", f)
		}
	})
	t.Run("hostNetwork", func(t *testing.T) {
		r := x.netdiff(t, "-n", ns, "hostnet2", "hostnet3", "-o", "json", "--window", "1s")
		if r.code >= 2 {
			t.Fatalf("exit %d\n%s", r.code, clip(r.stderr))
		}
		d := parseDiff(t, r)
		if f := findings(d); !strings.Contains(f["netns/shared"], "one network namespace") {
			t.Errorf("no netns/shared finding for two hostNetwork pods: %v", f)
		}
	})
}

// A 32Mi pod: the prober (idle and collect run in the pod's cgroup) must not get it
// OOM-killed.
func TestFaultTightMemoryLimit(t *testing.T) {
	x := need(t)
	ns := x.faults(t)
	r := x.netdiff(t, "-n", ns, "f-b", "tight", "--window", "2s")
	if r.code >= 2 {
		t.Fatalf("exit %d\n%s", r.code, clip(r.stderr))
	}
	// The limit is really enforced here (else the test proves nothing).
	limit, err := x.kubectlExec(context.Background(), ns, "tight", "app", "sh", "-c",
		"cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes")
	if err != nil || strings.TrimSpace(limit) != "33554432" {
		t.Fatalf("the app container's cgroup memory limit is %q (%v), want 33554432 (32Mi)", limit, err)
	}
	out, err := x.kubectlOut(context.Background(), "get", "pod", "-n", ns, "tight", "-o",
		`jsonpath={range .status.containerStatuses[*]}{.name} restarts={.restartCount} last={.lastState.terminated.reason}{"\n"}{end}{range .status.ephemeralContainerStatuses[*]}{.name} terminated={.state.terminated.reason}{"\n"}{end}`)
	if err != nil {
		t.Fatal(err, out)
	}
	if strings.Contains(out, "OOMKilled") || !strings.Contains(out, "restarts=0") {
		t.Errorf("the 32Mi pod was OOM-killed or restarted:\n%s", out)
	}
}

// Ten runs leave at most one running netdiff container per pod.
func TestFaultTenRunsOneContainer(t *testing.T) {
	x := need(t)
	ns := x.faults(t)
	for i := 0; i < 10; i++ {
		if r := x.netdiff(t, "-n", ns, "ten-a", "ten-b", "--window", "1s"); r.code >= 2 {
			t.Fatalf("run %d: exit %d\n%s", i+1, r.code, clip(r.stderr))
		}
	}
	for _, p := range []string{"ten-a", "ten-b"} {
		if n := x.runningEphemerals(t, ns, p); n != 1 {
			t.Errorf("%s has %d running netdiff containers after ten runs, want 1: %v", p, n, x.ephemerals(t, ns, p))
		}
	}
}

// Four runs started at the same moment on a fresh pair all succeed and leave one prober
// container per pod: the container's name comes from its spec, so the API server merges
// the four adds into one.
func TestFaultConcurrentRunsOneContainer(t *testing.T) {
	x := need(t)
	ns := x.faults(t)
	var runs []*running
	for range 4 {
		runs = append(runs, x.startNetdiff(t, "-n", ns, "conc-a", "conc-b"))
	}
	for i, r := range runs {
		if res := r.wait(t, 2*time.Minute); res.code >= 2 {
			t.Errorf("run %d: exit %d\n%s", i+1, res.code, clip(res.stderr))
		}
	}
	for _, p := range []string{"conc-a", "conc-b"} {
		if es := x.ephemerals(t, ns, p); len(es) != 1 {
			t.Errorf("%s has %d netdiff containers after four concurrent runs, want 1: %v", p, len(es), es)
		}
	}
}

// Planted secrets (a password in the environment, userinfo in a proxy URL) appear in no
// output format and in no saved report, while the variables themselves are compared.
func TestFaultPlantedSecretsNeverPrinted(t *testing.T) {
	x := need(t)
	ns := x.faults(t)
	secrets := []string{"s3cret", "hunter2", "hunter3", "0therS3cret"}
	dir := t.TempDir()
	var all strings.Builder
	for _, o := range []string{"table", "wide", "json", "yaml"} {
		args := []string{"-n", ns, "sec-a", "sec-b", "-o", o, "--all", "--window", "1s"}
		if o == "json" {
			args = append(args, "--save", dir)
		}
		r := x.netdiff(t, args...)
		if r.code >= 2 {
			t.Fatalf("-o %s: exit %d\n%s", o, r.code, clip(r.stderr))
		}
		for _, s := range secrets {
			if strings.Contains(r.stdout, s) || strings.Contains(r.stderr, s) {
				t.Errorf("-o %s prints the planted secret %q", o, s)
			}
		}
		all.WriteString(r.stdout)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if len(files) != 2 {
		t.Fatalf("--save wrote %v, want two reports", files)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range secrets {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("saved report %s holds the planted secret %q", f, s)
			}
		}
		all.Write(b)
	}
	// Proof the environment was read at all: the proxy variable is compared, its
	// credentials are not printed. (PASSWORD is not a variable netdiff reports at all.)
	for _, name := range []string{"HTTP_PROXY"} {
		if !strings.Contains(all.String(), name) {
			t.Errorf("no output mentions %s: the test did not see the app's environment", name)
		}
	}
}
