//go:build linux

package drops_test

import (
	"bytes"
	"context"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/netdiff/kubectl-netdiff/internal/netnstest"
	"github.com/netdiff/kubectl-netdiff/internal/plugintest"
	"github.com/netdiff/kubectl-netdiff/pkg/probe"
	"github.com/netdiff/kubectl-netdiff/plugins/drops"
)

// The watch alone, in the test's own namespace: load and attach (the kernel's BTF read
// once per process, the program verified), then read the map and name what it holds.
func BenchmarkWatchOpenAndRead(b *testing.B) {
	netnstest.RequireRoot(b)
	plugintest.BenchCollect(b, drops.Name)
}

// The prober's whole collect, as the node pod runs it for --via node (entered, watching
// the pod's namespace and the node's), with the drop watch and without it (--only every
// other section): wall time, CPU (user+system) and peak memory of the prober process.
func BenchmarkProberCollect(b *testing.B) {
	netnstest.RequireRoot(b)
	for _, with := range []bool{false, true} {
		name := "without-watch"
		if with {
			name = "with-watch"
		}
		b.Run(name, func(b *testing.B) {
			w := newBenchWorld(b)
			var only []string
			if !with {
				for _, p := range probe.New() {
					if p.Name() != drops.Name {
						only = append(only, "--only", p.Name())
					}
				}
			}
			var cpu, rss, wall float64
			n := 0
			for b.Loop() {
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				argv := append([]string{netnstest.Prober(b), "collect", "-q", "--container-id", "containerd://" + w.ids[0],
					"--target", serverAddr, "--attempts", "3", "--burst", "2", "--spread", "0", "--timeout", "3s"}, only...)
				cmd := w.node.Command(ctx, argv...)
				var out, errOut bytes.Buffer
				cmd.Stdout, cmd.Stderr = &out, &errOut
				start := time.Now()
				err := cmd.Run()
				cancel()
				if err != nil {
					b.Fatalf("%v: %s", err, errOut.String())
				}
				if with != strings.Contains(out.String(), `"watch":"tp_btf/kfree_skb"`) {
					b.Fatalf("with=%v but the report says otherwise", with)
				}
				wall += float64(time.Since(start).Milliseconds())
				// ip netns exec runs the prober as its child: children's usage covers both
				// probers (the node's and the one it starts inside the pod).
				if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
					cpu += float64(time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Milliseconds())
					rss = max(rss, float64(ru.Maxrss)/1024)
				}
				n++
			}
			b.ReportMetric(wall/float64(n), "wall-ms/op")
			b.ReportMetric(cpu/float64(n), "cpu-ms/op")
			b.ReportMetric(rss, "maxrss-MB")
		})
	}
}
