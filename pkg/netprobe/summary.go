package netprobe

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Stage says when an attempt failed: at once in connect(2) ("immediate"), after poll
// reported the socket writable ("poll"), or because the deadline passed ("timeout").
// The case study turned on exactly this: ENETUNREACH immediately versus EINPROGRESS.
const (
	StageImmediate = "immediate"
	StagePoll      = "poll"
	StageTimeout   = "timeout"
	// StageNotRun marks attempts the probe window had no time left for.
	StageNotRun = "not-run"
)

// Attempt is the outcome of one probe attempt.
type Attempt struct {
	OK bool
	// Errno is the errno name of a failure, or an outcome name such as "no-reply".
	Errno   string
	Stage   string
	Message string
	Dur     time.Duration
}

// ErrCount is one bar of the errno histogram.
type ErrCount struct {
	Errno string `json:"errno"`
	Stage string `json:"stage,omitempty"`
	Count int    `json:"count"`
}

// Latency is min/median/max in milliseconds over every attempt that ran.
type Latency struct {
	Min    float64 `json:"min"`
	Median float64 `json:"median"`
	Max    float64 `json:"max"`
}

// Run summarises repeated attempts of one method against one address.
type Run struct {
	Attempts int        `json:"attempts"`
	OK       int        `json:"ok"`
	Errors   []ErrCount `json:"errors,omitempty"`
	// LatencyMs covers every attempt that ran, failures included: an immediate failure
	// is as telling by its speed as a slow success.
	LatencyMs *Latency `json:"latencyMs,omitempty"`
	// FirstError is the first failure's message, for humans; facts use Errors.
	FirstError string `json:"firstError,omitempty"`
}

// Summarize folds attempts into a Run.
func Summarize(as []Attempt) Run {
	r := Run{Attempts: len(as)}
	counts := map[[2]string]int{}
	var durs []time.Duration
	for _, a := range as {
		if a.Stage != StageNotRun {
			durs = append(durs, a.Dur)
		}
		if a.OK {
			r.OK++
			continue
		}
		counts[[2]string{a.Errno, a.Stage}]++
		if r.FirstError == "" {
			r.FirstError = a.Message
		}
	}
	for k, n := range counts {
		r.Errors = append(r.Errors, ErrCount{Errno: k[0], Stage: k[1], Count: n})
	}
	SortErrCounts(r.Errors)
	if len(durs) > 0 {
		minD, med, maxD := Stats(durs)
		r.LatencyMs = &Latency{Min: ms(minD), Median: ms(med), Max: ms(maxD)}
	}
	return r
}

// SortErrCounts orders a histogram by count (largest first), then errno and stage, so
// that its rendering is stable.
func SortErrCounts(es []ErrCount) {
	sort.Slice(es, func(i, j int) bool {
		if es[i].Count != es[j].Count {
			return es[i].Count > es[j].Count
		}
		if es[i].Errno != es[j].Errno {
			return es[i].Errno < es[j].Errno
		}
		return es[i].Stage < es[j].Stage
	})
}

// Stats returns min, median and max. The median of an even count is the mean of the two
// middle values. It panics on an empty slice.
func Stats(ds []time.Duration) (minD, median, maxD time.Duration) {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	n := len(s)
	median = s[n/2]
	if n%2 == 0 {
		median = (s[n/2-1] + s[n/2]) / 2
	}
	return s[0], median, s[n-1]
}

func ms(d time.Duration) float64 {
	return math.Round(float64(d)/float64(time.Microsecond)) / 1000
}

// Failed is the number of attempts that did not succeed.
func (r Run) Failed() int { return r.Attempts - r.OK }

// Format is the canonical fact value of a run: "ok 5/5",
// "ENETUNREACH 5/5 (immediate)", "ok 3/5, ETIMEDOUT 2/5 (timeout)". okWord names success
// ("ok" for connects, "reply" for UDP). Latency is left out: it is an Info fact.
func (r Run) Format(okWord string) string {
	if r.Attempts == 0 {
		return "not run"
	}
	var parts []string
	if r.OK > 0 || len(r.Errors) == 0 {
		parts = append(parts, fmt.Sprintf("%s %d/%d", okWord, r.OK, r.Attempts))
	}
	for _, e := range r.Errors {
		p := fmt.Sprintf("%s %d/%d", e.Errno, e.Count, r.Attempts)
		if e.Stage != "" {
			p += " (" + e.Stage + ")"
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, ", ")
}

// FormatLatency is the Info fact value of a run's latency.
func (r Run) FormatLatency() string {
	if r.LatencyMs == nil {
		return "-"
	}
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) + "ms" }
	return "min " + f(r.LatencyMs.Min) + " median " + f(r.LatencyMs.Median) + " max " + f(r.LatencyMs.Max)
}

// Dominant is the most frequent failure, or nil when every attempt succeeded.
func (r Run) Dominant() *ErrCount {
	if len(r.Errors) == 0 {
		return nil
	}
	return &r.Errors[0]
}

// HasErrno reports whether any failure had one of the errno names.
func (r Run) HasErrno(names ...string) bool {
	for _, e := range r.Errors {
		for _, n := range names {
			if e.Errno == n {
				return true
			}
		}
	}
	return false
}

// UDP outcomes that are not errnos.
const (
	UDPNoReply = "no-reply"
)
