// Command bench measures `kubectl netdiff pod-a pod-b` against the floor on a real
// cluster, side by side in one run (make bench, docs/performance.md).
//
// The floor is what `kubectl debug --image=<prober> POD -- netdiff-prober version` costs:
// one ephemeral container added with the prober image (a strategic merge patch of
// pods/ephemeralcontainers), the wait until the kubelet runs it, and one exec of
// `netdiff-prober version` in it. netdiff does that for two pods at once, plus the probe
// window, the diff and the render. The reuse run diffs the same pods again (the prober
// containers are running) and is compared with one exec into a running container.
//
// Every repetition uses fresh pods, so nothing is reused that should not be. The last
// line printed is `netdiff/floor ratio: X.XX` (medians).
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/netdiff/kubectl-netdiff/pkg/kexec"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
)

func main() {
	var (
		kubeconfig = flag.String("kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig of the cluster")
		plugin     = flag.String("plugin", "bin/kubectl-netdiff", "the plugin binary")
		image      = flag.String("image", "", "prober image (default netdiff/netdiff-prober:$(cat VERSION))")
		appImage   = flag.String("app-image", "netdiff/busybox:v1", "image of the pods under test")
		reps       = flag.Int("reps", 5, "repetitions")
		extra      = flag.String("args", "", "extra plugin flags, space separated (e.g. --window 1s)")
		keep       = flag.Bool("keep", false, "keep the namespace")
		minimal    = flag.String("minimal-client", "", "internal: be the minimal client (NS/POD/CONTAINER,NS/POD/CONTAINER) and exit")
		scale      = flag.String("scale", "10,50,100", "pod counts of the scale runs (comma separated; empty: none)")
	)
	flag.Parse()
	if *image == "" {
		v, err := os.ReadFile("VERSION")
		if err != nil {
			die("read VERSION (run from the repository root or pass -image): %v", err)
		}
		*image = "netdiff/netdiff-prober:" + strings.TrimSpace(string(v))
	}
	if *minimal != "" {
		if err := minimalClient(*kubeconfig, strings.Split(*minimal, ",")); err != nil {
			die("minimal client: %v", err)
		}
		return
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		die("kubeconfig: %v", err)
	}
	cfg.QPS, cfg.Burst = 50, 100
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		die("%v", err)
	}
	ctx := context.Background()
	b := &bench{cs: cs, cfg: cfg, image: *image, app: *appImage, plugin: *plugin, kubeconfig: *kubeconfig, extra: strings.Fields(*extra)}
	if err := b.setup(ctx, *reps); err != nil {
		die("setup: %v", err)
	}
	if !*keep {
		defer func() {
			_ = cs.CoreV1().Namespaces().Delete(context.Background(), b.ns, metav1.DeleteOptions{})
		}()
	}
	var floor, eager, eagerPair, netdiff, reuse, reuseNoSpread, execOnly, minimalRuns []time.Duration
	phases, reusePhases := map[string][]time.Duration{}, map[string][]time.Duration{}
	for i := range *reps {
		f, err := b.floor(ctx, fmt.Sprintf("r%d-f", i), true)
		if err != nil {
			die("floor: %v", err)
		}
		g, err := b.floor(ctx, fmt.Sprintf("r%d-g", i), false)
		if err != nil {
			die("floor (eager exec): %v", err)
		}
		gp, err := b.eagerPair(ctx, fmt.Sprintf("r%d-h", i), fmt.Sprintf("r%d-i", i))
		if err != nil {
			die("floor (eager exec, two pods at once): %v", err)
		}
		n, tm, err := b.netdiff(ctx, fmt.Sprintf("r%d-a", i), fmt.Sprintf("r%d-b", i))
		if err != nil {
			die("netdiff: %v", err)
		}
		for k, v := range tm {
			phases[k] = append(phases[k], v)
		}
		r, rtm, err := b.netdiff(ctx, fmt.Sprintf("r%d-a", i), fmt.Sprintf("r%d-b", i))
		if err != nil {
			die("netdiff (reuse): %v", err)
		}
		for k, v := range rtm {
			reusePhases[k] = append(reusePhases[k], v)
		}
		// The default window against v0.1's back-to-back attempts, on the same pods.
		r0, _, err := b.netdiff(ctx, fmt.Sprintf("r%d-a", i), fmt.Sprintf("r%d-b", i), "--spread", "0")
		if err != nil {
			die("netdiff (reuse, --spread 0): %v", err)
		}
		m, err := b.minimal(ctx, fmt.Sprintf("r%d-a", i), fmt.Sprintf("r%d-b", i))
		if err != nil {
			die("minimal client: %v", err)
		}
		minimalRuns = append(minimalRuns, m)
		e, err := b.execVersion(ctx, fmt.Sprintf("r%d-f", i))
		if err != nil {
			die("exec: %v", err)
		}
		floor, eager, netdiff, reuse, execOnly = append(floor, f), append(eager, g), append(netdiff, n), append(reuse, r), append(execOnly, e)
		reuseNoSpread, eagerPair = append(reuseNoSpread, r0), append(eagerPair, gp)
		fmt.Printf("rep %d: floor %s  eager floor %s (pair %s)  netdiff %s  reuse %s  reuse --spread 0 %s  exec %s\n", i+1, ms(f), ms(g), ms(gp), ms(n), ms(r), ms(r0), ms(e))
	}
	fmt.Printf("\n%-34s %9s %9s %9s\n", "", "min", "median", "max")
	for _, row := range []struct {
		name string
		d    []time.Duration
	}{
		{"floor (add container + exec)", floor},
		{"eager floor (exec retried early)", eager},
		{"  the same, two pods at once", eagerPair},
		{"kubectl netdiff a b", netdiff},
		{"kubectl netdiff a b (reuse)", reuse},
		{"  the same with --spread 0", reuseNoSpread},
		{"minimal client, same pods (1s window)", minimalRuns},
		{"exec in running container", execOnly},
	} {
		lo, med, hi := stats(row.d)
		fmt.Printf("%-34s %9s %9s %9s\n", row.name, ms(lo), ms(med), ms(hi))
	}
	printPhases("per-phase medians of the first run (--timings, the slower pod)", phases)
	printPhases("per-phase medians of the reuse run", reusePhases)
	type scaleRow struct {
		n            int
		fresh, reuse run
	}
	var scaled []scaleRow
	// The pair's pods make room for the scale runs (a node takes a bounded number of pods).
	if err := b.deletePods(ctx, "app=bench"); err != nil {
		die("delete the pair's pods: %v", err)
	}
	for _, f := range strings.Split(*scale, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 2 {
			continue
		}
		app := fmt.Sprintf("scale%d", n)
		var names []string
		for i := range n {
			names = append(names, fmt.Sprintf("%s-%d", app, i))
		}
		start := time.Now()
		if err := b.createPods(ctx, names, app, 10*time.Minute); err != nil {
			die("scale %d: pods: %v", n, err)
		}
		fmt.Printf("scale %d: %d pods Ready in %s\n", n, n, ms(time.Since(start)))
		fresh, err := b.selector(ctx, "app="+app)
		if err != nil {
			die("scale %d: %v", n, err)
		}
		reused, err := b.selector(ctx, "app="+app)
		if err != nil {
			die("scale %d (reuse): %v", n, err)
		}
		scaled = append(scaled, scaleRow{n, fresh, reused})
		if err := b.deletePods(ctx, "app="+app); err != nil {
			die("scale %d: delete pods: %v", n, err)
		}
	}
	if len(scaled) > 0 {
		fmt.Printf("\nkubectl netdiff -l on N pods (one run each; RSS of the plugin, requests to the API server):\n")
		fmt.Printf("%6s %10s %10s %10s %10s %8s %8s %10s\n", "pods", "fresh", "reuse", "RSS fresh", "RSS reuse", "API", "API re", "CPU/pod")
		for _, r := range scaled {
			fmt.Printf("%6d %10s %10s %9.1fM %9.1fM %8d %8d %10s\n", r.n, ms(r.fresh.wall), ms(r.reuse.wall),
				float64(r.fresh.rssKiB)/1024, float64(r.reuse.rssKiB)/1024, r.fresh.requests, r.reuse.requests, ms(r.reuse.cpuPerPod))
		}
	}

	_, fm, _ := stats(floor)
	_, nm, _ := stats(netdiff)
	_, rm, _ := stats(reuse)
	_, gm, _ := stats(eager)
	_, em, _ := stats(execOnly)
	_, r0m, _ := stats(reuseNoSpread)
	_, gpm, _ := stats(eagerPair)
	fmt.Printf("\ndefault spread cost (reuse minus reuse --spread 0): %s\n", ms(rm-r0m))
	// The probe window is time the user asked to watch: the overhead is the rest.
	window := time.Second
	fmt.Printf("\nwhere the overhead (wall minus the %s window) goes, medians over the runs:\n", window)
	printBreakdown("reuse", reusePhases, window)
	printBreakdown("fresh", phases, window)
	_, mm, _ := stats(minimalRuns)
	fmt.Printf("  a bare exec (`netdiff-prober version` in a running container): %s; eager floor %s, for two pods at once %s\n", ms(em), ms(gm), ms(gpm))
	fmt.Printf("  the minimal client's overhead (a process that reads both pods, execs a 1s window in both, decodes): %s = %.2f execs\n", ms(mm-window), (mm-window).Seconds()/em.Seconds())
	fmt.Printf("\nnetdiff/eager-floor ratio: %.2f\n", nm.Seconds()/gm.Seconds())
	fmt.Printf("overhead/eager-floor-pair ratio: %.2f\n", (nm-window).Seconds()/gpm.Seconds())
	fmt.Printf("reuse/exec ratio: %.2f\n", rm.Seconds()/em.Seconds())
	pods100 := "n/a (no 100-pod run in -scale)"
	for _, r := range scaled {
		if r.n == 100 {
			pods100 = fmt.Sprintf("%.2f", r.reuse.wall.Seconds()/rm.Seconds())
		}
	}
	fmt.Printf("pods100/pair reuse ratio: %s\n", pods100)
	fmt.Printf("reuse-overhead/exec ratio: %.2f\n", (rm-window).Seconds()/em.Seconds())
	fmt.Printf("overhead/eager-floor ratio: %.2f\n", (nm-window).Seconds()/gm.Seconds())
	fmt.Printf("netdiff/floor ratio: %.2f\n", nm.Seconds()/fm.Seconds())
}

func printPhases(title string, phases map[string][]time.Duration) {
	fmt.Printf("\n%s:\n", title)
	names := make([]string, 0, len(phases))
	for k := range phases {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		lo, med, hi := stats(phases[k])
		fmt.Printf("  %-30s %9s  (min %s, max %s)\n", k, ms(med), ms(lo), ms(hi))
	}
}

// printBreakdown splits one kind of run's overhead by who spends it, from each run's
// --timings, taking the pod the run waited for (the longest patch plus exec): the plugin's
// own time (wall minus that pod's patch and exec: its process start, the pod reads,
// decoding, diff, render), the exec (patch plus exec minus the prober's collect: adding
// the container and waiting for it when fresh, the upgrade through the API server and
// kubelet, the process start in the container, the transfer) and the prober beyond the
// window (before it opens, the readers after the probes, the encoding). The parts of one
// run add up to its overhead; their medians over the runs need not.
func printBreakdown(kind string, phases map[string][]time.Duration, window time.Duration) {
	wall, own, transport, collect := phases["total (wall)"], phases["part: plugin"], phases["part: exec"], phases["part: prober collect"]
	if len(wall) == 0 || len(own) != len(wall) || len(transport) != len(wall) || len(collect) != len(wall) {
		fmt.Printf("  %s: no breakdown (--timings gave %d walls, %d breakdowns)\n", kind, len(wall), len(own))
		return
	}
	var beyond []time.Duration
	for _, c := range collect {
		beyond = append(beyond, c-window)
	}
	_, w, _ := stats(wall)
	_, o, _ := stats(own)
	_, t, _ := stats(transport)
	_, p, _ := stats(beyond)
	fmt.Printf("  %-6s overhead %s ≈ plugin %s + exec %s + prober beyond the window %s\n", kind, ms(w-window), ms(o), ms(t), ms(p))
}

type bench struct {
	cs         kubernetes.Interface
	cfg        *rest.Config
	ns, node   string
	image, app string
	plugin     string
	kubeconfig string
	extra      []string
}

func (b *bench) setup(ctx context.Context, reps int) error {
	nodes, err := b.cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil || len(nodes.Items) == 0 {
		return fmt.Errorf("list nodes: %v", err)
	}
	b.node = nodes.Items[0].Name
	ns, err := b.cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "netdiff-bench-"}}, metav1.CreateOptions{})
	if err != nil {
		return err
	}
	b.ns = ns.Name
	// The controller-manager makes the default ServiceAccount; do it if it is slow.
	if err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
		_, err := b.cs.CoreV1().ServiceAccounts(b.ns).Get(ctx, "default", metav1.GetOptions{})
		return err == nil, nil
	}); err != nil {
		no := false
		if _, err := b.cs.CoreV1().ServiceAccounts(b.ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}, AutomountServiceAccountToken: &no}, metav1.CreateOptions{}); err != nil {
			return err
		}
	}
	var names []string
	for i := range reps {
		for _, s := range []string{"a", "b", "f", "g", "h", "i"} {
			names = append(names, fmt.Sprintf("r%d-%s", i, s))
		}
	}
	return b.createPods(ctx, names, "bench", 3*time.Minute)
}

// deletePods deletes the pods a selector picks and waits until they are gone.
func (b *bench) deletePods(ctx context.Context, sel string) error {
	zero := int64(0)
	if err := b.cs.CoreV1().Pods(b.ns).DeleteCollection(ctx, metav1.DeleteOptions{GracePeriodSeconds: &zero}, metav1.ListOptions{LabelSelector: sel}); err != nil {
		return err
	}
	return wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, 3*time.Minute, true, func(ctx context.Context) (bool, error) {
		l, err := b.cs.CoreV1().Pods(b.ns).List(ctx, metav1.ListOptions{LabelSelector: sel})
		return err == nil && len(l.Items) == 0, nil
	})
}

// createPods creates the app pods and waits until all are Ready.
func (b *bench) createPods(ctx context.Context, names []string, app string, limit time.Duration) error {
	grace := int64(1)
	for _, n := range names {
		p := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: n, Labels: map[string]string{"app": app}},
			Spec: corev1.PodSpec{
				NodeName:                      b.node,
				TerminationGracePeriodSeconds: &grace,
				Containers: []corev1.Container{{
					Name: "app", Image: b.app, ImagePullPolicy: corev1.PullIfNotPresent,
					Command: []string{"testapp", "-listen", ":8080"},
				}},
			},
		}
		if _, err := b.cs.CoreV1().Pods(b.ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			return err
		}
	}
	sel := "app=" + app
	return wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, limit, true, func(ctx context.Context) (bool, error) {
		l, err := b.cs.CoreV1().Pods(b.ns).List(ctx, metav1.ListOptions{LabelSelector: sel})
		if err != nil {
			return false, nil
		}
		ready := 0
		for _, p := range l.Items {
			for _, c := range p.Status.Conditions {
				if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
					ready++
				}
			}
		}
		return ready == len(names), nil
	})
}

// floor adds one ephemeral container running the prober's idle loop (so it can be exec'd
// into, as kubectl debug's container can be attached to), waits for it to run, and execs
// `netdiff-prober version` once. With waitStatus false it is the eager floor: no waiting
// for the status to say Running (it lags the kubelet by up to a second); the exec is
// retried until the container takes it, as netdiff does.
func (b *bench) floor(ctx context.Context, pod string, waitStatus bool) (time.Duration, error) {
	start := time.Now()
	name := "floor"
	patch, _ := json.Marshal(map[string]any{"spec": map[string]any{"ephemeralContainers": []corev1.EphemeralContainer{{
		TargetContainerName: "app",
		EphemeralContainerCommon: corev1.EphemeralContainerCommon{
			Name: name, Image: b.image, ImagePullPolicy: corev1.PullIfNotPresent,
			Command:                  []string{"/netdiff-prober", "idle", "--timeout", "10m"},
			TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
		},
	}}}})
	pods := b.cs.CoreV1().Pods(b.ns)
	if _, err := pods.Patch(ctx, pod, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "ephemeralcontainers"); err != nil {
		return 0, err
	}
	if !waitStatus {
		for {
			if _, err := b.execVersion(ctx, pod); err == nil {
				return time.Since(start), nil
			} else if !kexec.IsNotReady(err) || time.Since(start) > time.Minute {
				return 0, err
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	w, err := pods.Watch(ctx, metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", pod).String()})
	if err != nil {
		return 0, err
	}
	func() {
		defer w.Stop()
		for ev := range w.ResultChan() {
			p, ok := ev.Object.(*corev1.Pod)
			if !ok {
				continue
			}
			for _, s := range p.Status.EphemeralContainerStatuses {
				if s.Name == name && s.State.Running != nil {
					return
				}
			}
		}
	}()
	if _, err := b.execVersion(ctx, pod); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// minimal runs this program again as the minimal client on two pods whose netdiff
// containers run: what any tool costs that starts, reads the two pods and watches a 1s
// window in both over exec, without probing, diffing or rendering anything. The reuse
// run's overhead is netdiff's; this one's is the design's floor.
func (b *bench) minimal(ctx context.Context, podA, podB string) (time.Duration, error) {
	var targets []string
	for _, name := range []string{podA, podB} {
		p, err := b.cs.CoreV1().Pods(b.ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return 0, err
		}
		c := ""
		for _, st := range p.Status.EphemeralContainerStatuses {
			if strings.HasPrefix(st.Name, "netdiff-") && st.State.Running != nil {
				c = st.Name
			}
		}
		if c == "" {
			return 0, fmt.Errorf("pod %s has no running netdiff container", name)
		}
		targets = append(targets, b.ns+"/"+name+"/"+c)
	}
	self, err := os.Executable()
	if err != nil {
		return 0, err
	}
	cmd := exec.CommandContext(ctx, self, "-kubeconfig", b.kubeconfig, "-minimal-client", strings.Join(targets, ","))
	var se bytes.Buffer
	cmd.Stderr = &se
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return 0, fmt.Errorf("%v: %s", err, se.String())
	}
	return time.Since(start), nil
}

// minimalClient is the child side of minimal.
func minimalClient(kubeconfig string, targets []string) error {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	ctx := context.Background()
	errs := make(chan error, len(targets))
	for _, t := range targets {
		go func() {
			f := strings.SplitN(t, "/", 3)
			if len(f) != 3 {
				errs <- fmt.Errorf("target %q is not NS/POD/CONTAINER", t)
				return
			}
			if _, err := cs.CoreV1().Pods(f[0]).Get(ctx, f[1], metav1.GetOptions{}); err != nil {
				errs <- err
				return
			}
			var out, errOut bytes.Buffer
			cmd := []string{"/netdiff-prober", "collect", "-q", "--only", "counters", "--window", "1s"}
			if err := kexec.Exec(ctx, cfg, cs.CoreV1().RESTClient(), f[0], f[1], f[2], cmd, &out, &errOut); err != nil {
				errs <- fmt.Errorf("exec in %s: %v: %s", t, err, errOut.String())
				return
			}
			_, err := report.Decode(&out)
			errs <- err
		}()
	}
	for range targets {
		if err := <-errs; err != nil {
			return err
		}
	}
	return nil
}

// eagerPair is the eager floor for two pods at once, as netdiff adds its two containers:
// both patched concurrently, each exec retried until it takes; the time until both have.
func (b *bench) eagerPair(ctx context.Context, podA, podB string) (time.Duration, error) {
	start := time.Now()
	errs := make(chan error, 2)
	for _, p := range []string{podA, podB} {
		go func() { _, err := b.floor(ctx, p, false); errs <- err }()
	}
	for range 2 {
		if err := <-errs; err != nil {
			return 0, err
		}
	}
	return time.Since(start), nil
}

func (b *bench) execVersion(ctx context.Context, pod string) (time.Duration, error) {
	start := time.Now()
	var out, errOut bytes.Buffer
	if err := kexec.Exec(ctx, b.cfg, b.cs.CoreV1().RESTClient(), b.ns, pod, "floor", []string{"/netdiff-prober", "version"}, &out, &errOut); err != nil {
		return 0, fmt.Errorf("exec version in %s: %v: %s", pod, err, errOut.String())
	}
	return time.Since(start), nil
}

// netdiff runs the plugin and returns its wall time and the --timings phases, summed
// over the phase name's max across the two pods (they run concurrently).
func (b *bench) netdiff(ctx context.Context, a, bb string, flags ...string) (time.Duration, map[string]time.Duration, error) {
	r, stderr, err := b.runPlugin(ctx, append([]string{"-n", b.ns, a, bb}, flags...))
	if err != nil {
		return 0, nil, err
	}
	tm := map[string]time.Duration{}
	perPod := map[string]map[string]time.Duration{}
	sc := bufio.NewScanner(strings.NewReader(stderr))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 3 || f[0] != "timing:" {
			continue
		}
		d, err := time.ParseDuration(f[len(f)-1])
		if err != nil {
			continue
		}
		phase := f[len(f)-2]
		if len(f) == 3 { // "timing: diff+render 3ms"
			phase = f[1]
		} else if len(f) == 4 { // "timing: POD PHASE 3ms"
			if perPod[f[1]] == nil {
				perPod[f[1]] = map[string]time.Duration{}
			}
			perPod[f[1]][phase] = d
		}
		tm[phase] = max(tm[phase], d)
	}
	tm["total (wall)"] = r.wall
	// The breakdown takes one pod's figures together: the pod whose patch and exec took
	// longest, which is the one the run waited for.
	var slow map[string]time.Duration
	for _, p := range perPod {
		if slow == nil || p["patch"]+p["exec"] > slow["patch"]+slow["exec"] {
			slow = p
		}
	}
	if slow != nil && slow["prober-collect"] > 0 {
		tm["part: plugin"] = r.wall - slow["patch"] - slow["exec"]
		tm["part: exec"] = slow["patch"] + slow["exec"] - slow["prober-collect"]
		tm["part: prober collect"] = slow["prober-collect"]
	}
	return r.wall, tm, nil
}

// run is one plugin run: its wall time, peak RSS and the API requests --timings counted.
type run struct {
	wall     time.Duration
	rssKiB   int64
	requests int
	// cpuPerPod is the prober's CPU time per pod (median of the pods' cpuMs).
	cpuPerPod time.Duration
}

// selector runs kubectl netdiff on the pods a label selector picks.
func (b *bench) selector(ctx context.Context, sel string) (run, error) {
	r, _, err := b.runPlugin(ctx, []string{"-n", b.ns, "-l", sel, "-o", "json"})
	return r, err
}

// runPlugin runs the plugin with --timings (exit 1, differences, is success) and returns
// the run and its stderr.
func (b *bench) runPlugin(ctx context.Context, args []string) (run, string, error) {
	args = append(append(args, "--timings", "--image", b.image), b.extra...)
	cmd := exec.CommandContext(ctx, b.plugin, args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+b.kubeconfig, "NO_COLOR=1")
	var se bytes.Buffer
	cmd.Stderr = &se
	start := time.Now()
	err := cmd.Run()
	r := run{wall: time.Since(start)}
	if err != nil && cmd.ProcessState.ExitCode() != 1 {
		return r, "", fmt.Errorf("%s %v: %v\n%s", b.plugin, args, err, se.String())
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.rssKiB = ru.Maxrss
	}
	var cpu []time.Duration
	for _, l := range strings.Split(se.String(), "\n") {
		if n, ok := strings.CutPrefix(l, "timing: api-requests "); ok {
			r.requests, _ = strconv.Atoi(n)
		}
		if _, v, ok := strings.Cut(l, " prober-cpu "); ok && strings.HasPrefix(l, "timing: ") {
			if d, err := time.ParseDuration(v); err == nil {
				cpu = append(cpu, d)
			}
		}
	}
	if len(cpu) > 0 {
		_, r.cpuPerPod, _ = stats(cpu)
	}
	return r, se.String(), nil
}

func stats(d []time.Duration) (lo, med, hi time.Duration) {
	if len(d) == 0 {
		return
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	med = s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return s[0], med, s[len(s)-1]
}

func ms(d time.Duration) string { return d.Round(time.Millisecond).String() }

func die(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
	os.Exit(2)
}
