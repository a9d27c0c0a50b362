package section

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/netdiff/kubectl-netdiff/pkg/diff"
	"github.com/netdiff/kubectl-netdiff/pkg/probe"
)

type fake struct{ name string }

func (f fake) Name() string                                   { return f.name }
func (fake) Phase() probe.Phase                               { return probe.Passive }
func (fake) Collect(context.Context, *probe.Env) (any, error) { return nil, nil }
func (fake) Facts(json.RawMessage) ([]probe.Fact, error)      { return nil, nil }
func newFake(name string) func() probe.Plugin                 { return func() probe.Plugin { return fake{name} } }
func noRule(*diff.Comparison) []diff.Finding                  { return nil }

func panics(t *testing.T, want string, d Descriptor) {
	t.Helper()
	defer func() {
		r := recover()
		if r == nil || !strings.Contains(r.(string), want) {
			t.Errorf("Register(%+v) = panic %v, want one saying %q", d, r, want)
		}
	}()
	Register(d)
}

// Descriptors that cannot be right are refused before anything is registered.
func TestRegisterRefusesWrongDescriptors(t *testing.T) {
	panics(t, "without a name", Descriptor{New: newFake("x")})
	panics(t, "says its name is y", Descriptor{Name: "zz-section-a", New: newFake("y")})
	panics(t, "give the part after", Descriptor{Name: "zz-section-b", New: newFake("zz-section-b"),
		Rules: map[string]diff.Rule{"zz-section-b/moved": noRule}})
	for _, p := range probe.New() {
		if strings.HasPrefix(p.Name(), "zz-section-") {
			t.Errorf("plugin %s registered by a refused descriptor", p.Name())
		}
	}
}
