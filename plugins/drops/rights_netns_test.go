//go:build linux

package drops_test

import (
	"strings"
	"testing"

	"github.com/netdiff/kubectl-netdiff/internal/netnstest"
	"github.com/netdiff/kubectl-netdiff/plugins/drops"
)

// Without CAP_BPF and CAP_PERFMON (and CAP_SYS_ADMIN), as under the default profile, the
// section says once what is missing and what would enable it, and the report has no
// problem for it.
func TestWithoutTheRightsTheSectionSaysWhatIsMissing(t *testing.T) {
	ns := netnstest.New(t, "drights")
	for _, tc := range []struct {
		name string
		drop string
		want []string
	}{
		{"baseline (no BPF, PERFMON or SYS_ADMIN)", "-bpf,-perfmon,-sys_admin", []string{"CAP_BPF and CAP_PERFMON", "--via node"}},
		{"CAP_BPF without CAP_PERFMON", "-perfmon,-sys_admin", []string{"lacks CAP_PERFMON"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep := ns.CollectAs([]string{"setpriv", "--inh-caps", tc.drop, "--bounding-set", tc.drop}, "-q", "--only", drops.Name, "--only", "routes")
			if len(rep.Problems) > 0 {
				t.Errorf("problems: %+v", rep.Problems)
			}
			if _, ok := rep.Sections["routes"]; !ok {
				t.Error("the other section is missing")
			}
			s := section(t, rep)
			if s.Unavailable == nil || s.Unavailable.Need != "capabilities" {
				t.Fatalf("unavailable = %+v", s.Unavailable)
			}
			for _, w := range tc.want {
				if !strings.Contains(s.Unavailable.Message, w) {
					t.Errorf("message %q lacks %q", s.Unavailable.Message, w)
				}
			}
		})
	}
	// CAP_SYS_ADMIN alone is enough, as CAP_BPF with CAP_PERFMON is.
	for _, keep := range []string{"-bpf,-perfmon", "-sys_admin"} {
		rep := ns.CollectAs([]string{"setpriv", "--inh-caps", keep, "--bounding-set", keep}, "-q", "--only", drops.Name)
		if s := section(t, rep); s.Unavailable != nil || s.Watch == "" {
			t.Errorf("without %s: %+v", keep, s.Unavailable)
		}
	}
}
