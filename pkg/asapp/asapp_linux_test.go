package asapp

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestMain lets the test binary be its own child: run as "<test> as-app-child TASK", it
// runs the task as the prober's hidden subcommand does.
func TestMain(m *testing.M) {
	if len(os.Args) == 3 && os.Args[1] == ChildCommand {
		RegisterTask("whoami", whoami)
		if err := RunChild(context.Background(), os.Args[2], os.Stdin, os.Stdout); err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

type who struct {
	UID, GID int
	Groups   []int
	In       string
	Cgroup   string
}

func whoami(_ context.Context, in json.RawMessage) (any, error) {
	g, err := os.Getgroups()
	w := who{UID: os.Geteuid(), GID: os.Getegid(), Groups: g, In: string(in)}
	if f, err := os.Open("/proc/self/cgroup"); err == nil {
		w.Cgroup, _ = ParseCgroup(f)
		f.Close()
	}
	return w, err
}

// TestRunSwitchesIdentity runs a child with another uid, gid and groups and checks what
// the child itself reports.
func TestRunSwitchesIdentity(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (CAP_SETUID, CAP_SETGID)")
	}
	r := &Runner{Exe: "/proc/self/exe", Proc: "/proc"}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var got who
	start := time.Now()
	if err := r.Run(ctx, Process{UID: 1000, GID: 1001, Groups: []int{1001, 2000}}, "whoami", "hello", &got); err != nil {
		t.Fatal(err)
	}
	t.Logf("child as uid 1000 ran in %s", time.Since(start).Round(time.Millisecond))
	if got.UID != 1000 || got.GID != 1001 || len(got.Groups) != 2 || got.Groups[0] != 1001 || got.Groups[1] != 2000 || got.In != `"hello"` {
		t.Errorf("child saw %+v", got)
	}
	if err := r.Run(ctx, Process{UID: 1000, GID: 1000}, "no-such-task", 1, &got); err == nil || !strings.Contains(err.Error(), "no as-app task") {
		t.Errorf("unknown task: %v", err)
	}
	// The app's cgroup, when asked, must exist.
	rc := &Runner{Exe: "/proc/self/exe", Proc: "/proc", Cgroup: true, CgroupRoot: t.TempDir()}
	if err := rc.Run(ctx, Process{UID: 1000, GID: 1000, Cgroup: "/no/such"}, "whoami", 1, &got); err == nil || !strings.Contains(err.Error(), "cgroup") {
		t.Errorf("missing cgroup: %v", err)
	}
}

// TestRunInCgroup places the child in the app's cgroup: a test cgroup holding a sleep.
func TestRunInCgroup(t *testing.T) {
	root := UnifiedRoot()
	if os.Geteuid() != 0 || root == "" {
		t.Skip("needs root and a cgroup v2 hierarchy")
	}
	name := "/netdiff-asapp-test-" + strconv.Itoa(os.Getpid())
	dir := filepath.Join(root, name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Skipf("cannot create a cgroup: %v", err)
	}
	app := exec.Command("sleep", "30")
	if err := app.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = app.Process.Kill()
		_ = app.Wait()
		for range 50 { // the cgroup can be removed once the killed sleep has left it
			if os.Remove(dir) == nil {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Errorf("cgroup %s left behind", dir)
	})
	if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(app.Process.Pid)), 0o644); err != nil {
		t.Fatal(err)
	}
	id, err := Read("/proc", app.Process.Pid)
	if err != nil || id.Cgroup != name {
		t.Fatalf("Read = %+v, %v; want cgroup %s", id, err, name)
	}
	id.UID, id.GID = 1000, 1000
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var got who
	if err := (&Runner{Exe: "/proc/self/exe", Proc: "/proc", Cgroup: true}).Run(ctx, id, "whoami", 0, &got); err != nil {
		t.Fatal(err)
	}
	if got.UID != 1000 || got.Cgroup != name {
		t.Errorf("child ran as uid %d in cgroup %q, want 1000 in %s", got.UID, got.Cgroup, name)
	}
	// Without Cgroup the child stays in the prober's.
	if err := (&Runner{Exe: "/proc/self/exe", Proc: "/proc"}).Run(ctx, id, "whoami", 0, &got); err != nil || got.Cgroup == name {
		t.Errorf("without Cgroup: child in %q, %v", got.Cgroup, err)
	}
}

// A prober binary the app's uid may not execute is named as such.
func TestRunNotExecutable(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	bin := filepath.Join(t.TempDir(), "prober")
	self, err := os.ReadFile("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, self, 0o700); err != nil {
		t.Fatal(err)
	}
	var got who
	err = (&Runner{Exe: bin, Proc: "/proc"}).Run(context.Background(), Process{UID: 1000, GID: 1000}, "whoami", 0, &got)
	if err == nil || !strings.Contains(err.Error(), "executable by uid 1000") {
		t.Errorf("Run of a 0700 binary as uid 1000: %v", err)
	}
}
