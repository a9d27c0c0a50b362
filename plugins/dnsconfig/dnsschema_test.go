package dnsconfig

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/netdiff/kubectl-netdiff/internal/plugintest"
	"github.com/netdiff/kubectl-netdiff/pkg/report"
	"github.com/netdiff/kubectl-netdiff/pkg/resolvconf"
	"github.com/netdiff/kubectl-netdiff/plugins/dns"
)

// lookupEffect reads the dns section's lookup rows by their keys and values; this pins
// them to the dns plugin's facts, and shows the effect it words from them.
func TestLookupEffectReadsTheDNSSection(t *testing.T) {
	if dnsSection != dns.Name {
		t.Fatalf("dnsSection %q, dns's name %q", dnsSection, dns.Name)
	}
	rep := func(search string, l dns.Lookup) *report.Report {
		conf := Section{ResolvConf: ResolvConf{Config: &resolvconf.Config{Nameservers: []string{"10.96.0.10"}, Search: strings.Fields(search), Options: []string{"ndots:5"}}}}
		d := dns.Section{Nameservers: []string{"10.96.0.10"}, Lookups: []dns.Lookup{l}}
		return &report.Report{SchemaVersion: report.SchemaVersion, Sections: map[string]json.RawMessage{
			Name: plugintest.MustMarshal(t, conf), dns.Name: plugintest.MustMarshal(t, d)}}
	}
	ok := dns.Lookup{Name: "svc", Ndots: 5, Outcome: "NOERROR A 10.96.7.7", AnsweredBy: "svc.ns.svc.cluster.local.",
		Tried: []dns.Candidate{{Name: "svc.ns.svc.cluster.local.", RCode: "NOERROR", Answers: []string{"A 10.96.7.7"}}}}
	bad := dns.Lookup{Name: "svc", Ndots: 5, Outcome: "NXDOMAIN",
		Tried: []dns.Candidate{{Name: "svc.svc.cluster.local.", RCode: "NXDOMAIN"}, {Name: "svc.", RCode: "NXDOMAIN"}}}
	fs := plugintest.Findings(t, Name, []string{"pod-a", "pod-b"}, []*report.Report{
		rep("ns.svc.cluster.local svc.cluster.local", ok), rep("svc.cluster.local", bad)})
	want := "pod-b's resolv.conf has `search svc.cluster.local` (pod-a: `search ns.svc.cluster.local svc.cluster.local`): the lookup of svc finds no address (NXDOMAIN)"
	found := false
	for _, f := range fs {
		if f.Message == want {
			found = true
			if !strings.Contains(f.Detail, "pod-a's lookup of svc answers as svc.ns.svc.cluster.local.") {
				t.Errorf("detail %q does not say which candidate answered", f.Detail)
			}
		}
		if strings.HasPrefix(f.Message, "pod-a") && strings.Contains(f.Message, "finds no address") {
			t.Errorf("the pod whose lookup works is worded with the failure: %s", f.Message)
		}
	}
	if !found {
		t.Errorf("no finding %q among %+v", want, fs)
	}
}
