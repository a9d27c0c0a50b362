//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// The case study's fault on a live pod: its default route comes and goes at ~7 Hz (absent
// a third of the time), planted from outside into the pod's network namespace. With
// default flags netdiff names the flapping route as the first cause, every run.
func TestIntermittentRouteNamedAsChanging(t *testing.T) {
	x := need(t)
	if os.Getenv("NETDIFF_E2E_LOCAL") == "" {
		t.Skip("planting the flap needs the pod's processes on this machine (the local cluster, make e2e)")
	}
	ns := x.faults(t)
	stop := x.flapDefaultRoute(t, ns, "flap-b", 143*time.Millisecond)
	defer stop()
	const runs = 3
	named := 0
	for run := range runs {
		r := x.netdiff(t, "-n", ns, "flap-a", "flap-b", "-o", "json")
		if r.code != 1 {
			t.Errorf("run %d: exit %d, want 1 (differences)\n%s", run, r.code, clip(r.stderr))
			continue
		}
		d := parseDiff(t, r)
		top := d.Findings[0]
		if top.Kind != "cause" || top.Rule != "events/churn" || top.Subject != "flap-b" ||
			!strings.Contains(top.Message, "default") || !strings.Contains(top.Message, "flapped") || !strings.Contains(top.Detail, "re-added") {
			t.Errorf("run %d: the first finding is not flap-b's changing default route: %+v\n%s", run, top, clip(r.stdout))
			continue
		}
		named++
		if run == 0 {
			t.Logf("first cause: %s (explains %d)", top.Message, len(top.Explains))
		}
	}
	t.Logf("live flapping default route named as changing: %d/%d", named, runs)

	// Once the route stays, the pair is healthy again: no change events, nothing differs.
	stop()
	r := x.netdiff(t, "-n", ns, "flap-a", "flap-b")
	r.want(t, 0)
}

// flapDefaultRoute deletes and re-adds the IPv4 default route of pod's network namespace,
// absent a third of each period, until the returned function is called (also at cleanup);
// that function puts the route back and is safe to call twice.
func (x *env) flapDefaultRoute(t *testing.T, ns, pod string, period time.Duration) func() {
	t.Helper()
	uid, err := x.kubectlOut(context.Background(), "get", "pod", "-n", ns, pod, "-o", "jsonpath={.metadata.uid}")
	if err != nil || strings.TrimSpace(uid) == "" {
		t.Fatalf("uid of %s/%s: %v %s", ns, pod, err, uid)
	}
	pid, err := podPID(strings.TrimSpace(uid))
	if err != nil {
		t.Fatalf("%s/%s: %v", ns, pod, err)
	}
	h, err := netns.GetFromPid(pid)
	if err != nil {
		t.Fatalf("%s/%s: network namespace of pid %d: %v", ns, pod, pid, err)
	}
	nl, err := netlink.NewHandleAt(h)
	if err != nil {
		h.Close()
		t.Fatalf("%s/%s: netlink in pid %d's namespace: %v", ns, pod, pid, err)
	}
	routes, err := nl.RouteListFiltered(unix.AF_INET, &netlink.Route{Table: unix.RT_TABLE_MAIN}, netlink.RT_FILTER_TABLE)
	if err != nil {
		t.Fatalf("%s/%s: routes: %v", ns, pod, err)
	}
	var def *netlink.Route
	for i := range routes {
		if d := routes[i].Dst; d == nil {
			def = &routes[i]
		} else if ones, _ := d.Mask.Size(); ones == 0 {
			def = &routes[i]
		}
	}
	if def == nil {
		t.Fatalf("%s/%s has no IPv4 default route to flap: %v", ns, pod, routes)
	}
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(period)
		defer tick.Stop()
		for {
			_ = nl.RouteDel(def)
			time.Sleep(period / 3)
			_ = nl.RouteAdd(def)
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	once := false
	stop := func() {
		if once {
			return
		}
		once = true
		close(done)
		<-stopped
		if err := nl.RouteReplace(def); err != nil {
			t.Errorf("%s/%s: put the default route back: %v", ns, pod, err)
		}
		nl.Close()
		h.Close()
	}
	t.Cleanup(stop)
	return stop
}

// podPID finds a process of the pod with this UID on this machine (the node's containers
// run here), by the pod's cgroup: the kubelet names it pod<uid> (cgroupfs driver) or
// pod<uid with underscores> (systemd driver).
func podPID(uid string) (int, error) {
	marks := []string{"pod" + uid, "pod" + strings.ReplaceAll(uid, "-", "_")}
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		cg, err := os.ReadFile(filepath.Join(d, "cgroup"))
		if err != nil {
			continue
		}
		for _, m := range marks {
			if strings.Contains(string(cg), m) {
				pid, err := strconv.Atoi(filepath.Base(d))
				if err == nil && pid > 1 {
					return pid, nil
				}
			}
		}
	}
	return 0, fmt.Errorf("no process with cgroup pod%s on this machine", uid)
}
