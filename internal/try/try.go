// Package try is `make try`, the taste of kubectl netdiff without a cluster: two network
// namespaces shaped like two pods on one node, the second with the case study's fault (no
// default route), the real prober collecting in each and the real plugin diffing the two
// reports offline (-f). Everything it creates is removed again on every return path.
package try

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Config names the two binaries (built by `make prober plugin`) and where output goes.
type Config struct {
	Prober, Plugin string
	// Dir receives the two reports, web-a.json and web-broken.json, which stay for later -f.
	Dir string
	// PluginArgs go to the plugin after the two -f flags (e.g. "-o", "json").
	PluginArgs []string
	// Stdout gets the plugin's output, Stderr the steps and the plugin's errors.
	Stdout, Stderr io.Writer
}

// The pair's addresses: a node bridge, a "service" address on the node, two pods.
const (
	gateway = "10.77.0.1"
	service = "10.88.0.1"
)

var pods = []struct{ name, cidr, ip string }{
	{"web-a", "10.77.0.5/24", "10.77.0.5"},
	{"web-broken", "10.77.0.6/24", "10.77.0.6"},
}

// Run builds the pair, plants the fault, collects both reports at once and runs the plugin
// on them. It returns the plugin's exit status (1: differences found) or an error for a
// step that failed; cancelling ctx (Ctrl-C) stops it, and the namespaces are removed
// whatever happened.
func Run(ctx context.Context, c Config) (exit int, err error) {
	for _, tool := range []string{"ip", "sleep"} {
		if _, err := exec.LookPath(tool); err != nil {
			return 0, fmt.Errorf("%s not found: make try needs iproute2 and coreutils (hack/packages.txt)", tool)
		}
	}
	if os.Geteuid() != 0 {
		return 0, errors.New("make try creates network namespaces: run it as root")
	}
	l := &lab{ctx: ctx, prefix: fmt.Sprintf("nd-try-%d-", os.Getpid()), id: strconv.FormatInt(int64(os.Getpid()), 36)}
	defer func() {
		if cerr := l.close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	fmt.Fprintf(c.Stderr, "try: two network namespaces shaped like two pods on one node: %s (healthy) and %s (no default route, as in the case study)\n", pods[0].name, pods[1].name)
	if err := l.build(); err != nil {
		return 0, err
	}
	if err := os.MkdirAll(c.Dir, 0o755); err != nil {
		return 0, err
	}
	files := make([]string, len(pods))
	errs := make([]error, len(pods))
	fmt.Fprintf(c.Stderr, "try: netdiff-prober collect in both at once\n")
	var wg sync.WaitGroup
	for i, p := range pods {
		files[i] = filepath.Join(c.Dir, p.name+".json")
		peer := pods[1-i].ip
		wg.Go(func() { errs[i] = l.collect(c.Prober, p.name, files[i], peer) })
	}
	wg.Wait()
	if ctx.Err() != nil {
		return 0, ctx.Err()
	}
	if err := errors.Join(errs...); err != nil {
		return 0, err
	}
	args := []string{"-f", files[0], "-f", files[1]}
	args = append(args, c.PluginArgs...)
	fmt.Fprintf(c.Stderr, "$ kubectl netdiff %s\n", strings.Join(args, " "))
	cmd := exec.CommandContext(ctx, c.Plugin, args...)
	cmd.Stdout, cmd.Stderr = c.Stdout, c.Stderr
	err = cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) && ctx.Err() == nil {
		return ee.ExitCode(), nil
	}
	if ctx.Err() != nil {
		return 0, ctx.Err()
	}
	if err != nil {
		return 0, fmt.Errorf("kubectl-netdiff: %w", err)
	}
	return 0, nil
}

// lab holds what Run created, so that close removes exactly that and nothing else.
type lab struct {
	ctx        context.Context
	prefix, id string
	mu         sync.Mutex
	namespaces []string
	apps       map[string]*exec.Cmd
	listeners  []net.Listener
}

func (l *lab) ns(label string) string { return l.prefix + label }

// build makes the node (a bridge at the pods' gateway, the service address on lo with a
// listener), the two pods on it (eth0, an address, a default route, a resolv.conf naming
// the service address, a listener, an "app" process), and then removes web-broken's
// default route.
func (l *lab) build() error {
	node := l.ns("node")
	steps := [][]string{
		{"netns", "add", node},
		{"-n", node, "link", "set", "lo", "up"},
		{"-n", node, "link", "add", "br0", "type", "bridge"},
		{"-n", node, "addr", "add", gateway + "/24", "dev", "br0"},
		{"-n", node, "link", "set", "br0", "up"},
		{"-n", node, "addr", "add", service + "/32", "dev", "lo"},
	}
	if err := l.ipSteps(steps); err != nil {
		return err
	}
	if err := l.listen(node, service+":8080"); err != nil {
		return err
	}
	for i, p := range pods {
		ns := l.ns(p.name)
		// The node side's name lives in the node namespace only, so it cannot clash with
		// anything on the host; the pid keeps parallel runs apart in their own nodes anyway.
		host := fmt.Sprintf("ndt%s%c", l.id, 'a'+i)
		if err := l.ipSteps([][]string{
			{"netns", "add", ns},
			{"-n", ns, "link", "set", "lo", "up"},
			{"link", "add", host, "netns", node, "type", "veth", "peer", "name", "eth0", "netns", ns},
			{"-n", node, "link", "set", host, "master", "br0", "up"},
			// A real pod's link-local address finished duplicate address detection long ago.
			{"netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.eth0.accept_dad=0"},
			{"-n", ns, "addr", "add", p.cidr, "dev", "eth0"},
			{"-n", ns, "link", "set", "eth0", "up"},
			{"-n", ns, "route", "add", "default", "via", gateway},
		}); err != nil {
			return err
		}
		if err := l.writeEtc(ns, "resolv.conf", "nameserver "+service+"\n"); err != nil {
			return err
		}
	}
	for _, p := range pods {
		if err := l.settle(l.ns(p.name)); err != nil {
			return err
		}
		if err := l.listen(l.ns(p.name), p.ip+":8080"); err != nil {
			return err
		}
	}
	// The planted fault: the case study's pod connects fail with ENETUNREACH.
	if err := l.ip("-n", l.ns(pods[1].name), "route", "del", "default"); err != nil {
		return err
	}
	// The "app" in each pod: a process whose root (and so /etc/resolv.conf) the prober
	// reports, as it reports the target container's in a cluster.
	l.apps = map[string]*exec.Cmd{}
	for _, p := range pods {
		ns := l.ns(p.name)
		cmd := exec.Command("ip", "netns", "exec", ns, "sleep", "600")
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("start the app in %s: %w", ns, err)
		}
		l.mu.Lock()
		l.apps[p.name] = cmd
		l.mu.Unlock()
	}
	return nil
}

// collect runs the prober in pod's namespace and writes its report to file.
func (l *lab) collect(prober, pod, file, peer string) error {
	app := strconv.Itoa(l.apps[pod].Process.Pid)
	out, err := os.Create(file)
	if err != nil {
		return err
	}
	var stderr bytes.Buffer
	cmd := exec.CommandContext(l.ctx, "ip", "netns", "exec", l.ns(pod), prober, "collect", "-q",
		"--pid", app, "--defaults", "--target", peer+":8080", "--target", service+":8080",
		"--attempts", "3", "--burst", "3", "--timeout", "2s")
	cmd.Stdout, cmd.Stderr = out, &stderr
	err = cmd.Run()
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if l.ctx.Err() != nil {
		return l.ctx.Err()
	}
	if err != nil {
		return fmt.Errorf("netdiff-prober in %s: %w: %s", pod, err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// settle waits until ns has no tentative IPv6 address (DAD is off, so this is quick).
func (l *lab) settle(ns string) error {
	deadline := time.Now().Add(5 * time.Second)
	for {
		out, err := exec.CommandContext(l.ctx, "ip", "-n", ns, "-6", "addr", "show", "tentative").Output()
		if err != nil {
			return fmt.Errorf("ip -n %s -6 addr show tentative: %w", ns, err)
		}
		if strings.TrimSpace(string(out)) == "" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: IPv6 addresses still tentative after 5s", ns)
		}
		select {
		case <-l.ctx.Done():
			return l.ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (l *lab) ipSteps(steps [][]string) error {
	for _, s := range steps {
		if err := l.ip(s...); err != nil {
			return err
		}
	}
	return nil
}

// ip runs the ip tool; a namespace it adds is recorded before it exists, so that close
// removes it even when the run is interrupted right then.
func (l *lab) ip(args ...string) error {
	if len(args) == 3 && args[0] == "netns" && args[1] == "add" {
		l.mu.Lock()
		l.namespaces = append(l.namespaces, args[2])
		l.mu.Unlock()
	}
	out, err := exec.CommandContext(l.ctx, "ip", args...).CombinedOutput()
	if err != nil {
		if l.ctx.Err() != nil {
			return l.ctx.Err()
		}
		return fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// writeEtc writes /etc/netns/NS/name, which `ip netns exec` mounts over /etc/name.
func (l *lab) writeEtc(ns, name, content string) error {
	dir := filepath.Join("/etc/netns", ns)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644)
}

// listen opens a TCP listener inside ns that accepts connections and holds them until
// close. The socket stays in the namespace it was created in; the thread that joined
// the namespace is never given back to the runtime.
func (l *lab) listen(ns, addr string) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		f, err := os.Open(filepath.Join("/run/netns", ns))
		if err != nil {
			errc <- err
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("setns %s: %w", ns, err)
			return
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			errc <- fmt.Errorf("listen %s in %s: %w", addr, ns, err)
			return
		}
		l.mu.Lock()
		l.listeners = append(l.listeners, ln)
		l.mu.Unlock()
		errc <- nil
	}()
	if err := <-errc; err != nil {
		return err
	}
	l.mu.Lock()
	ln := l.listeners[len(l.listeners)-1]
	l.mu.Unlock()
	go func() {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	return nil
}

// close kills the app processes it started (by their process group), closes its
// listeners and deletes its namespaces with their /etc/netns directories: only what this
// run created. It does not depend on the run's context, which may be cancelled.
func (l *lab) close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, cmd := range l.apps {
		_ = unix.Kill(-cmd.Process.Pid, unix.SIGKILL)
		_ = cmd.Wait()
	}
	for _, ln := range l.listeners {
		ln.Close()
	}
	var errs []error
	for i := len(l.namespaces) - 1; i >= 0; i-- {
		ns := l.namespaces[i]
		if out, err := exec.Command("ip", "netns", "del", ns).CombinedOutput(); err != nil {
			// A namespace recorded but never made (interrupted ip netns add) is not there.
			if _, serr := os.Stat(filepath.Join("/run/netns", ns)); serr == nil {
				errs = append(errs, fmt.Errorf("ip netns del %s: %w: %s", ns, err, strings.TrimSpace(string(out))))
			}
		}
		if err := os.RemoveAll(filepath.Join("/etc/netns", ns)); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
