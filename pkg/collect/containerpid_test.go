package collect

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// fakeProc writes a /proc with the processes given: pid -> cgroup path, net namespace,
// NSpid and start time.
type fakeProcess struct {
	cgroup, net, nspid string
	start              int
}

func fakeProc(t *testing.T, self string, ps map[int]fakeProcess) string {
	t.Helper()
	root := t.TempDir()
	mk := func(pid, net string) string {
		dir := filepath.Join(root, pid)
		if err := os.MkdirAll(filepath.Join(dir, "ns"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(net, filepath.Join(dir, "ns", "net")); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	mk("self", self)
	for pid, p := range ps {
		dir := mk(strconv.Itoa(pid), p.net)
		files := map[string]string{
			"cgroup": "0::" + p.cgroup + "\n",
			"status": "Name:\tx\nNSpid:\t" + p.nspid + "\n",
			"stat":   strconv.Itoa(pid) + " (a (b) c) S 1 " + strings.Repeat("0 ", 16) + strconv.Itoa(p.start) + " 0\n",
		}
		for name, body := range files {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return root
}

func TestContainerPIDPicksTheContainersInit(t *testing.T) {
	id, other := strings.Repeat("ab", 32), strings.Repeat("cd", 32)
	scope := "/kubepods.slice/kubepods-pod1.slice/crio-" + id + ".scope"
	procs := map[int]fakeProcess{
		// CRI-O's monitor: the app's parent, in the node's network namespace.
		200: {cgroup: "/kubepods.slice/kubepods-pod1.slice/crio-conmon-" + id + ".scope", net: "net:[1]", nspid: "200", start: 10},
		// The exec'd shell has the lower start time after a PID wrap, but is not PID 1.
		150: {cgroup: scope, net: "net:[2]", nspid: "150 7", start: 5},
		201: {cgroup: scope, net: "net:[2]", nspid: "201 1", start: 11},
		// Another container whose cgroup path merely contains the ID as a substring.
		300: {cgroup: "/kubepods/pod2/" + other + "x" + id, net: "net:[3]", nspid: "300 1", start: 1},
	}
	got, err := ContainerPID(fakeProc(t, "net:[1]", procs), "cri-o://"+id)
	if err != nil || got != 201 {
		t.Errorf("ContainerPID = %d, %v; want 201 (the container's PID 1, not conmon, the exec'd shell or a look-alike)", got, err)
	}

	// Processes of one container in two network namespaces: refused, not guessed.
	procs[151] = fakeProcess{cgroup: scope, net: "net:[4]", nspid: "151 8", start: 20}
	if _, err := ContainerPID(fakeProc(t, "net:[1]", procs), id); err == nil || !strings.Contains(err.Error(), "2 network namespaces") {
		t.Errorf("two namespaces: err = %v", err)
	}
	delete(procs, 151)

	// A container in the prober's own network namespace (hostNetwork): refused.
	if _, err := ContainerPID(fakeProc(t, "net:[2]", procs), id); err == nil || !strings.Contains(err.Error(), "shares the prober's network namespace") {
		t.Errorf("hostNetwork: err = %v", err)
	}
}
