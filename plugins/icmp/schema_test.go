package icmp

import (
	"encoding/json"
	"testing"

	"github.com/netdiff/kubectl-netdiff/pkg/netprobe"
	"github.com/netdiff/kubectl-netdiff/plugins/connect"
)

// The ping-vs-TCP rule reads the connect section through its schema, not its Go type;
// these pin the two together, so a change of connect's keys or JSON fails here.
func TestConnectSchemaMatchesTheConnectSection(t *testing.T) {
	if got, want := connectNonblockingRow("tcp://10.0.0.1:80", "ipv4"), connect.Name+"/"+connect.RunKey(connect.Nonblocking, false, "tcp://10.0.0.1:80", "ipv4"); got != want {
		t.Errorf("row ID %q, connect's is %q", got, want)
	}
	sec := connect.Section{Targets: []connect.TargetResult{{Target: "tcp://10.0.0.1:80", Addresses: []connect.AddrResult{{
		Address: "10.0.0.1", Key: "ipv4",
		Blocking:    &connect.MethodResult{Sequential: netprobe.Run{Attempts: 5, OK: 5}},
		Nonblocking: &connect.MethodResult{Sequential: netprobe.Run{Attempts: 5, OK: 2}},
	}}}}}
	raw, err := json.Marshal(sec)
	if err != nil {
		t.Fatal(err)
	}
	var s connectSchema
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatal(err)
	}
	a := s.Targets[0].Addresses[0]
	if s.Targets[0].Target != "tcp://10.0.0.1:80" || a.Address != "10.0.0.1" || a.Key != "ipv4" ||
		a.Blocking == nil || a.Blocking.Sequential.OK != 5 || a.Nonblocking == nil || a.Nonblocking.Sequential.OK != 2 {
		t.Errorf("decoded %+v from %s", s, raw)
	}
}
