package netns

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netdiff/kubectl-netdiff/pkg/contract"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
)

// fakeProc builds a procfs-shaped tree whose ns files are plain files; hard links stand
// in for "the same namespace" because they share an inode.
func fakeProc(t *testing.T, shareNet bool) string {
	t.Helper()
	root := t.TempDir()
	for _, d := range []string{"self/ns", "42/ns", "sys/kernel/random"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(p, s string) {
		if err := os.WriteFile(filepath.Join(root, p), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("sys/kernel/random/boot_id", "b00t\n")
	write("self/ns/net", "")
	if shareNet {
		if err := os.Link(filepath.Join(root, "self/ns/net"), filepath.Join(root, "42/ns/net")); err != nil {
			t.Fatal(err)
		}
	} else {
		write("42/ns/net", "")
	}
	write("42/ns/pid", "")
	write("42/ns/uts", "")
	// 42/ns/mnt is missing: read errors are data.
	return root
}

func TestRead(t *testing.T) {
	tests := []struct {
		share bool
		want  string
	}{{true, "true"}, {false, "false"}}
	for _, tc := range tests {
		s := Read(fakeProc(t, tc.share), 42)
		if s.SameNetns == nil || *s.SameNetns != tc.share || s.BootID != "b00t" || s.PID != 42 {
			t.Errorf("share=%v: section %+v", tc.share, s)
		}
		if e := s.Target["mnt"].Error; e == nil || e.Errno != "ENOENT" {
			t.Errorf("missing mnt ns error = %+v, want ENOENT", e)
		}
		facts := map[string]string{}
		for _, f := range Facts(s) {
			facts[f.Key] = f.Value
		}
		if facts["prober-in-target-netns"] != tc.want || facts["target/mnt/error"] != "ENOENT" || facts["target/net/inode"] == "" {
			t.Errorf("facts = %v", facts)
		}
	}
	if s := Read(fakeProc(t, true), 7); s.SameNetns != nil || s.Target["net"].Error.Errno != "ENOENT" {
		t.Errorf("unreadable target: %+v, want sameNetns unknown", s)
	}
}

func rep(t *testing.T, s *Section) *report.Report {
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return &report.Report{Sections: map[string]json.RawMessage{Name: b}}
}

func TestSharedNeedsSameKernel(t *testing.T) {
	ns := func(boot string, ino uint64) *Section {
		return &Section{BootID: boot, Self: NS{Inode: ino, Dev: "0:4"}, Target: map[string]NS{"net": {Inode: ino, Dev: "0:4"}}}
	}
	tests := []struct {
		name string
		secs []*Section
		want string
	}{
		{"same inode same boot", []*Section{ns("x", 10), ns("x", 10), ns("x", 11)}, "a and b share one network namespace (inode 10)"},
		{"same inode other node", []*Section{ns("x", 10), ns("y", 10), ns("z", 10)}, ""},
		{"no boot id", []*Section{ns("", 10), ns("", 10), ns("", 10)}, ""},
		{"three share", []*Section{ns("x", 10), ns("x", 10), ns("x", 10)}, "a, b and c share"},
	}
	for _, tc := range tests {
		c := &contract.Comparison{Subjects: []string{"a", "b", "c", "d"}}
		for _, s := range tc.secs {
			c.Reports = append(c.Reports, rep(t, s))
		}
		c.Reports = append(c.Reports, nil)
		var got []string
		for _, f := range Shared(c) {
			got = append(got, f.Message)
		}
		if (tc.want == "") != (len(got) == 0) || (tc.want != "" && (len(got) != 1 || !strings.HasPrefix(got[0], tc.want))) {
			t.Errorf("%s: findings %q, want %q", tc.name, got, tc.want)
		}
	}
}
