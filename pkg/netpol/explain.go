package netpol

import (
	"fmt"
	"sort"
	"strings"
)

// Key is the verdict as a comparable fact value: equal for two pods the policies treat
// alike, whichever rule admitted each ("allowed"), and naming the policies that deny.
func (v Verdict) Key() string {
	switch v.Decision {
	case Denied:
		return "denied by " + refs(v.By)
	case Undecided:
		return "unknown: " + v.Reason
	}
	return "allowed"
}

// How says which policy and rule admitted, or that nothing isolates the pod.
func (v Verdict) How() string {
	switch {
	case v.Decision != Allowed:
		return v.Key()
	case !v.Isolated && len(v.By) == 0:
		if v.Direction == Ingress {
			return "allowed: no policy selects the destination for ingress"
		}
		return "allowed: no policy selects the source for egress"
	}
	return "allowed by " + refs(v.By)
}

func refs(rs []Ref) string {
	var out []string
	for _, r := range rs {
		s := r.String()
		if r.Rule > 0 {
			s += fmt.Sprintf(" rule %d", r.Rule)
		}
		out = append(out, s)
	}
	return strings.Join(out, ", ")
}

// Merge joins one side's verdicts over a Service's endpoints: denied when every endpoint
// denies (by the union of their policies), allowed when every one admits, else the first
// denial with Partial counting the endpoints it holds for.
func Merge(vs []Verdict) Verdict {
	if len(vs) == 0 {
		return Verdict{}
	}
	var denied, undecided []Verdict
	for _, v := range vs {
		switch v.Decision {
		case Denied:
			denied = append(denied, v)
		case Undecided:
			undecided = append(undecided, v)
		}
	}
	switch {
	case len(denied) == len(vs):
		out := denied[0]
		seen := map[Ref]bool{}
		out.By, out.Admits = nil, nil
		for _, v := range denied {
			for n, r := range v.By {
				if !seen[r] {
					seen[r] = true
					out.By = append(out.By, r)
					if n < len(v.Admits) {
						out.Admits = append(out.Admits, v.Admits[n])
					}
				}
			}
			out.SelectKeys = uniq(append(out.SelectKeys, v.SelectKeys...))
			out.PeerKeys = uniq(append(out.PeerKeys, v.PeerKeys...))
			out.PeerNSKeys = uniq(append(out.PeerNSKeys, v.PeerNSKeys...))
			out.PeerBlocks = out.PeerBlocks || v.PeerBlocks
		}
		return out
	case len(undecided) > 0:
		return undecided[0]
	case len(denied) > 0:
		out := denied[0]
		out.Decision = Undecided
		out.Reason = fmt.Sprintf("denied to %d of %d endpoints by %s", len(denied), len(vs), refs(out.By))
		return out
	}
	return vs[0]
}

// Side is one subject's view of a flow for Explain.
type Side struct {
	Name     string // the subject's name, as the user knows it
	Self     Endpoint
	SelfIP   string
	Verdict  Verdict
	Reaching string // what the probe reached: "tcp://db:5432 (Service shop/db)"
	// Dest is the pod the probe reached, where it is one pod.
	Dest Endpoint
}

// Explain words a denial in one subject against another subject the same flow passes in:
// the policy, what it admits, and the difference between the two that decides, e.g.
// "NetworkPolicy shop/db-ingress selects pods with app=db and admits only TCP 5432 from
// pods with role=stable of its namespace; web-b has role=canary (web-a: role=stable):
// its TCP traffic to tcp://db:5432 is dropped at the destination's ingress".
func Explain(fail, ok Side, dns bool) string {
	v := fail.Verdict
	var b strings.Builder
	b.WriteString(strings.Join(v.Admits, "; "))
	if c := contrast(fail, ok); c != "" {
		b.WriteString("; " + c)
	}
	where := "at its egress"
	if v.Direction == Ingress {
		where = "at the destination's ingress"
	}
	fmt.Fprintf(&b, ": %s's traffic to %s is dropped %s", fail.Name, fail.Reaching, where)
	if v.Direction == Ingress && fail.Dest.Pod && !strings.Contains(fail.Reaching, fail.Dest.Name) {
		fmt.Fprintf(&b, " of pod %s/%s", fail.Dest.Namespace, fail.Dest.Name)
	}
	switch {
	case dns && v.Direction == Egress && v.Explicit:
		b.WriteString(" (its DNS to the cluster DNS is denied outright, so name lookups time out)")
	case dns && v.Direction == Egress:
		b.WriteString(" (a default-deny egress that forgets DNS: nothing admits UDP and TCP 53 to the cluster DNS, so name lookups time out)")
	}
	return b.String()
}

// contrast names what differs between the two subjects among the facts the deciding
// policies look at: for egress the source's labels their pod selectors select on, and
// its namespace; for ingress the labels and namespace labels their peers examine, and
// the source's address where they admit address blocks.
func contrast(fail, ok Side) string {
	v := fail.Verdict
	var parts []string
	if v.Direction == Ingress && fail.Dest.Pod && ok.Dest.Pod && !ok.Verdict.Isolated &&
		(fail.Dest.Namespace != ok.Dest.Namespace || fail.Dest.Name != ok.Dest.Name) {
		// Each probes its peer: the difference is the destination, not the source.
		return fmt.Sprintf("it selects the destination, pod %s/%s (%s's probe reaches pod %s/%s, which no policy isolates for ingress)",
			fail.Dest.Namespace, fail.Dest.Name, ok.Name, ok.Dest.Namespace, ok.Dest.Name)
	}
	if fail.Self.Namespace != ok.Self.Namespace {
		parts = append(parts, fmt.Sprintf("%s is in namespace %s (%s: %s)", fail.Name, fail.Self.Namespace, ok.Name, ok.Self.Namespace))
	}
	keys := v.PeerKeys
	if v.Direction == Egress {
		keys = v.SelectKeys
	}
	if l := labelDiff(keys, fail.Self.Labels, ok.Self.Labels); l != "" {
		parts = append(parts, fmt.Sprintf("%s has %s (%s: %s)", fail.Name, l, ok.Name, labelValues(keys, fail.Self.Labels, ok.Self.Labels, l)))
	}
	if v.Direction == Ingress {
		fl, _ := nsLabels(fail.Self)
		ol, _ := nsLabels(ok.Self)
		if l := labelDiff(v.PeerNSKeys, fl, ol); l != "" {
			parts = append(parts, fmt.Sprintf("%s's namespace has %s (%s's: %s)", fail.Name, l, ok.Name, labelValues(v.PeerNSKeys, fl, ol, l)))
		}
		if v.PeerBlocks && fail.SelfIP != ok.SelfIP {
			parts = append(parts, fmt.Sprintf("%s's address is %s (%s: %s)", fail.Name, fail.SelfIP, ok.Name, ok.SelfIP))
		}
	}
	if len(parts) == 0 {
		return fmt.Sprintf("%s: %s", ok.Name, ok.Verdict.How())
	}
	return strings.Join(parts, "; ")
}

// labelDiff words the failing side's values of the keys whose values differ.
func labelDiff(keys []string, fail, ok map[string]string) string {
	var out []string
	for _, k := range keys {
		fv, fok := fail[k]
		ov, ook := ok[k]
		if fok == ook && fv == ov {
			continue
		}
		out = append(out, word(k, fv, fok))
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

// labelValues words the other side's values of the same keys: labelDiff from its side.
func labelValues(keys []string, fail, ok map[string]string, _ string) string {
	return labelDiff(keys, ok, fail)
}

func word(k, v string, present bool) string {
	if !present {
		return "no label " + k
	}
	return k + "=" + v
}
