package services

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/netdiff/kubectl-netdiff/pkg/contract"
	"github.com/netdiff/kubectl-netdiff/pkg/diff"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
)

func rep(t *testing.T, s Section) *report.Report {
	t.Helper()
	raw, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return &report.Report{SchemaVersion: report.SchemaVersion, Sections: map[string]json.RawMessage{SectionName: raw}}
}

func target(svc string, ready, terminating, notReady int) Section {
	return Section{Targets: []Target{{Target: "tcp://web:80", AddrKey: "ipv4", Address: "10.96.0.5", Port: 80, Service: svc,
		Ready: ready, Terminating: terminating, NotReady: notReady}}}
}

// The same target reaches a Service with endpoints in one pod and an empty one in the
// other: the empty Service is a cause in that pod where its connects failed, context
// where they did not (the endpoints were listed after the probes).
func TestEmptyServiceIsTheCauseWhereConnectsFailed(t *testing.T) {
	for _, c := range []struct {
		name     string
		outcome  string
		wantKind contract.Kind
	}{
		{"refused", "ECONNREFUSED 5/5", contract.Cause},
		{"worked", "ok 5/5", contract.Context},
	} {
		t.Run(c.name, func(t *testing.T) {
			cmp := &contract.Comparison{Subjects: []string{"a", "b"},
				Reports: []*report.Report{rep(t, target("prod/web", 3, 0, 0)), rep(t, target("stage/web", 0, 0, 1))},
				Rows:    []contract.Row{{Section: "connect", Key: "tcp/blocking/tcp://web:80/ipv4", Values: []string{"ok 5/5", c.outcome}}}}
			fs := noReadyEndpoints(cmp)
			if len(fs) != 1 || fs[0].Kind != c.wantKind || fs[0].Subject != "b" || !strings.Contains(fs[0].Message, "stage/web") ||
				!strings.Contains(fs[0].Message, "(1 not ready)") || !strings.Contains(fs[0].Message, "prod/web with 3 ready") {
				t.Fatalf("findings = %+v, want one %s naming b's empty Service", fs, c.wantKind)
			}
		})
	}
}

// Counts alone are not a difference, nor is a Service served only by terminating
// endpoints (kube-proxy sends to them when none is ready).
func TestCountsAndTerminatingAreNoDifference(t *testing.T) {
	for _, b := range []Section{target("stage/web", 1, 0, 0), target("stage/web", 0, 2, 0)} {
		res, err := diff.Compare([]string{"a", "b"}, []*report.Report{rep(t, target("prod/web", 3, 0, 0)), rep(t, b)}, diff.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Differs() {
			t.Errorf("%+v against 3 ready made a difference: %+v", b.Targets[0], res.Findings)
		}
	}
}

type lister struct {
	svcs   []corev1.Service
	slices []discoveryv1.EndpointSlice
	err    error
}

func (l lister) Services(context.Context, string) ([]corev1.Service, error) { return l.svcs, l.err }
func (l lister) EndpointSlices(context.Context, string) ([]discoveryv1.EndpointSlice, error) {
	return l.slices, nil
}

// Build matches a connect address to a Service by ClusterIP and port, counts only the
// endpoints of the ClusterIP's family serving that port, and turns a refused list into
// an error naming it.
func TestBuildCountsTheRightEndpoints(t *testing.T) {
	conn := `{"targets":[{"target":"tcp://web:80","scheme":"tcp","port":80,"addresses":[{"address":"10.96.0.50","key":"ipv4"}]},
		{"target":"tcp://web:81","scheme":"tcp","port":81,"addresses":[{"address":"10.96.0.50","key":"ipv4"}]}]}`
	r := &report.Report{Sections: map[string]json.RawMessage{"connect": json.RawMessage(conn)}}
	yes, no := true, false
	name := "http"
	l := lister{
		svcs: []corev1.Service{{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "web"},
			Spec: corev1.ServiceSpec{ClusterIPs: []string{"10.96.0.50", "fd00::50"}, Ports: []corev1.ServicePort{{Name: "http", Port: 80}}}}},
		slices: []discoveryv1.EndpointSlice{
			{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{discoveryv1.LabelServiceName: "web"}}, AddressType: discoveryv1.AddressTypeIPv4,
				Ports:     []discoveryv1.EndpointPort{{Name: &name}},
				Endpoints: []discoveryv1.Endpoint{{}, {Conditions: discoveryv1.EndpointConditions{Ready: &no, Serving: &yes, Terminating: &yes}}, {Conditions: discoveryv1.EndpointConditions{Ready: &no}}}},
			{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{discoveryv1.LabelServiceName: "web"}}, AddressType: discoveryv1.AddressTypeIPv6,
				Ports: []discoveryv1.EndpointPort{{Name: &name}}, Endpoints: []discoveryv1.Endpoint{{}, {}}},
		},
	}
	sec, err := Build(context.Background(), r, "apps", l)
	if err != nil || sec == nil || len(sec.Targets) != 1 {
		t.Fatalf("Build = %+v, %v; want the one target on the Service's port", sec, err)
	}
	if got := sec.Targets[0]; got.Service != "apps/web" || got.Ready != 1 || got.Terminating != 1 || got.NotReady != 1 {
		t.Errorf("target = %+v, want 1 ready, 1 terminating, 1 not ready (IPv4 slices only)", got)
	}
	l.err = errors.New("forbidden")
	if _, err := Build(context.Background(), r, "apps", l); err == nil || !strings.Contains(err.Error(), "cannot list services in namespace apps") {
		t.Errorf("refused list: %v", err)
	}
}
