package probe

import (
	"os"
	"path/filepath"
	"sort"
	"strconv"
)

// ListPIDs lists the processes in proc that belong to the subject, sorted: every numeric
// entry but self (the prober is not part of the pod), and with OnlyTargetPIDNamespace
// only those in the PID namespace of the target process.
func (e *Env) ListPIDs(self int) ([]int, error) {
	d, err := os.Open(e.Proc)
	if err != nil {
		return nil, err
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return nil, err
	}
	var want string
	if e.OnlyTargetPIDNamespace {
		if want, err = os.Readlink(filepath.Join(e.Proc, strconv.Itoa(e.PID), "ns", "pid")); err != nil {
			return nil, err
		}
	}
	var pids []int
	for _, n := range names {
		pid, err := strconv.Atoi(n)
		if err != nil || pid == self {
			continue
		}
		if want != "" {
			if ns, err := os.Readlink(filepath.Join(e.Proc, n, "ns", "pid")); err != nil || ns != want {
				continue
			}
		}
		pids = append(pids, pid)
	}
	sort.Ints(pids)
	return pids, nil
}
