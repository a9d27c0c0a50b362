package pod

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"

	"github.com/netdiff/kubectl-netdiff/pkg/contract"
	"github.com/netdiff/kubectl-netdiff/pkg/netpol"
	"github.com/netdiff/kubectl-netdiff/pkg/probe"
	"github.com/netdiff/kubectl-netdiff/pkg/target"
)

// judged is one destination's verdicts at the pod's egress and the destination's ingress.
type judged struct {
	egress, ingress netpol.Verdict
	hasIngress      bool // the destination is a pod (or a Service's pods)
}

// self is the pod as its policies see it.
func (s *Section) self() netpol.Endpoint {
	return netpol.Endpoint{Pod: true, Namespace: s.Namespace, Labels: s.Labels, NamespaceLabels: s.NamespaceLabels,
		ServiceAccount: s.ServiceAccount, HostNetwork: s.HostNetwork}
}

// ownIP is the pod's address of the destination's family.
func (s *Section) ownIP(dst netip.Addr) netip.Addr {
	for _, ip := range s.PodIPs {
		if a, err := netip.ParseAddr(ip); err == nil && a.Is4() == dst.Is4() {
			return a
		}
	}
	return netip.Addr{}
}

// judge evaluates the policies on the way to d, over each endpoint the traffic lands on.
func (s *Section) judge(d *Destination) (judged, bool) {
	if s.Namespace == "" || len(d.Endpoints) == 0 {
		return judged{}, false
	}
	var eg, in []netpol.Verdict
	for _, e := range d.Endpoints {
		dst, _ := netip.ParseAddr(e.Address)
		port := e.Port
		if port == 0 {
			port = d.Port
		}
		f := netpol.Flow{Src: s.self(), SrcIP: s.ownIP(dst), Dst: e.Endpoint, DstIP: dst, Protocol: protoOf(corev1Protocol(d.Protocol)), Port: port}
		ev := s.evaluate(f, netpol.Egress)
		if s.NetworkPoliciesError != "" {
			ev = netpol.Verdict{Direction: netpol.Egress, Decision: netpol.Undecided, Reason: s.NetworkPoliciesError}
		}
		eg = append(eg, ev)
		if e.Pod || e.Unknown != "" {
			iv := s.evaluate(f, netpol.Ingress)
			switch {
			case d.IngressError != "":
				iv = netpol.Verdict{Direction: netpol.Ingress, Decision: netpol.Undecided, Reason: d.IngressError}
			case e.Unknown != "":
				iv = netpol.Verdict{Direction: netpol.Ingress, Decision: netpol.Undecided, Reason: e.Unknown}
			}
			in = append(in, iv)
		}
	}
	return judged{egress: netpol.Merge(eg), ingress: netpol.Merge(in), hasIngress: len(in) > 0}, true
}

// evaluate decides one side: in Felix's order where Calico's own policies are in play.
func (s *Section) evaluate(f netpol.Flow, d netpol.Direction) netpol.Verdict {
	if len(s.CalicoPolicies) > 0 {
		return netpol.EvaluateCalico(s.CalicoPolicies, s.PolicySpecs, f, d)
	}
	return netpol.Evaluate(s.PolicySpecs, f, d)
}

// policyFacts: the labels policies select on (Info: replicas' labels differ by nature),
// and per probed destination the verdict at each side, equal for two pods the policies
// treat alike ("allowed", whichever rule admits), naming the policies where they deny.
func policyFacts(s *Section) []probe.Fact {
	var f []probe.Fact
	for k, v := range s.Labels {
		f = append(f, probe.Fact{Key: "labels/" + k, Value: v, Kind: probe.ShowOnly})
	}
	for k, v := range s.NamespaceLabels {
		f = append(f, probe.Fact{Key: "namespaceLabels/" + k, Value: v, Kind: probe.ShowOnly})
	}
	f = append(f, felixChainFacts(s)...)
	denials := map[string][]string{} // "policy-denies/egress/NetworkPolicy shop/x" -> the targets
	for i := range s.Destinations {
		d := &s.Destinations[i]
		j, ok := s.judge(d)
		if !ok {
			continue
		}
		key := d.Target + "/" + d.AddrKey
		add := func(dir string, v netpol.Verdict) {
			kind := probe.Exact
			if v.Decision == netpol.Undecided {
				kind = probe.ShowOnly // unknown is not a difference
			}
			how := v.How()
			if s.CalicoPoliciesError != "" {
				how += " (Calico's own policies unknown: " + s.CalicoPoliciesError + ")"
			}
			f = append(f, probe.Fact{Key: "policy/" + dir + "/" + key, Value: v.Key(), Kind: kind},
				probe.Fact{Key: "policy-detail/" + dir + "/" + key, Value: how, Kind: probe.ShowOnly})
			if v.Decision == netpol.Denied {
				k := denialKey(dir, v)
				denials[k] = append(denials[k], key)
			}
		}
		add("egress", j.egress)
		if j.hasIngress {
			add("ingress", j.ingress)
		}
	}
	// One row per direction and set of denying policies: the cause the diagnosis names,
	// one line however many probes it drops.
	for k, targets := range denials {
		sort.Strings(targets)
		f = append(f, probe.Fact{Key: k, Value: strings.Join(targets, ", ")})
	}
	return f
}

func denialKey(dir string, v netpol.Verdict) string {
	return "policy-denies/" + dir + "/" + strings.TrimPrefix(v.Key(), "denied by ")
}

// analysis: the verdicts on a probe's way are on its path; a denial in the failing pod
// that the working pod does not meet is the cause, worded by the policy that decides.
var analysis = contract.Analysis{Role: contract.State, Path: policyPath, Describe: describePolicy, Detail: detailPolicy}

func policyPath(c *contract.Comparison, p *contract.Probe, i int) []string {
	if p.Proto != "tcp" && p.Proto != "udp" && p.Proto != "icmp" || p.AddrKey == "" {
		return nil
	}
	var out []string
	for _, dir := range []string{"egress", "ingress"} {
		k := "policy/" + dir + "/" + p.Target + "/" + p.AddrKey
		if r, ok := c.Row(SectionName, k); ok && !r.Equal && r.Present(i) && strings.HasPrefix(r.Values[i], "denied by ") {
			out = append(out, "policy-denies/"+dir+"/"+strings.TrimPrefix(r.Values[i], "denied by "))
		}
	}
	return out
}

// describePolicy words a denial row in subject i against subject j as the cause's
// headline: the policies and what differs between the two pods that decides.
func describePolicy(c *contract.Comparison, r contract.Row, i, j int) string {
	fail, okSide, dns := policySides(c, r, i, j)
	if fail.Name == "" {
		return ""
	}
	return netpol.Headline(fail, okSide, dns)
}

// detailPolicy is the cause's detail: what the policies admit, what differs, and which
// of the pod's traffic they drop where.
func detailPolicy(c *contract.Comparison, r contract.Row, i, j int) string {
	fail, okSide, dns := policySides(c, r, i, j)
	if fail.Name == "" {
		return ""
	}
	return netpol.Explain(fail, okSide, dns)
}

// policySides are subject i's and subject j's views of the flows a denial row stands
// for, fail.Reaching naming what it drops; fail.Name is "" where there are none.
func policySides(c *contract.Comparison, r contract.Row, i, j int) (fail, okSide netpol.Side, dns bool) {
	rest, ok := strings.CutPrefix(r.Key, "policy-denies/")
	if !ok {
		return fail, okSide, false
	}
	dir, _, _ := strings.Cut(rest, "/")
	secs := sections(c)
	if secs[i] == nil {
		return fail, okSide, false
	}
	var reached []string
	for n := range secs[i].Destinations {
		d := &secs[i].Destinations[n]
		jd, ok := secs[i].judge(d)
		v := jd.egress
		if dir == "ingress" {
			v = jd.ingress
		}
		if !ok || v.Decision != netpol.Denied || c.NormaliseFor(i, denialKey(dir, v)) != r.Key {
			continue
		}
		key := c.NormaliseFor(i, d.Target+"/"+d.AddrKey)
		tgt, _ := target.SplitKey(key)
		what := tgt
		switch {
		case d.DNS:
			// UDP and TCP to one nameserver are one destination here.
			what = "the cluster DNS " + target.Host(tgt)
			if d.Service != "" {
				what += " (Service " + d.Service + ")"
			}
		case d.Service != "":
			what += " (Service " + d.Service + ")"
		case len(d.Endpoints) == 1 && d.Endpoints[0].Pod:
			what += " (pod " + d.Endpoints[0].Namespace + "/" + d.Endpoints[0].Name + ")"
		}
		switch {
		case slices.Contains(reached, what):
		case d.DNS:
			reached = append([]string{what}, reached...)
		default:
			reached = append(reached, what)
		}
		dns = dns || d.DNS
		if fail.Name == "" {
			fail = side(c, secs, i, d, key, dir)
			fail.Verdict = v
		}
	}
	if fail.Name == "" {
		return fail, okSide, false
	}
	// The same destination as the other subject sees it.
	okSide = netpol.Side{Name: c.Subjects[j], Verdict: netpol.Verdict{Direction: netpol.Direction(dir)}}
	if secs[j] != nil {
		okSide.Self = secs[j].self()
		for n := range secs[j].Destinations {
			d := &secs[j].Destinations[n]
			if key := c.NormaliseFor(j, d.Target+"/"+d.AddrKey); key == fail.Reaching {
				okSide = side(c, secs, j, d, key, dir)
				break
			}
		}
	}
	const show = 3
	fail.Reaching = strings.Join(reached[:min(show, len(reached))], ", ")
	if len(reached) > show {
		fail.Reaching += fmt.Sprintf(" and %d more", len(reached)-show)
	}
	return fail, okSide, dns
}

// side is subject k's view of destination d (its normalised key in Reaching, for now).
func side(c *contract.Comparison, secs []*Section, k int, d *Destination, key, dir string) netpol.Side {
	s := secs[k]
	sd := netpol.Side{Name: c.Subjects[k], Self: s.self(), Reaching: key}
	if jd, ok := s.judge(d); ok {
		sd.Verdict = jd.egress
		if dir == "ingress" {
			sd.Verdict = jd.ingress
		}
	}
	if dst, err := netip.ParseAddr(d.Address); err == nil {
		sd.SelfIP = s.ownIP(dst).String()
	}
	if len(d.Endpoints) == 1 {
		sd.Dest = d.Endpoints[0].Endpoint
	}
	return sd
}

// felixChainFacts name the chains Felix programs for each policy the section knows
// ("felix-chain/cali-po-_B6xdy…" = "NetworkPolicy shop/canary-ports (egress)"), so the
// node's half names a policy chain its pod's endpoint chain jumps to back to the policy
// (Felix's names are hashes of the policy's). Info: the policies themselves are compared
// as policies.
func felixChainFacts(s *Section) []probe.Fact {
	var refs []netpol.Ref
	for _, p := range s.PolicySpecs {
		refs = append(refs, netpol.Ref{Kind: "NetworkPolicy", Namespace: p.Namespace, Name: p.Name})
	}
	for _, p := range s.CalicoPolicies {
		refs = append(refs, p.Ref())
	}
	var f []probe.Fact
	for _, r := range refs {
		for _, d := range []netpol.Direction{netpol.Ingress, netpol.Egress} {
			if chain := netpol.FelixChain(r, d); chain != "" {
				f = append(f, probe.Fact{Key: FelixChainKey + chain, Value: r.String() + " (" + string(d) + ")", Kind: probe.ShowOnly})
			}
		}
	}
	return f
}

// FelixChainKey prefixes the rows naming Felix's policy chains (docs/sections/pod.md).
const FelixChainKey = "felix-chain/"
