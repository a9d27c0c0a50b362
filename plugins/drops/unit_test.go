package drops

import (
	"os"
	"strings"
	"testing"

	"github.com/netdiff/kubectl-netdiff/pkg/probe"
)

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func splitWords(s string) []string { return strings.Fields(s) }

// The prober's own teardown is shown, never a difference; a lost packet is a counter.
func TestFactsKindByReason(t *testing.T) {
	s := &Section{Watch: "tp_btf/kfree_skb", Reasons: true, Drops: []Drop{
		{Netns: "pod", Dir: "in", Proto: "tcp", Local: "10.0.0.2", Remote: "10.0.0.9:80", Reason: "NOT_SPECIFIED", Location: "tcp_v4_rcv", Count: 4},
		{Netns: "pod", Dir: "in", Proto: "tcp", Local: "10.0.0.2", Remote: "10.0.0.9:80", Reason: "QUEUE_PURGE", Location: "sk_stream_kill_queues", Count: 2},
		{Netns: "node", Dir: "out", Proto: "tcp", Local: "10.0.0.2", Remote: "10.0.0.9:80", Reason: "NETFILTER_DROP", Location: "nft_do_chain", Hook: "forward", Count: 9},
		{Netns: "pod", Dir: "out", Proto: "udp", Local: "10.0.0.2", Remote: "10.0.0.9:53", Reason: "NOT_SPECIFIED", Location: "some_driver_xmit", Count: 1},
	}}
	kinds := map[string]probe.FactKind{}
	for _, f := range facts(s) {
		kinds[f.Key] = f.Kind
	}
	for k, want := range map[string]probe.FactKind{
		"drop/pod/tcp/10.0.0.9:80->10.0.0.2/NOT_SPECIFIED@tcp_v4_rcv":             probe.ShowOnly,
		"drop/pod/tcp/10.0.0.9:80->10.0.0.2/QUEUE_PURGE@sk_stream_kill_queues":    probe.ShowOnly,
		"drop/node/tcp/10.0.0.2->10.0.0.9:80/NETFILTER_DROP@nft_do_chain:forward": probe.Counter,
		"drop/pod/udp/10.0.0.2->10.0.0.9:53/NOT_SPECIFIED@some_driver_xmit":       probe.Counter,
		"watch": probe.ShowOnly,
	} {
		if got, ok := kinds[k]; !ok || got != want {
			t.Errorf("%s: kind %v (present %v), want %v; facts %v", k, got, ok, want, kinds)
		}
	}
	un := facts(&Section{Unavailable: &Unavailable{Need: "capabilities"}})
	if len(un) != 1 || un[0].Value != "unavailable: capabilities" {
		t.Errorf("without a watch: %+v", un)
	}
}
