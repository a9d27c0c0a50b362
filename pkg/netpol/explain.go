package netpol

import (
	"fmt"
	"slices"
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

// Headline words a denial as a top-level cause's one line (docs/findings.md): the
// deciding policies by name, as typed, what they deny, and what differs between the two
// subjects that decides, the labels and names as typed; what the policies admit and
// which probes they stop is Explain's, the detail.
func Headline(fail, ok Side, dns bool) string {
	v := fail.Verdict
	var names []string
	kind := ""
	for _, r := range v.By {
		n := r.Name
		if r.Namespace != "" {
			n = r.Namespace + "/" + n
		}
		if r.Kind != kind {
			kind = r.Kind
			names = append(names, r.Kind+" `"+n+"`")
		} else {
			names = append(names, "`"+n+"`")
		}
	}
	what := fail.Name + "'s egress"
	switch {
	case v.Direction == Ingress && peerOnly(fail, ok):
		// Each probes its peer: the difference is the destination, not the source.
		return fmt.Sprintf("%s %s %s out of pod %s (no policy isolates %s's peer %s)", strings.Join(names, " and "), verb(len(names), "keeps", "keep"),
			fail.Name, code(fail.Dest.Namespace+"/"+fail.Dest.Name), ok.Name, code(ok.Dest.Namespace+"/"+ok.Dest.Name))
	case v.Direction == Ingress:
		return fmt.Sprintf("%s %s %s out of the destination%s", strings.Join(names, " and "), verb(len(names), "keeps", "keep"), fail.Name, becauseOf(fail, ok))
	case dns:
		what += ", DNS included"
	}
	return fmt.Sprintf("%s %s %s%s", strings.Join(names, " and "), verb(len(names), "denies", "deny"), what, becauseOf(fail, ok))
}

// becauseOf is the headline's end: ", as" what differs between the two subjects that
// the policies look at, the labels and names as typed (a namespace by its labels where
// they decide, not also by its name); or the other subject's verdict where nothing
// they look at differs.
func becauseOf(fail, ok Side) string {
	parts := differences(fail, ok, code, false)
	if len(parts) == 0 {
		return fmt.Sprintf(" (%s: %s)", ok.Name, ok.Verdict.How())
	}
	return ", as " + strings.Join(parts, "; ")
}

// verb is one or many by n: the verb of one policy or of several.
func verb(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// code writes a label, a name or an address as typed, in backticks.
func code(s string) string { return "`" + s + "`" }

// plain writes them as they are.
func plain(s string) string { return s }

// contrast names what differs between the two subjects among the facts the deciding
// policies look at: for egress the source's labels their pod selectors select on, and
// its namespace; for ingress the labels and namespace labels their peers examine, and
// the source's address where they admit address blocks.
func contrast(fail, ok Side) string {
	v := fail.Verdict
	if v.Direction == Ingress && peerOnly(fail, ok) {
		// Each probes its peer: the difference is the destination, not the source.
		return fmt.Sprintf("it selects the destination, pod %s/%s (%s's probe reaches pod %s/%s, which no policy isolates for ingress)",
			fail.Dest.Namespace, fail.Dest.Name, ok.Name, ok.Dest.Namespace, ok.Dest.Name)
	}
	parts := differences(fail, ok, plain, true)
	if len(parts) == 0 {
		return fmt.Sprintf("%s: %s", ok.Name, ok.Verdict.How())
	}
	return strings.Join(parts, "; ")
}

// peerOnly: each subject probes its peer and only the failing one's destination is
// isolated for ingress.
func peerOnly(fail, ok Side) bool {
	return fail.Dest.Pod && ok.Dest.Pod && !ok.Verdict.Isolated &&
		(fail.Dest.Namespace != ok.Dest.Namespace || fail.Dest.Name != ok.Dest.Name)
}

// differences are what differs between the two subjects among the facts the deciding
// policies look at, each in words, the labels, names and addresses written by as;
// withName: the namespace's name too where its labels differ and decide.
func differences(fail, ok Side, as func(string) string, withName bool) []string {
	v := fail.Verdict
	var parts []string
	keys := v.PeerKeys
	if v.Direction == Egress {
		keys = v.SelectKeys
	}
	if l := labelDiff(keys, fail.Self.Labels, ok.Self.Labels, as); l != "" {
		parts = append(parts, fmt.Sprintf("%s has %s (%s: %s)", fail.Name, l, ok.Name, labelDiff(keys, ok.Self.Labels, fail.Self.Labels, as)))
	}
	byLabels := false
	if v.Direction == Ingress {
		fl, _ := nsLabels(fail.Self)
		ol, _ := nsLabels(ok.Self)
		if l := labelDiff(v.PeerNSKeys, fl, ol, as); l != "" {
			parts = append(parts, fmt.Sprintf("%s's namespace has %s (%s's: %s)", fail.Name, l, ok.Name, labelDiff(v.PeerNSKeys, ol, fl, as)))
			byLabels = true
		}
		if v.PeerBlocks && fail.SelfIP != ok.SelfIP {
			parts = append(parts, fmt.Sprintf("%s's address is %s (%s: %s)", fail.Name, as(fail.SelfIP), ok.Name, as(ok.SelfIP)))
		}
	}
	if fail.Self.Namespace != ok.Self.Namespace && (withName || !byLabels) {
		parts = append([]string{fmt.Sprintf("%s is in namespace %s (%s: %s)", fail.Name, as(fail.Self.Namespace), ok.Name, as(ok.Self.Namespace))}, parts...)
	}
	return parts
}

// labelDiff words one side's values of the keys whose values differ from the other's.
func labelDiff(keys []string, fail, ok map[string]string, as func(string) string) string {
	var out []string
	for _, k := range keys {
		fv, fok := fail[k]
		ov, ook := ok[k]
		if fok == ook && fv == ov {
			continue
		}
		out = append(out, word(k, fv, fok, as))
	}
	sort.Strings(out)
	return strings.Join(slices.Compact(out), ", ")
}

func word(k, v string, present bool, as func(string) string) string {
	if !present {
		return "no label " + as(k)
	}
	return as(k + "=" + v)
}
