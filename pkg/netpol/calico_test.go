package netpol

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestParseSelector(t *testing.T) {
	l := map[string]string{"role": "db", "tier": "backend", "env": "prod-eu"}
	cases := []struct {
		sel  string
		want bool
		bad  bool
	}{
		{"", true, false},
		{"all()", true, false},
		{"role == 'db'", true, false},
		{`role == "web"`, false, false},
		{"role != 'web'", true, false},
		{"missing != 'x'", true, false},
		{"role in {'db', 'cache'}", true, false},
		{"role not in {'db'}", false, false},
		{"has(tier)", true, false},
		{"!has(tier)", false, false},
		{"has(tier) && role == 'db'", true, false},
		{"role == 'web' || tier == 'backend'", true, false},
		{"!(role == 'db' && tier == 'frontend')", true, false},
		{"env starts with 'prod'", true, false},
		{"env ends with '-eu'", true, false},
		{"env contains 'd-e'", true, false},
		{"role =~ 'd.*'", false, true},
		{"role == db", false, true},
		{"(role == 'db'", false, true},
	}
	for _, tc := range cases {
		s, err := ParseSelector(tc.sel)
		if (err != nil) != tc.bad {
			t.Errorf("%q: error %v, want bad=%v", tc.sel, err, tc.bad)
			continue
		}
		if err == nil && s.Matches(l) != tc.want {
			t.Errorf("%q matches = %v, want %v", tc.sel, !tc.want, tc.want)
		}
	}
}

func order(f float64) *float64 { return &f }

func TestEvaluateCalico(t *testing.T) {
	raw := func(s string) json.RawMessage { return json.RawMessage(s) }
	web := pod("shop", map[string]string{}, "app", "web", "role", "canary")
	stable := pod("shop", map[string]string{}, "app", "web", "role", "stable")
	db := pod("shop", map[string]string{}, "app", "db")
	denyCanary := CalicoPolicy{Kind: "GlobalNetworkPolicy", Name: "deny-canary-db", Spec: CalicoSpec{Order: order(10), Selector: "app == 'db'",
		Types: []string{"Ingress"}, Ingress: []CalicoRule{{Action: "Deny", Protocol: raw(`"TCP"`), Source: CalicoEntity{Selector: "role == 'canary'"}, Destination: CalicoEntity{Ports: []json.RawMessage{raw("5432")}}}}}}
	allowAll := CalicoPolicy{Kind: "NetworkPolicy", Namespace: "shop", Name: "allow-all", Spec: CalicoSpec{Order: order(100), Selector: "all()",
		Ingress: []CalicoRule{{Action: "Allow"}}, Egress: []CalicoRule{{Action: "Allow"}}}}
	egressOnly443 := CalicoPolicy{Kind: "NetworkPolicy", Namespace: "shop", Name: "web-egress", Spec: CalicoSpec{Selector: "role == 'canary'", Types: []string{"Egress"},
		Egress: []CalicoRule{{Action: "Allow", Protocol: raw(`"TCP"`), Destination: CalicoEntity{Ports: []json.RawMessage{raw(`"443"`), raw(`"8000:8100"`)}}}}}}
	passThenDeny := CalicoPolicy{Kind: "GlobalNetworkPolicy", Name: "pass", Spec: CalicoSpec{Order: order(1), Selector: "app == 'db'", Ingress: []CalicoRule{{Action: "Pass"}}}}
	httpRule := CalicoPolicy{Kind: "GlobalNetworkPolicy", Name: "l7", Spec: CalicoSpec{Selector: "app == 'db'", Ingress: []CalicoRule{{Action: "Allow", HTTP: raw(`{"methods":["GET"]}`)}}}}
	nets := CalicoPolicy{Kind: "NetworkPolicy", Namespace: "shop", Name: "nets", Spec: CalicoSpec{Selector: "app == 'web'", Types: []string{"Egress"},
		Egress: []CalicoRule{{Action: "Allow", Destination: CalicoEntity{Nets: []string{"10.0.0.0/8"}, NotNets: []string{"10.244.2.0/24"}}}}}}
	k8sDeny := Policy{Namespace: "shop", Name: "db-deny"} // isolates ingress, admits nothing

	cases := []struct {
		name string
		cal  []CalicoPolicy
		k8s  []Policy
		flow Flow
		dir  Direction
		want Decision
		by   string
	}{
		{"a lower order Deny wins over a later Allow", []CalicoPolicy{allowAll, denyCanary}, nil, Flow{Src: web, Dst: db, Protocol: "TCP", Port: 5432}, Ingress, Denied, "Calico GlobalNetworkPolicy deny-canary-db rule 1"},
		{"the Deny rule does not match stable", []CalicoPolicy{allowAll, denyCanary}, nil, Flow{Src: stable, Dst: db, Protocol: "TCP", Port: 5432}, Ingress, Allowed, "Calico NetworkPolicy shop/allow-all rule 1"},
		{"the Deny rule's port does not match", []CalicoPolicy{allowAll, denyCanary}, nil, Flow{Src: web, Dst: db, Protocol: "TCP", Port: 80}, Ingress, Allowed, "Calico NetworkPolicy shop/allow-all rule 1"},
		{"selected, no rule matches: end of tier", []CalicoPolicy{denyCanary}, nil, Flow{Src: stable, Dst: db, Protocol: "TCP", Port: 5432}, Ingress, Denied, "Calico GlobalNetworkPolicy deny-canary-db"},
		{"ports as strings and ranges", []CalicoPolicy{egressOnly443}, nil, Flow{Src: web, Dst: db, Protocol: "TCP", Port: 8080}, Egress, Allowed, "Calico NetworkPolicy shop/web-egress rule 1"},
		{"port outside", []CalicoPolicy{egressOnly443}, nil, Flow{Src: web, Dst: db, Protocol: "TCP", Port: 5432}, Egress, Denied, "Calico NetworkPolicy shop/web-egress"},
		{"UDP DNS forgotten", []CalicoPolicy{egressOnly443}, nil, Flow{Src: web, Dst: db, Protocol: "UDP", Port: 53}, Egress, Denied, "Calico NetworkPolicy shop/web-egress"},
		{"not selected: allowed", []CalicoPolicy{egressOnly443}, nil, Flow{Src: stable, Dst: db, Protocol: "TCP", Port: 5432}, Egress, Allowed, ""},
		{"Kubernetes policies come at order 1000: Calico's deny first", []CalicoPolicy{denyCanary}, []Policy{{Namespace: "shop", Name: "allow", Spec: k8sAllowAll()}}, Flow{Src: web, Dst: db, Protocol: "TCP", Port: 5432}, Ingress, Denied, "Calico GlobalNetworkPolicy deny-canary-db rule 1"},
		{"a Kubernetes deny after Calico's allow is never reached", []CalicoPolicy{allowAll}, []Policy{k8sDeny}, Flow{Src: web, Dst: db, Protocol: "TCP", Port: 5432}, Ingress, Allowed, "Calico NetworkPolicy shop/allow-all rule 1"},
		{"Pass skips the tier", []CalicoPolicy{passThenDeny, denyCanary}, nil, Flow{Src: web, Dst: db, Protocol: "TCP", Port: 5432}, Ingress, Allowed, "Calico GlobalNetworkPolicy pass rule 1"},
		{"HTTP rules cannot be evaluated", []CalicoPolicy{httpRule}, nil, Flow{Src: web, Dst: db, Protocol: "TCP", Port: 5432}, Ingress, Undecided, "Calico GlobalNetworkPolicy l7"},
		{"nets and notNets: inside", []CalicoPolicy{nets}, nil, Flow{Src: web, Dst: external, DstIP: ip("10.1.2.3"), Protocol: "TCP", Port: 1}, Egress, Allowed, "Calico NetworkPolicy shop/nets rule 1"},
		{"nets and notNets: excepted", []CalicoPolicy{nets}, nil, Flow{Src: web, Dst: db, DstIP: ip("10.244.2.9"), Protocol: "TCP", Port: 1}, Egress, Denied, "Calico NetworkPolicy shop/nets"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if !tc.flow.SrcIP.IsValid() {
				tc.flow.SrcIP = ip("10.244.1.5")
			}
			if !tc.flow.DstIP.IsValid() {
				tc.flow.DstIP = ip("10.244.2.6")
			}
			v := EvaluateCalico(tc.cal, tc.k8s, tc.flow, tc.dir)
			if v.Decision != tc.want {
				t.Fatalf("decision %s, want %s (%+v)", v.Decision, tc.want, v)
			}
			by := ""
			if len(v.By) > 0 {
				by = refs(v.By[:1])
			}
			if by != tc.by {
				t.Errorf("decided by %q, want %q", by, tc.by)
			}
		})
	}
}

// A Calico Deny is explained by the labels it matched: the rule's source selector at
// ingress, the policy's selector and the rule's source (the pod itself) at egress.
func TestExplainCalicoDeny(t *testing.T) {
	raw := func(s string) json.RawMessage { return json.RawMessage(s) }
	canary := pod("shop", map[string]string{}, "app", "web", "role", "canary")
	stable := pod("shop", map[string]string{}, "app", "web", "role", "stable")
	dns := pod("kube-system", map[string]string{}, "k8s-app", "kube-dns")
	p := CalicoPolicy{Kind: "GlobalNetworkPolicy", Name: "no-canary-dns", Spec: CalicoSpec{Order: order(5), Selector: "all()", Types: []string{"Egress"},
		Egress: []CalicoRule{{Action: "Deny", Protocol: raw(`"UDP"`), Source: CalicoEntity{Selector: "role == 'canary'"}, Destination: CalicoEntity{Ports: []json.RawMessage{raw("53")}}}, {Action: "Allow"}}}}
	f := func(src Endpoint) Flow {
		return Flow{Src: src, SrcIP: ip("10.244.1.5"), Dst: dns, DstIP: ip("10.244.0.2"), Protocol: "UDP", Port: 53}
	}
	vb, va := EvaluateCalico([]CalicoPolicy{p}, nil, f(canary), Egress), EvaluateCalico([]CalicoPolicy{p}, nil, f(stable), Egress)
	if vb.Decision != Denied || va.Decision != Allowed {
		t.Fatalf("canary %s, stable %s", vb.Decision, va.Decision)
	}
	got := Explain(Side{Name: "web-b", Self: canary, Verdict: vb, Reaching: "the cluster DNS 10.96.0.10"}, Side{Name: "web-a", Self: stable, Verdict: va}, true)
	for _, w := range []string{"Calico GlobalNetworkPolicy no-canary-dns (order 5) denies egress with rule 1", "web-b has role=canary (web-a: role=stable)", "DNS is denied outright"} {
		if !strings.Contains(got, w) {
			t.Errorf("%q lacks %q", got, w)
		}
	}
}
