package asapp

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The fixtures are /proc/self/status of `setpriv --reuid=1000 --regid=1001
// --groups=2000,1001,3000 cat` and of a root shell.
func TestParseStatus(t *testing.T) {
	for _, tc := range []struct {
		file string
		want Process
	}{
		{"status-uid1000", Process{UID: 1000, GID: 1001, Groups: []int{1001, 2000, 3000}}},
		{"status-root", Process{UID: 0, GID: 0, Groups: []int{}}},
	} {
		got, err := ParseStatus(bytes.NewReader(fixture(t, tc.file)))
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: ParseStatus = %+v, %v; want %+v", tc.file, got, err, tc.want)
		}
	}
	// The effective ids count, not the real ones (a setuid program, or a daemon that
	// dropped only its effective uid).
	got, err := ParseStatus(strings.NewReader("Uid:\t0\t1000\t1000\t1000\nGid:\t0\t2000\t2000\t2000\nGroups:\t5\n"))
	if err != nil || got.UID != 1000 || got.GID != 2000 || !reflect.DeepEqual(got.Groups, []int{5}) {
		t.Errorf("effective ids: %+v, %v", got, err)
	}
	for _, bad := range []string{"", "Name:\tsleep\n", "Uid:\t1000\nGid:\t0 0 0 0\n", "Uid:\t0 x 0 0\nGid:\t0 0 0 0\n", "Uid:\t0 0 0 0\nGid:\t0 0 0 0\nGroups:\t-1\n"} {
		if id, err := ParseStatus(strings.NewReader(bad)); err == nil {
			t.Errorf("ParseStatus(%q) = %+v, want an error", bad, id)
		}
	}
}

func TestIdentityString(t *testing.T) {
	if s := (Process{UID: 1000, GID: 1001, Groups: []int{1001, 2000}}).String(); s != "uid 1000 gid 1001 groups 1001,2000" {
		t.Errorf("String = %q", s)
	}
	if s := (Process{UID: 1000, GID: 1000}).String(); s != "uid 1000 gid 1000 groups -" {
		t.Errorf("String = %q", s)
	}
}

// cgroup-hybrid is /proc/self/cgroup on this project's machine: cgroup v1 controllers and
// the unified hierarchy at "0::/".
func TestParseCgroup(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{string(fixture(t, "cgroup-hybrid")), "/"},
		{"0::/kubepods.slice/kubepods-pod1.slice/cri-containerd-abc.scope\n", "/kubepods.slice/kubepods-pod1.slice/cri-containerd-abc.scope"},
		{"12:cpu,cpuacct:/docker/abc\n11:memory:/docker/abc\n", ""},
		{"0::/a//b/\n", "/a/b"},
	} {
		got, err := ParseCgroup(strings.NewReader(tc.in))
		if err != nil || got != tc.want {
			t.Errorf("ParseCgroup(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	if _, err := ParseCgroup(strings.NewReader("0::relative\n")); err == nil {
		t.Error("a relative cgroup path is accepted")
	}
	// Seen from a container's cgroup namespace, another container's cgroup.
	if p, err := ParseCgroup(strings.NewReader("0::/../cri-containerd-abc.scope\n")); err == nil || !strings.Contains(err.Error(), "outside") {
		t.Errorf("a cgroup outside the namespace = %q, %v; want an error", p, err)
	}
}

func TestMissingCaps(t *testing.T) {
	for _, tc := range []struct {
		file string
		want []string
	}{
		{"status-root", nil},
		{"status-uid1000", []string{"CAP_SETUID", "CAP_SETGID"}},
	} {
		got, err := MissingCaps(bytes.NewReader(fixture(t, tc.file)))
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: MissingCaps = %v, %v; want %v", tc.file, got, err, tc.want)
		}
	}
	// Only CAP_SETUID (bit 7) held.
	if got, _ := MissingCaps(strings.NewReader("CapEff:\t0000000000000080\n")); !reflect.DeepEqual(got, []string{"CAP_SETGID"}) {
		t.Errorf("only setuid: %v", got)
	}
	if _, err := MissingCaps(strings.NewReader("Name:\tx\n")); err == nil {
		t.Error("no CapEff line: no error")
	}
}

// TestRead reads a real process: a sleep started as uid 1000 gid 1001 with groups.
func TestRead(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to start a process as another uid")
	}
	if _, err := exec.LookPath("setpriv"); err != nil {
		t.Skip("needs setpriv (util-linux)")
	}
	cmd := exec.Command("setpriv", "--reuid=1000", "--regid=1001", "--groups=2000,1001", "sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	want := Process{PID: cmd.Process.Pid, UID: 1000, GID: 1001, Groups: []int{1001, 2000}}
	var got Process
	for range 100 {
		var err error
		if got, err = Read("/proc", cmd.Process.Pid); err == nil && got.UID == 1000 {
			break
		}
		exec.Command("sleep", "0.02").Run()
	}
	got.Cgroup = ""
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Read = %+v, want %+v", got, want)
	}
	if _, err := Read("/proc", 1<<30); err == nil {
		t.Error("Read of no process: no error")
	}
}

func TestRunChild(t *testing.T) {
	RegisterTask("test-echo", func(_ context.Context, in json.RawMessage) (any, error) {
		var n int
		if err := json.Unmarshal(in, &n); err != nil {
			return nil, err
		}
		return map[string]string{"got": strconv.Itoa(n), "uid": strconv.Itoa(os.Geteuid())}, nil
	})
	var out bytes.Buffer
	if err := RunChild(context.Background(), "test-echo", strings.NewReader("41"), &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `"got":"41"`) {
		t.Errorf("child wrote %q", out.String())
	}
	if err := RunChild(context.Background(), "no-such-task", strings.NewReader("1"), &out); err == nil {
		t.Error("an unknown task runs")
	}
}

func FuzzParseStatus(f *testing.F) {
	for _, n := range []string{"status-uid1000", "status-root"} {
		f.Add(fixture(f, n))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		id, err := ParseStatus(bytes.NewReader(b))
		if err == nil && (id.UID < 0 || id.GID < 0 || id.Groups == nil) {
			t.Errorf("ParseStatus accepted %q as %+v", b, id)
		}
		_, _ = ParseCgroup(bytes.NewReader(b))
		_, _ = MissingCaps(bytes.NewReader(b))
	})
}
