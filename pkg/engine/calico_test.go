package engine

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"k8s.io/client-go/rest"
)

// Calico's policies come from projectcalico.org/v3 where its API server serves them,
// else from the crd.projectcalico.org/v1 CRDs; a group that is not served is not an
// error, a refusal is; each list is made once per run.
func TestCalicoPoliciesFallBackToTheCRDs(t *testing.T) {
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/apis/crd.projectcalico.org/v1/namespaces/apps/networkpolicies":
			w.Write([]byte(`{"apiVersion":"crd.projectcalico.org/v1","kind":"NetworkPolicyList","metadata":{},"items":[
			 {"apiVersion":"crd.projectcalico.org/v1","kind":"NetworkPolicy","metadata":{"name":"default.deny-canary","namespace":"apps"},
			  "spec":{"order":10,"selector":"app == 'db'","types":["Ingress"],"ingress":[{"action":"Deny","source":{"selector":"role == 'canary'"}}]}}]}`))
		case "/apis/projectcalico.org/v3/globalnetworkpolicies":
			w.WriteHeader(http.StatusForbidden)
			w.Write([]byte(`{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Forbidden","code":403,"message":"globalnetworkpolicies.projectcalico.org is forbidden"}`))
		default:
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404}`))
		}
	}))
	defer srv.Close()
	r, _, _, _ := newTestRun(t)
	r.restConfig = &rest.Config{Host: srv.URL}
	l := apiLister{r}
	ctx := context.Background()
	for range 2 {
		ps, err := l.CalicoPolicies(ctx, "apps")
		if err != nil || len(ps) != 1 {
			t.Fatalf("apps: %v, %+v", err, ps)
		}
		p := ps[0]
		if p.Kind != "NetworkPolicy" || p.Namespace != "apps" || p.Name != "default.deny-canary" || p.Spec.Order == nil || *p.Spec.Order != 10 ||
			len(p.Spec.Ingress) != 1 || p.Spec.Ingress[0].Action != "Deny" || p.Spec.Ingress[0].Source.Selector != "role == 'canary'" {
			t.Errorf("decoded %+v", p)
		}
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("%d requests for two reads of one namespace, want 2 (v3 not served, then the CRD), once", n)
	}
	if ps, err := l.CalicoPolicies(ctx, "other"); err != nil || len(ps) != 0 {
		t.Errorf("a namespace neither group serves: %v, %+v; want none and no error", err, ps)
	}
	if _, err := l.CalicoPolicies(ctx, ""); err == nil || !strings.Contains(err.Error(), "forbidden") {
		t.Errorf("a refused list of the global policies: %v, want the refusal", err)
	}
}
