package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"testing"
	"time"

	"github.com/netdiff/kubectl-netdiff/pkg/diff"
	"github.com/netdiff/kubectl-netdiff/pkg/render"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
)

// Memory and time stay proportional to the input for any report under the size cap
// (docs/security.md, "Input is bounded"; docs/performance.md). Each case is an
// adversarial report diffed against a plain one by the real binary in every format; the
// bound is on the child's own peak RSS (VmHWM) beyond that of a run on two tiny reports.
//
// The bound: peak RSS beyond the baseline ≤ memMultiple × the input's size + memSlack.
// The repro (a section nesting 1000 objects around 100,000 numbers, 206 KB)
// must stay under 10× its input beyond the baseline.
const (
	memMultiple = 10
	memSlack    = 64 << 20
)

// adversarial reports: name -> the body of the section "zz" (the other report has "zz": 0).
func adversarial(big bool) map[string]func() []byte {
	nest := func(depth, zeros int) []byte {
		var b bytes.Buffer
		for range depth {
			b.WriteString(`{"k":`)
		}
		b.WriteString("[0")
		b.WriteString(strings.Repeat(",0", zeros-1))
		b.WriteString("]")
		b.WriteString(strings.Repeat("}", depth))
		return b.Bytes()
	}
	flat := func(size int) []byte { // one array of tiny leaves
		return []byte("[0" + strings.Repeat(",0", size/2-1) + "]")
	}
	longKey := func(size int) []byte { // one long key above an array: the key repeats per leaf
		k := strings.Repeat("x", size/2)
		return []byte(`{"` + k + `":[0` + strings.Repeat(",0", size/4-1) + `]}`)
	}
	wideNest := func(size int) []byte { // depth 30 (under the cap), many leaves at the bottom
		var b bytes.Buffer
		for i := range 30 {
			fmt.Fprintf(&b, `{"level%02d-%s":`, i, strings.Repeat("p", 200))
		}
		b.WriteString("[0" + strings.Repeat(",0", size/2-1) + "]")
		b.WriteString(strings.Repeat("}", 30))
		return b.Bytes()
	}
	cases := map[string]func() []byte{
		"repro: 1000 deep around 100,000 zeros": func() []byte { return nest(1000, 100_000) },
		"2MB deep":                              func() []byte { return nest(1000, 1_000_000) },
		"2MB flat":                              func() []byte { return flat(2 << 20) },
		"2MB long key":                          func() []byte { return longKey(2 << 20) },
		"2MB wide nest":                         func() []byte { return wideNest(2 << 20) },
	}
	if big {
		cases["64MiB deep"] = func() []byte { return nest(1000, 31<<20) }
		cases["64MiB flat"] = func() []byte { return flat(62 << 20) }
		cases["64MiB long key"] = func() []byte { return longKey(62 << 20) }
		cases["64MiB wide nest"] = func() []byte { return wideNest(62 << 20) }
	}
	return cases
}

// manySections is a report of n empty sections (the issue: a million, 13 MB, took 48 s
// and 5 GB); it is refused at decoding.
func manySections(t *testing.T, path string, n int) int {
	t.Helper()
	var b bytes.Buffer
	b.WriteString(`{"schemaVersion":"` + report.SchemaVersion + `","hostname":"h","sections":{`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"s%d":0`, i)
	}
	b.WriteString(`}}`)
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return b.Len()
}

func TestManySectionsRefusedAtOnce(t *testing.T) {
	bin := pluginBinary(t)
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.json"), filepath.Join(dir, "b.json")
	size := manySections(t, a, 1_000_000)
	writeReport(t, b, []byte("0"))
	cmd := exec.Command(bin, "-f", a, "-f", b)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	rss, _ := runPeak(cmd)
	took := time.Since(start)
	t.Logf("%d sections, %d KiB: exit %d after %s, peak RSS %d MiB: %s", 1_000_000, size>>10, cmd.ProcessState.ExitCode(), took.Round(time.Millisecond), rss>>20, bytes.TrimSpace(out.Bytes()))
	if cmd.ProcessState.ExitCode() < 2 || !bytes.Contains(out.Bytes(), []byte("sections a report may hold")) || took > 5*time.Second || rss > int64(memMultiple*size+memSlack+(100<<20)) {
		t.Errorf("want a refusal naming the section count, quickly and within the bound")
	}
}

func writeReport(t *testing.T, path string, zz []byte) int {
	t.Helper()
	var b bytes.Buffer
	b.WriteString(`{"schemaVersion":"` + report.SchemaVersion + `","hostname":"h","sections":{"zz":`)
	b.Write(zz)
	b.WriteString(`}}`)
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return b.Len()
}

// peakRun runs the plugin on two files in format and returns its peak RSS and wall time.
func peakRun(t *testing.T, bin, a, b, format string) (int64, time.Duration) {
	t.Helper()
	cmd := exec.Command(bin, "-f", a, "-f", b, "-o", format, "--all")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	peak, err := runPeak(cmd)
	took := time.Since(start)
	if code := cmd.ProcessState.ExitCode(); code > 1 && !strings.Contains(stderr.String(), "sections") || err != nil && code < 0 {
		t.Fatalf("%s: exit %d: %v %s", format, code, err, stderr.String())
	}
	return peak, took
}

// runPeak runs cmd and returns the child's own peak RSS: VmHWM of /proc/PID/status,
// read every 2 ms until it exits (it only grows). Not getrusage's ru_maxrss: Go starts a
// child with vfork, sharing the test process's memory until exec, and the kernel carries
// that memory's high-water mark into the child's ru_maxrss, so a test process that just
// built a 64 MiB report would be counted as the child's.
func runPeak(cmd *exec.Cmd) (int64, error) {
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	status := fmt.Sprintf("/proc/%d/status", cmd.Process.Pid)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var peak int64
	read := func() {
		b, err := os.ReadFile(status)
		if err != nil {
			return
		}
		for line := range strings.Lines(string(b)) {
			if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
				var kb int64
				fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), &kb)
				peak = max(peak, kb<<10)
			}
		}
	}
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			return peak, err
		case <-tick.C:
			read()
		}
	}
}

func TestAdversarialReportsBoundedMemory(t *testing.T) {
	big := os.Getenv("NETDIFF_BIG_MEMORY_TEST") != ""
	if !big {
		t.Log("the 64 MiB cases run with NETDIFF_BIG_MEMORY_TEST=1 (a few minutes on 2 cores)")
	}
	bin := pluginBinary(t)
	dir := t.TempDir()
	plain := filepath.Join(dir, "plain.json")
	writeReport(t, plain, []byte("0"))
	var baseline int64
	for _, format := range []string{"table", "wide", "json", "yaml"} {
		rss, _ := peakRun(t, bin, plain, plain, format)
		baseline = max(baseline, rss)
	}
	t.Logf("baseline peak RSS %d MiB", baseline>>20)
	for name, gen := range adversarial(big) {
		f := filepath.Join(dir, "adv.json")
		size := writeReport(t, f, gen())
		for _, format := range []string{"table", "wide", "json", "yaml"} {
			rss, took := peakRun(t, bin, f, plain, format)
			extra := rss - baseline
			t.Logf("%-40s %-5s input %8d KiB: peak RSS %5d MiB (%+.1fx input beyond the baseline), %s", name, format, size>>10, rss>>20, float64(extra)/float64(size), took.Round(time.Millisecond))
			limit := int64(memMultiple*size + memSlack)
			if extra > limit {
				t.Errorf("%s -o %s: %d MiB beyond the baseline, over the bound of %d MiB", name, format, extra>>20, limit>>20)
			}
		}
	}
}

// The repro in this process, measured as live heap: decoding both reports,
// diffing them and printing every format stays under 10× the input beyond what the
// process held before. The live heap (runtime/metrics /gc/heap/live:bytes, what each
// collection marked) is sampled every 100 µs with the collector at GOGC=5, so it is
// measured at many points of the run.
func TestReproHeapUnderTenTimesInput(t *testing.T) {
	zz := adversarial(false)["repro: 1000 deep around 100,000 zeros"]()
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.json"), filepath.Join(dir, "b.json")
	size := writeReport(t, a, zz) + writeReport(t, b, []byte("0"))
	run := func() {
		var reps []*report.Report
		for _, f := range []string{a, b} {
			fh, err := os.Open(f)
			if err != nil {
				t.Fatal(err)
			}
			r, err := report.Decode(fh)
			fh.Close()
			if err != nil {
				t.Fatal(err)
			}
			reps = append(reps, r)
		}
		res, err := diff.Compare([]string{"a", "b"}, reps, diff.Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, format := range render.Formats {
			if err := render.RenderContext(context.Background(), io.Discard, res, format, render.Options{All: true}); err != nil {
				t.Fatal(err)
			}
		}
	}
	run() // warm: plugin registries, regexp caches
	defer debug.SetGCPercent(debug.SetGCPercent(5))
	// The live heap as the collector last marked it: garbage not yet collected (more of
	// it when the machine is loaded and the collector lags) does not count.
	live := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	readLive := func() uint64 {
		metrics.Read(live)
		return live[0].Value.Uint64()
	}
	runtime.GC()
	before := readLive()
	peak := before
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(100 * time.Microsecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				peak = max(peak, readLive())
			}
		}
	}()
	run()
	close(stop)
	<-done
	runtime.GC()
	peak = max(peak, readLive())
	extra := int64(peak) - int64(before)
	t.Logf("input %d bytes: peak live heap %d KiB beyond the %d KiB before (%.1fx the input)", size, extra>>10, before>>10, float64(extra)/float64(size))
	// Without the generic bounds the repro took 1.9 GB.
	if extra > 10*int64(size) {
		t.Errorf("peak heap %d KiB beyond the start, over 10x the input (%d KiB)", extra>>10, 10*size>>10)
	}
}
