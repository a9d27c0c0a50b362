// Package dnsconfig reports the name-resolution configuration (resolv.conf, hosts,
// nsswitch.conf, gai.conf) as the target process sees it through /proc/PID/root, and
// offers each nameserver as a default probe target.
package dnsconfig

import (
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/netdiff/kubectl-netdiff/pkg/contract"
	"github.com/netdiff/kubectl-netdiff/pkg/probe"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
	"github.com/netdiff/kubectl-netdiff/pkg/resolvconf"
	"github.com/netdiff/kubectl-netdiff/pkg/section"
	"github.com/netdiff/kubectl-netdiff/pkg/target"
)

const (
	// MaxHosts caps /etc/hosts entries; ad-blocking hosts files have 100,000 names.
	MaxHosts = 200
	// maxFileBytes bounds each file read.
	maxFileBytes = 1 << 20
)

// File says where a file was read and why it could not be (ENOENT vs EACCES matter:
// a missing gai.conf is normal, an unreadable root means the prober cannot see the app).
type File struct {
	Path  string        `json:"path"`
	Error *report.Error `json:"error,omitempty"`
}

// Section is the stored shape of sections.dnsconfig.
type Section struct {
	PID int `json:"pid"`
	// Root is the directory the files were read below: <proc>/<pid>/root.
	Root       string     `json:"root"`
	ResolvConf ResolvConf `json:"resolvConf"`
	Hosts      Hosts      `json:"hosts"`
	Nsswitch   Nsswitch   `json:"nsswitch"`
	Gai        GaiFile    `json:"gaiConf"`
}

type ResolvConf struct {
	File
	*resolvconf.Config
}

type Hosts struct {
	File
	Entries   []HostEntry `json:"entries,omitempty"`
	Total     int         `json:"total,omitempty"`
	Truncated bool        `json:"truncated,omitempty"`
}

type Nsswitch struct {
	File
	Databases map[string]string `json:"databases,omitempty"`
}

type GaiFile struct {
	File
	*Gai
	// Prefers is the family glibc's getaddrinfo sorts first: "ipv6" (the default) or "ipv4".
	Prefers string `json:"prefers"`
}

type Plugin struct{}

const Name = "dnsconfig"

func init() {
	section.Register(section.Descriptor[Section]{
		Name:      Name,
		Phase:     probe.Static,
		Collector: func() probe.Collector { return &Plugin{} },
		Facts:     facts,
		Rules: map[string]contract.Rule{
			"resolv":       resolvRule,
			"hosts":        hostsRule,
			"lookup-order": lookupOrderRule,
		},
		Analysis: &analysis,
	})
}

// Collect reads the four files; each failure is recorded in its file.
func (*Plugin) Collect(_ context.Context, env *probe.Env) (any, error) {
	return Read(env.Proc, env.PID), nil
}

// Read collects the section for process pid below procfs proc.
func Read(proc string, pid int) *Section {
	root := filepath.Join(proc, strconv.Itoa(pid), "root")
	s := &Section{PID: pid, Root: root}

	s.ResolvConf.Path = "/etc/resolv.conf"
	if b, err := readFile(root, s.ResolvConf.Path); err != nil {
		s.ResolvConf.Error = report.ErrorOf(err)
	} else if c, err := resolvconf.Parse(bytes.NewReader(b)); err != nil {
		s.ResolvConf.Error = report.ErrorOf(err)
	} else {
		s.ResolvConf.Config = c
	}

	s.Hosts.Path = "/etc/hosts"
	if b, err := readFile(root, s.Hosts.Path); err != nil {
		s.Hosts.Error = report.ErrorOf(err)
	} else if es, err := ParseHosts(bytes.NewReader(b)); err != nil {
		s.Hosts.Error = report.ErrorOf(err)
	} else {
		s.Hosts.Total = len(es)
		if len(es) > MaxHosts {
			es, s.Hosts.Truncated = es[:MaxHosts], true
		}
		s.Hosts.Entries = es
	}

	s.Nsswitch.Path = "/etc/nsswitch.conf"
	if b, err := readFile(root, s.Nsswitch.Path); err != nil {
		s.Nsswitch.Error = report.ErrorOf(err)
	} else if m, err := ParseNsswitch(bytes.NewReader(b)); err != nil {
		s.Nsswitch.Error = report.ErrorOf(err)
	} else {
		s.Nsswitch.Databases = m
	}

	s.Gai.Path = "/etc/gai.conf"
	if b, err := readFile(root, s.Gai.Path); err != nil {
		s.Gai.Error = report.ErrorOf(err)
	} else if g, err := ParseGai(bytes.NewReader(b)); err != nil {
		s.Gai.Error = report.ErrorOf(err)
	} else {
		s.Gai.Gai = g
	}
	s.Gai.Prefers = s.Gai.Gai.Prefers()
	return s
}

// readFile reads path below root, bounded. It does not follow the target's symlinks out
// of root by hand: the kernel resolves them through /proc/PID/root already (an absolute
// symlink such as /etc/resolv.conf -> /run/systemd/resolve/stub-resolv.conf stays inside).
func readFile(root, path string) ([]byte, error) {
	f, err := os.Open(filepath.Join(root, path))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxFileBytes))
	if err != nil {
		return nil, err
	}
	return b, nil
}

// DefaultTargets offers each nameserver the target process would use, as a TCP port 53
// target; the DNS query probes read resolv.conf themselves.
func (*Plugin) DefaultTargets(_ context.Context, env *probe.Env) []target.Target {
	c, err := resolvconf.ReadTarget(env.Proc, env.PID)
	if err != nil {
		env.Logf("dnsconfig: no default nameserver targets: %v", err)
		return nil
	}
	var out []target.Target
	for _, ns := range c.Nameservers {
		t, err := target.Parse("tcp://" + net.JoinHostPort(ns, "53"))
		if err != nil {
			env.Logf("dnsconfig: nameserver %q is not a probe target: %v", ns, err)
			continue
		}
		out = append(out, t)
	}
	return out
}

// facts flattens the section; see docs/sections/dnsconfig.md for the keys.
// namespaceSearch writes a pod's own namespace in its search list as <namespace>: the
// kubelet puts "NS.svc.DOMAIN svc.DOMAIN …" first for every pod (dnsPolicy ClusterFirst),
// so pods of two namespaces differ there by design, not by fault.
func namespaceSearch(search []string) []string {
	if len(search) < 2 {
		return search
	}
	ns, domain, ok := strings.Cut(search[0], ".svc.")
	if !ok || ns == "" || strings.Contains(ns, ".") || search[1] != "svc."+domain {
		return search
	}
	return append([]string{"<namespace>.svc." + domain}, search[1:]...)
}

func facts(s *Section) []probe.Fact {
	var out []probe.Fact
	add := func(k, v string) { out = append(out, probe.Fact{Key: k, Value: v, Kind: probe.Exact}) }
	fileErr := func(prefix string, f File) bool {
		if f.Error != nil {
			add(prefix+"/error", f.Error.Name())
			return true
		}
		return false
	}
	if !fileErr("resolv", s.ResolvConf.File) && s.ResolvConf.Config != nil {
		c := s.ResolvConf.Config
		add("resolv/nameservers", contract.OrNone(strings.Join(c.Nameservers, " ")))
		add("resolv/search", contract.OrNone(strings.Join(namespaceSearch(c.Search), " ")))
		add("resolv/ndots", strconv.Itoa(c.Ndots()))
		var opts []string
		for _, o := range c.Options {
			if !strings.HasPrefix(o, "ndots:") {
				opts = append(opts, o)
			}
		}
		sort.Strings(opts)
		add("resolv/options", contract.OrNone(strings.Join(opts, " ")))
		if len(c.Ignored) > 0 {
			add("resolv/ignored-nameservers", strings.Join(c.Ignored, " "))
		}
	}
	if !fileErr("hosts", s.Hosts.File) {
		for _, e := range s.Hosts.Entries {
			addrs := append([]string(nil), e.Addrs...)
			sort.Strings(addrs)
			add("hosts/"+e.Name, strings.Join(addrs, " "))
		}
		if s.Hosts.Truncated {
			out = append(out, probe.Fact{Key: "hosts/(total)", Value: strconv.Itoa(s.Hosts.Total), Kind: probe.ShowOnly})
		}
	}
	if !fileErr("nsswitch", s.Nsswitch.File) {
		for db, srcs := range s.Nsswitch.Databases {
			add("nsswitch/"+db, srcs)
		}
	}
	// A missing gai.conf is the normal case (glibc defaults); "gai/precedence=default" says so.
	if s.Gai.Error != nil && s.Gai.Error.Errno != "ENOENT" {
		add("gai/error", s.Gai.Error.Name())
	}
	add("gai/precedence", s.Gai.Gai.PrecedenceString())
	add("gai/prefers", s.Gai.Prefers)
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}
