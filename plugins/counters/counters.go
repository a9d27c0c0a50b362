// Package counters samples the kernel's protocol counters (/proc/net/snmp, netstat, snmp6)
// and socket counts (sockstat) before and after the active probe window, so a report shows
// what moved while the prober was connecting: OutNoRoutes growing is routing failing.
package counters

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	"github.com/netdiff/kubectl-netdiff/pkg/contract"
	"github.com/netdiff/kubectl-netdiff/pkg/probe"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
	"github.com/netdiff/kubectl-netdiff/pkg/section"
)

// Files are read from <proc>/net, which is the prober's own network namespace.
var counterFiles = []string{"snmp", "netstat", "snmp6"}
var sockstatFiles = []string{"sockstat", "sockstat6"}

// Moved is a counter that changed during the window.
type Moved struct {
	Start int64 `json:"start"`
	End   int64 `json:"end"`
	Delta int64 `json:"delta"`
}

// Section is the stored shape of sections.counters.
type Section struct {
	// Window says whether a start sample exists; without it only end values are known.
	Window   bool  `json:"window"`
	WindowMS int64 `json:"windowMs"`
	// Moved holds counters that changed in the window, keyed "snmp/Ip/OutNoRoutes".
	Moved map[string]Moved `json:"moved"`
	// Unchanged holds the value of every other counter (start = end, delta 0).
	Unchanged map[string]int64 `json:"unchanged"`
	// Sockstat holds the end values of sockstat/sockstat6, keyed "sockstat/TCP/inuse".
	Sockstat map[string]int64 `json:"sockstat"`
	// Errors maps a file that could not be read or parsed to the errno name or message.
	Errors map[string]string `json:"errors,omitempty"`
}

type sample struct {
	at     time.Time
	values map[string]int64
	errs   map[string]string
}

// Plugin is the counters probe plugin; it keeps the start sample between Begin and Collect.
type Plugin struct {
	start *sample
}

const Name = "counters"

func init() {
	section.Register(section.Descriptor[Section]{
		Name:      Name,
		Phase:     probe.Passive,
		Collector: func() probe.Collector { return &Plugin{} },
		Facts:     facts,
		Rules: map[string]contract.Rule{
			"moved": movedRule,
		},
		Analysis: &analysis,
	})
}

// Begin takes the start sample.
func (p *Plugin) Begin(_ context.Context, env *probe.Env) error {
	p.start = read(filepath.Join(env.Proc, "net"), counterFiles)
	return nil
}

// Collect takes the end sample and the sockstat counts.
func (p *Plugin) Collect(_ context.Context, env *probe.Env) (any, error) {
	dir := filepath.Join(env.Proc, "net")
	end := read(dir, counterFiles)
	socks := read(dir, sockstatFiles)
	s := Window(p.start, end)
	s.Sockstat = socks.values
	for f, e := range socks.errs {
		s.Errors[f] = e
	}
	return s, nil
}

// Window builds the section from two samples; start may be nil (no window).
func Window(start, end *sample) *Section {
	s := &Section{Moved: map[string]Moved{}, Unchanged: map[string]int64{}, Errors: map[string]string{}}
	for f, e := range end.errs {
		s.Errors[f] = e
	}
	if start != nil {
		s.Window = true
		s.WindowMS = end.at.Sub(start.at).Milliseconds()
	}
	for k, v := range end.values {
		var before int64
		ok := false
		if start != nil {
			before, ok = start.values[k]
		}
		// A counter absent at the start (IcmpMsg types appear on first use) started at 0.
		if start != nil && !ok {
			before, ok = 0, true
		}
		if ok && before != v {
			s.Moved[k] = Moved{Start: before, End: v, Delta: v - before}
		} else {
			s.Unchanged[k] = v
		}
	}
	return s
}

func read(dir string, files []string) *sample {
	s := &sample{at: time.Now(), values: map[string]int64{}, errs: map[string]string{}}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			s.errs[f] = report.ErrorOf(err).Name()
			continue
		}
		m, err := parseBytes(f, b)
		if err != nil {
			s.errs[f] = err.Error()
			continue
		}
		prefix := f + "/"
		if f == "sockstat6" {
			prefix = "sockstat/" // its groups (TCP6, UDP6) do not collide with sockstat's
		}
		for k, v := range m {
			s.values[prefix+k] = v
		}
	}
	return s
}

// gauges are values, not counters: a delta of them means nothing.
var gauges = map[string]bool{
	"snmp/Ip/Forwarding": true, "snmp/Ip/DefaultTTL": true, "snmp/Tcp/RtoAlgorithm": true,
	"snmp/Tcp/RtoMin": true, "snmp/Tcp/RtoMax": true, "snmp/Tcp/MaxConn": true, "snmp/Tcp/CurrEstab": true,
}

// facts: the delta of every counter as a Counter fact (when there was a window), the end
// value of notable counters and of gauges and socket counts as Info.
func facts(s *Section) []probe.Fact {
	var out []probe.Fact
	add := func(k string, delta, end int64) {
		if gauges[k] {
			out = append(out, probe.Fact{Key: k, Value: strconv.FormatInt(end, 10), Kind: probe.ShowOnly})
			return
		}
		if s.Window {
			// Only failure counters compare: traffic counters (InSegs, OutRequests…) move
			// with whoever happened to talk to the pod during the window, which is noise
			// between healthy replicas. They are still shown.
			// Loss TCP repaired by itself is noise too (see recovered).
			kind := probe.ShowOnly
			if compared(k) {
				kind = probe.Counter
			}
			out = append(out, probe.Fact{Key: k, Value: strconv.FormatInt(delta, 10), Kind: kind})
		}
		if _, ok := notable[k]; ok || !s.Window {
			out = append(out, probe.Fact{Key: k + "/total", Value: strconv.FormatInt(end, 10), Kind: probe.ShowOnly})
		}
	}
	for k, m := range s.Moved {
		add(k, m.Delta, m.End)
	}
	for k, v := range s.Unchanged {
		add(k, 0, v)
	}
	for k, v := range s.Sockstat {
		out = append(out, probe.Fact{Key: k, Value: strconv.FormatInt(v, 10), Kind: probe.ShowOnly})
	}
	for f, e := range s.Errors {
		out = append(out, probe.Fact{Key: "error/" + f, Value: e, Kind: probe.Exact})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}
