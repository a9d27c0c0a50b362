package netprobe

import (
	"reflect"
	"testing"
	"time"
)

func TestStats(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		in            []time.Duration
		min, med, max time.Duration
	}{
		{[]time.Duration{5 * ms}, 5 * ms, 5 * ms, 5 * ms},
		{[]time.Duration{3 * ms, 1 * ms, 2 * ms}, 1 * ms, 2 * ms, 3 * ms},
		{[]time.Duration{4 * ms, 1 * ms, 2 * ms, 10 * ms}, 1 * ms, 3 * ms, 10 * ms},
	}
	for _, tt := range tests {
		lo, med, hi := Stats(tt.in)
		if lo != tt.min || med != tt.med || hi != tt.max {
			t.Errorf("Stats(%v) = %v %v %v, want %v %v %v", tt.in, lo, med, hi, tt.min, tt.med, tt.max)
		}
	}
}

func TestSummarizeAndFormat(t *testing.T) {
	ok := Attempt{OK: true, Dur: time.Millisecond}
	unreach := Attempt{Errno: "ENETUNREACH", Stage: StageImmediate, Message: "connect: network is unreachable", Dur: 10 * time.Microsecond}
	refused := Attempt{Errno: "ECONNREFUSED", Stage: StagePoll, Dur: 2 * time.Millisecond}
	tests := []struct {
		name   string
		in     []Attempt
		want   string
		errors []ErrCount
		first  string
	}{
		{"all ok", []Attempt{ok, ok, ok}, "ok 3/3", nil, ""},
		{"all fail", []Attempt{unreach, unreach}, "ENETUNREACH 2/2 (immediate)", []ErrCount{{"ENETUNREACH", StageImmediate, 2}}, "connect: network is unreachable"},
		{"mixed, most frequent first", []Attempt{refused, ok, unreach, unreach, ok, ok}, "ok 3/6, ENETUNREACH 2/6 (immediate), ECONNREFUSED 1/6 (poll)",
			[]ErrCount{{"ENETUNREACH", StageImmediate, 2}, {"ECONNREFUSED", StagePoll, 1}}, ""},
		{"same errno, different stage", []Attempt{unreach, {Errno: "ENETUNREACH", Stage: StagePoll}}, "ENETUNREACH 1/2 (immediate), ENETUNREACH 1/2 (poll)", nil, ""},
		{"window closed", []Attempt{ok, notRun()}, "ok 1/2, ETIMEDOUT 1/2 (not-run)", nil, ""},
		{"none", nil, "not run", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Summarize(tt.in)
			if got := r.Format("ok"); got != tt.want {
				t.Errorf("Format = %q, want %q", got, tt.want)
			}
			if tt.errors != nil && !reflect.DeepEqual(r.Errors, tt.errors) {
				t.Errorf("Errors = %+v, want %+v", r.Errors, tt.errors)
			}
			if tt.first != "" && r.FirstError != tt.first {
				t.Errorf("FirstError = %q, want %q", r.FirstError, tt.first)
			}
		})
	}
}

func TestLatencySkipsAttemptsThatDidNotRun(t *testing.T) {
	r := Summarize([]Attempt{{OK: true, Dur: 2 * time.Millisecond}, notRun(), {OK: true, Dur: 4 * time.Millisecond}})
	if r.LatencyMs == nil || r.LatencyMs.Min != 2 || r.LatencyMs.Median != 3 || r.LatencyMs.Max != 4 {
		t.Fatalf("LatencyMs = %+v, want 2/3/4", r.LatencyMs)
	}
	if got := r.FormatLatency(); got != "min 2ms median 3ms max 4ms" {
		t.Errorf("FormatLatency = %q", got)
	}
}

func TestAddrsNumbersEachFamilyInOrder(t *testing.T) {
	r := &Resolution{Addresses: []string{"fd00::1", "10.0.0.1", "fd00::2", "::ffff:10.0.0.2", "bogus"}}
	var got []string
	for _, a := range r.Addrs() {
		got = append(got, a.Key()+"="+a.IP.String())
	}
	want := []string{"ipv6=fd00::1", "ipv4=10.0.0.1", "ipv6#2=fd00::2", "ipv4#2=10.0.0.2"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Addrs = %v, want %v", got, want)
	}
}
