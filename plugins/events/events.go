// Package events watches the namespace's netlink notifications (links, addresses, routes,
// neighbours, policy rules) over the probe window and reports every change with its time.
// Intermittent failures come from something that changes while one looks: a default
// route deleted and re-added by a flapping agent never shows in a snapshot, only here.
package events

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/netdiff/kubectl-netdiff/pkg/contract"
	"github.com/netdiff/kubectl-netdiff/pkg/probe"
	"github.com/netdiff/kubectl-netdiff/pkg/section"
)

const Name = "events"

// MaxEvents caps the stored events; the counts cover every event.
const MaxEvents = 1000

// chanBuffer lets the library's receive goroutines run ahead of the recorder for a burst.
const chanBuffer = 256

// rcvbuf holds a burst of notifications while the readers catch up; the kernel's default
// (rmem_default, often 208 KiB) holds a few hundred, and an overflow ends the subscription.
const rcvbuf = 4 << 20

// closeWait bounds how long Collect waits for the subscriptions to wind down.
const closeWait = 2 * time.Second

// Kinds in the order the section lists them.
var Kinds = []string{"link", "address", "route", "neighbour", "rule"}

// Event is one netlink notification.
type Event struct {
	// AtMS is when the prober received it, in milliseconds since the window opened.
	AtMS   float64 `json:"atMs"`
	Kind   string  `json:"kind"`   // link, address, route, neighbour, rule
	Action string  `json:"action"` // new (added or changed) or del
	Family string  `json:"family,omitempty"`
	// Dev is the interface the change is on; "any" for rules and device-less routes.
	Dev  string `json:"dev"`
	What string `json:"what"` // in ip(8)'s words
}

// Section is the stored shape of sections.events.
type Section struct {
	// Window is false when the watch could not be started (then Errors say why).
	Window   bool    `json:"window"`
	WindowMS int64   `json:"windowMs"`
	Events   []Event `json:"events"`
	// Total counts every event; Truncated says Events holds only the first MaxEvents.
	Total     int  `json:"total"`
	Truncated bool `json:"truncated,omitempty"`
	// Counts are keyed "kind/action/dev", e.g. "route/del/eth0".
	Counts map[string]int `json:"counts"`
	// Errors maps a kind whose subscription failed or lost messages to the errno or message.
	Errors map[string]string `json:"errors,omitempty"`
}

// raw is an event before interface names are resolved: routes and addresses may arrive
// before the link notification that names their device.
type raw struct {
	at     time.Duration
	kind   string
	action string
	family string
	index  int // 0: no device
	// what renders the rest once names are known.
	what func(names map[int]string) string
}

func init() {
	section.Register(section.Descriptor[Section]{
		Name:      Name,
		Phase:     probe.Passive,
		Collector: func() probe.Collector { return &Plugin{} },
		Facts:     facts,
		Rules: map[string]contract.Rule{
			"churn": churnRule,
		},
		Analysis: &analysis,
	})
}

// neighThreshold: neighbour entries come and go with ordinary traffic (the prober's own
// probes resolve the gateway), so only this many updates on one device per window count
// as churn.
const neighThreshold = 10

// facts: counts per kind/action/device as Counter facts (neighbour counts as Info: they
// move with any traffic), the events themselves and the totals as Info, errors as Exact.
func facts(s *Section) []probe.Fact {
	var out []probe.Fact
	for k, n := range s.Counts {
		kind := probe.Counter
		if strings.HasPrefix(k, "neighbour/") {
			kind = probe.ShowOnly
		}
		out = append(out, probe.Fact{Key: k, Value: strconv.Itoa(n), Kind: kind})
	}
	out = append(out, probe.Fact{Key: "total", Value: strconv.Itoa(s.Total), Kind: probe.ShowOnly},
		probe.Fact{Key: "window-ms", Value: strconv.FormatInt(s.WindowMS, 10), Kind: probe.ShowOnly})
	for i, e := range s.Events {
		out = append(out, probe.Fact{Key: fmt.Sprintf("event/%04d", i+1),
			Value: fmt.Sprintf("+%.1fms %s %s %s: %s", e.AtMS, e.Kind, e.Action, e.Dev, e.What), Kind: probe.ShowOnly})
	}
	for k, e := range s.Errors {
		out = append(out, probe.Fact{Key: "error/" + k, Value: e, Kind: probe.Exact})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}
