// Package cgroupbpf reports the BPF programs attached to the target process's cgroup
// (cgroup v2) and to each of its ancestors: Cilium's socket load balancing and Calico's
// eBPF dataplane attach connect4/6, sendmsg4/6, sock_create and sock_ops programs there,
// and when one misbehaves connect() fails with EPERM or EHOSTUNREACH with no route, rule
// or netfilter rule to show for it.
//
// The collector (cgroupbpf_linux.go) needs CAP_NET_ADMIN to list the programs
// (BPF_PROG_QUERY) and CAP_SYS_ADMIN to read their names and tags (BPF_PROG_GET_FD_BY_ID);
// without them the section says what is missing.
package cgroupbpf

import (
	"fmt"
	"strings"

	"github.com/netdiff/kubectl-netdiff/pkg/contract"
	"github.com/netdiff/kubectl-netdiff/pkg/probe"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
	"github.com/netdiff/kubectl-netdiff/pkg/section"
)

const Name = "cgroupbpf"

// MaxPrograms caps the programs listed over all levels; a node running Cilium has about a
// dozen at the root, the kernel allows 64 per attach type and cgroup.
const MaxPrograms = 256

func init() {
	section.Register(section.Descriptor[Section]{
		Name:      Name,
		Phase:     probe.Static,
		Collector: func() probe.Collector { return &Plugin{} },
		Facts:     Facts,
		Rules: map[string]contract.Rule{
			"only-in-some": OnlyInSome,
		},
		Analysis: &analysis,
	})
}

// Section is the JSON shape of sections.cgroupbpf.
type Section struct {
	// Cgroup is the target's cgroup v2 path as its /proc/PID/cgroup names it ("0::PATH").
	Cgroup string `json:"cgroup,omitempty"`
	// Mount is the cgroup2 mount point the levels were opened under, and Via how it was
	// found: "mountinfo" (the prober's own mounts) or "app-root" (the app's /sys/fs/cgroup
	// through /proc/PID/root, when the prober's mounts do not show the app's cgroup).
	Mount string `json:"mount,omitempty"`
	Via   string `json:"via,omitempty"`
	// ProberCgroup is the prober's own cgroup v2 path (as its /proc/self/cgroup names it).
	ProberCgroup string `json:"proberCgroup,omitempty"`
	// Levels are the target's cgroup ("self") and each visible ancestor, self first.
	Levels []Level `json:"levels,omitempty"`
	// Above are the programs in effect for the target's cgroup that no visible level holds:
	// attached to an ancestor the prober's mounts do not show.
	Above []Program `json:"above,omitempty"`
	// Total is how many programs were found; Truncated that only MaxPrograms are listed.
	Total     int  `json:"total"`
	Truncated bool `json:"truncated,omitempty"`
	// Errors: "cgroup" (no cgroup v2 membership, or not visible), "query" (listing
	// refused: EPERM without CAP_NET_ADMIN), "info" (names and tags refused: EPERM
	// without CAP_SYS_ADMIN), "effective" (the effective list could not be read).
	Errors map[string]*report.Error `json:"errors,omitempty"`
}

// Level is one cgroup on the target's path to the root.
type Level struct {
	// Level names the cgroup relative to the target's: self, parent, up2, up3, …; root is
	// the root of the hierarchy as the prober's cgroup namespace shows it.
	Level string `json:"level"`
	Path  string `json:"path"`
	// Prober: the prober's own probes run in this cgroup or below it, so its programs
	// govern them. In an ephemeral container the prober has a cgroup of its own beside
	// the app's: the app's own level does not govern its probes, the pod's and above do.
	Prober   bool          `json:"prober,omitempty"`
	Programs []Program     `json:"programs,omitempty"`
	Error    *report.Error `json:"error,omitempty"`
}

// Program is one attached program.
type Program struct {
	// Attach is the hook, named as bpftool names it: connect4, connect6, sendmsg4,
	// sock_create, sock_ops, ingress, egress, bind4, …
	Attach string `json:"attach"`
	// ID is the kernel's program id: different on every load, so never compared.
	ID   uint32 `json:"id"`
	Name string `json:"name,omitempty"`
	// Tag is the kernel's hash of the program's instructions (hex): the same code has
	// the same tag wherever it is loaded.
	Tag string `json:"tag,omitempty"`
	// Type is the program type (CGroupSockAddr, CGroupSKB, SockOps, …).
	Type string `json:"type,omitempty"`
	// Flags are the attach flags at this level: multi (also every bpf_link), override,
	// none (exclusive), preorder, and overridden (attached, not in effect for the target);
	// empty in Above, where the level is unknown.
	Flags string `json:"flags,omitempty"`
	// Error is why the name, tag and type could not be read (EPERM without CAP_SYS_ADMIN).
	Error *report.Error `json:"error,omitempty"`
}

// Plugin collects the cgroupbpf section.
type Plugin struct{}

// Error texts without paths or ids, so two subjects' facts compare by meaning.
const (
	errNoV2       = "the target is in no cgroup v2 (unified) hierarchy"
	errNoMount    = "no cgroup2 mount visible to the prober"
	errNotVisible = "the target's cgroup is not visible from the prober's mount namespace"
	errQuery      = "listing cgroup BPF programs (BPF_PROG_QUERY) needs CAP_NET_ADMIN"
	errInfo       = "reading a program's name, tag and type by id needs CAP_SYS_ADMIN"
)

// LevelName is the name of the cgroup n levels above the target's (0 is its own).
func LevelName(n int, path string) string {
	switch {
	case path == "/":
		return "root"
	case n == 0:
		return "self"
	case n == 1:
		return "parent"
	}
	return fmt.Sprintf("up%d", n)
}

// AboveLevel is the level of the programs in effect that no visible level holds.
const AboveLevel = "above"

// ident is how a program lines up across subjects: name and tag, or its place among the
// level's programs of that hook where they could not be read.
func (p Program) ident(pos int) string {
	if p.Name == "" && p.Tag == "" {
		return fmt.Sprintf("#%d", pos+1)
	}
	return p.Name + "@" + p.Tag
}

// value is a program's comparable value: its type and attach flags.
func (p Program) value() string {
	if p.Error != nil && p.Type == "" {
		return "info unreadable (" + p.Error.Name() + ") flags " + flagsOrUnknown(p.Flags)
	}
	return "type " + p.Type + " flags " + flagsOrUnknown(p.Flags)
}

// flagsOrUnknown: a program in "above" has no known flags (the effective list has none).
func flagsOrUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// Facts is the pure form of Plugin.Facts. A program is keyed
// "prog/ATTACH/LEVEL/NAME@TAG" with its type and flags as the value; its id and the
// level's path are Info, different by nature.
func Facts(s *Section) []probe.Fact {
	var out []probe.Fact
	seen := map[string]int{}
	add := func(level, path string, ps []Program) {
		pos := map[string]int{}
		for _, p := range ps {
			k := "prog/" + p.Attach + "/" + level + "/" + p.ident(pos[p.Attach])
			pos[p.Attach]++
			seen[k]++
			if n := seen[k]; n > 1 {
				k = fmt.Sprintf("%s #%d", k, n)
			}
			out = append(out, probe.Fact{Key: k, Value: p.value(), Kind: probe.Exact})
			where := path
			if where == "" {
				where = "an ancestor the prober cannot see"
			}
			out = append(out, probe.Fact{Key: "id/" + strings.TrimPrefix(k, "prog/"), Value: fmt.Sprintf("id %d at %s", p.ID, where), Kind: probe.ShowOnly})
		}
	}
	if s.Cgroup != "" {
		out = append(out, probe.Fact{Key: "cgroup", Value: s.Cgroup, Kind: probe.ShowOnly})
	}
	for _, l := range s.Levels {
		out = append(out, probe.Fact{Key: "level/" + l.Level, Value: l.Path, Kind: probe.ShowOnly})
		out = append(out, probe.Fact{Key: "prober/" + l.Level, Value: proberWord(l.Prober), Kind: probe.ShowOnly})
		if l.Error != nil {
			out = append(out, probe.Fact{Key: "error/level/" + l.Level, Value: l.Error.Name(), Kind: probe.Exact})
		}
		add(l.Level, l.Path, l.Programs)
	}
	add(AboveLevel, "", s.Above)
	if s.Truncated {
		out = append(out, probe.Fact{Key: "truncated", Value: fmt.Sprintf("true (%d shown)", MaxPrograms), Kind: probe.Exact})
	}
	for _, k := range []string{"cgroup", "query", "info", "effective"} {
		if e := s.Errors[k]; e != nil {
			out = append(out, probe.Fact{Key: "error/" + k, Value: e.Name(), Kind: probe.Exact})
		}
	}
	return out
}

// proberWord is the value of a "prober/LEVEL" fact: whether the prober's probes run under
// that level (ProberRuns) or not.
func proberWord(b bool) string {
	if b {
		return ProberRuns
	}
	return "the prober runs elsewhere"
}

// ProberRuns is the value of "prober/LEVEL" where the prober's probes run under the level.
const ProberRuns = "the prober runs here or below"

// ProgKey is a program row's key split: hook, level and the program's name@tag (or #N).
type ProgKey struct {
	Attach, Level, Ident string
}

// ParseProgKey reads "prog/connect4/self/deny@0123abcd" (a "#2" suffix allowed).
func ParseProgKey(key string) (ProgKey, bool) {
	rest, ok := strings.CutPrefix(key, "prog/")
	if !ok {
		return ProgKey{}, false
	}
	f := strings.SplitN(rest, "/", 3)
	if len(f) != 3 {
		return ProgKey{}, false
	}
	return ProgKey{Attach: f[0], Level: f[1], Ident: f[2]}, true
}

// what words a program: "connect4 program deny_9090 (tag 1a2b…)".
func (k ProgKey) what() string {
	name, tag, ok := strings.Cut(k.Ident, "@")
	if !ok {
		return fmt.Sprintf("cgroup %s program %s (name and tag unreadable)", k.Attach, k.Ident)
	}
	tag, _, _ = strings.Cut(tag, " ")
	if name == "" {
		name = "(unnamed)"
	}
	return fmt.Sprintf("cgroup %s program %s (tag %s)", k.Attach, name, tag)
}

// named is what without the tag, the name as bpftool shows it: "cgroup connect4 program
// `deny`" (the tag goes to the detail, tagWords).
func (k ProgKey) named() string {
	name, _, ok := strings.Cut(k.Ident, "@")
	if !ok {
		return k.what()
	}
	if name == "" {
		name = "(unnamed)"
	}
	return fmt.Sprintf("cgroup %s program `%s`", k.Attach, name)
}

// tagWords: "its tag is 604464f5d5676b09" ("" when unreadable).
func (k ProgKey) tagWords() string {
	_, tag, ok := strings.Cut(k.Ident, "@")
	if !ok {
		return ""
	}
	tag, _, _ = strings.Cut(tag, " ")
	return "its tag is " + tag
}

// joinWords joins the non-empty parts with "; ".
func joinWords(parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, "; ")
}

// pathWords: "the cgroup is /a/b" ("" when unknown).
func pathWords(path string) string {
	if path == "" {
		return ""
	}
	return "the cgroup is " + path
}

// where words a level: "at its own cgroup /a/b", "at the cgroup root /".
func where(level, path string) string {
	at := ""
	switch {
	case level == "self":
		at = "at its own cgroup"
	case level == "parent":
		at = "at its parent cgroup"
	case level == "root":
		at = "at the cgroup root"
	case level == AboveLevel:
		return "at an ancestor cgroup the prober cannot see"
	case strings.HasPrefix(level, "up"):
		at = "at the cgroup " + strings.TrimPrefix(level, "up") + " levels up"
	default:
		at = "at cgroup level " + level
	}
	if path != "" {
		at += " " + path
	}
	return at
}

// does says what a hook can do to the probes, so a finding names the mechanism.
func does(attach string) string {
	switch attach {
	case "connect4", "connect6":
		return "it runs on every connect() of that family and can refuse it (EPERM) or rewrite its destination"
	case "sendmsg4", "sendmsg6":
		return "it runs on every unconnected UDP send of that family and can refuse it (EPERM) or rewrite its destination"
	case "recvmsg4", "recvmsg6":
		return "it rewrites the source address of received UDP datagrams"
	case "sock_create":
		return "it runs on every socket() and can refuse it (EPERM)"
	case "egress":
		return "it sees every packet the cgroup's sockets send and can drop them (connect fails with EPERM)"
	case "ingress":
		return "it sees every packet the cgroup's sockets receive and can drop them (replies lost, connects time out)"
	case "sock_ops":
		return "it sees TCP connection events and sets socket options (MSS, congestion control, callbacks)"
	case "bind4", "bind6", "post_bind4", "post_bind6":
		return "it runs on bind() and can refuse or rewrite it"
	case "getsockopt", "setsockopt":
		return "it can refuse or alter socket options"
	}
	return "it runs on the cgroup's sockets"
}

// severityOf: the hooks that can make a connect fail are High, the others Medium.
func severityOf(attach string) contract.Severity {
	switch attach {
	case "connect4", "connect6", "sendmsg4", "sendmsg6", "sock_create", "egress", "ingress":
		return contract.High
	}
	return contract.Medium
}

// levelPath is the path of a level in subject i's section ("" when unknown).
func levelPath(c *contract.Comparison, i int, level string) string {
	if r, ok := c.Row(Name, "level/"+level); ok && r.Present(i) {
		return r.Values[i]
	}
	return ""
}

// readable: subject i has the section and could list programs, so a program it lacks is
// really absent and not unseen.
func readable(c *contract.Comparison, i int) bool {
	if i >= len(c.Reports) || c.Reports[i] == nil {
		return false
	}
	raw, ok := c.Reports[i].Sections[Name]
	if !ok || len(raw) == 0 || string(raw) == "null" {
		return false
	}
	for _, k := range []string{"error/cgroup", "error/query"} {
		if r, ok := c.Row(Name, k); ok && r.Present(i) {
			return false
		}
	}
	return true
}

// OnlyInSome names a program attached on one subject's cgroup path and not on another's,
// or attached with other flags or type: "pod-b has a cgroup connect4 program deny (tag
// …) at its own cgroup (pod-a has no such program)".
func OnlyInSome(c *contract.Comparison) []contract.Finding {
	var out []contract.Finding
	for _, row := range c.Section(Name) {
		k, ok := ParseProgKey(row.Key)
		if row.Equal || !ok {
			continue
		}
		var has, lacks []int
		for i := range c.Subjects {
			if !readable(c, i) {
				continue
			}
			if row.Present(i) {
				has = append(has, i)
			} else {
				lacks = append(lacks, i)
			}
		}
		if len(has) == 0 || len(lacks) == 0 && sameValues(row, has) {
			continue
		}
		f := contract.Finding{Severity: severityOf(k.Attach), Rule: Name + "/only-in-some", Keys: []string{row.ID()}}
		switch {
		case len(lacks) > 0:
			var names, lackNames []string
			for _, i := range has {
				names = append(names, c.Subjects[i])
			}
			for _, i := range lacks {
				lackNames = append(lackNames, c.Subjects[i])
			}
			f.Message = fmt.Sprintf("%s %s a %s %s (%s %s no such program)", strings.Join(names, ", "), hasWord(len(names)),
				k.named(), where(k.Level, ""), strings.Join(lackNames, ", "), hasWord(len(lackNames)))
			f.Detail = joinWords(k.tagWords(), pathWords(levelPath(c, has[0], k.Level)), does(k.Attach))
			if len(has) == 1 {
				f.Subject = c.Subjects[has[0]]
			}
		default:
			var vals []string
			for _, i := range has {
				vals = append(vals, c.Subjects[i]+": "+row.Values[i])
			}
			f.Severity = contract.Medium
			f.Message = fmt.Sprintf("the %s attached %s differs: %s", k.what(), where(k.Level, ""), strings.Join(vals, "; "))
		}
		out = append(out, f)
	}
	return out
}

// sameValues: the subjects in idx all have one value of r.
func sameValues(r contract.Row, idx []int) bool {
	for _, i := range idx[1:] {
		if r.Values[i] != r.Values[idx[0]] {
			return false
		}
	}
	return true
}

func hasWord(n int) string {
	if n == 1 {
		return "has"
	}
	return "have"
}

func doesWord(n int) string {
	if n == 1 {
		return "does not"
	}
	return "do not"
}

var _ probe.Collector = (*Plugin)(nil)
