package contract

import (
	"encoding/json"
	"testing"

	"github.com/netdiff/kubectl-netdiff/pkg/report"
)

func TestSections(t *testing.T) {
	type sec struct{ N int }
	c := &Comparison{Subjects: []string{"a", "b", "c", "d"}, Reports: []*report.Report{
		{Sections: map[string]json.RawMessage{"x": json.RawMessage(`{"N":1}`)}},
		nil,
		{Sections: map[string]json.RawMessage{"x": json.RawMessage(`{"N":"not a number"}`)}},
		{Sections: map[string]json.RawMessage{"y": json.RawMessage(`{"N":4}`)}},
	}}
	got := Sections[sec](c, "x")
	if len(got) != 4 || got[0] == nil || got[0].N != 1 || got[1] != nil || got[2] != nil || got[3] != nil {
		t.Errorf("Sections = %+v, want only the first decoded", got)
	}
}

func TestGrouped(t *testing.T) {
	got := Grouped(map[string][]string{"ETIMEDOUT": {"A"}, "ECONNREFUSED": {"B", "C"}})
	if want := "ECONNREFUSED in B, C; ETIMEDOUT in A"; got != want {
		t.Errorf("Grouped = %q, want %q", got, want)
	}
	if got := Grouped(nil); got != "" {
		t.Errorf("Grouped(nil) = %q", got)
	}
}

func TestDecodeSections(t *testing.T) {
	type sec struct{ N int }
	decode := func(raw json.RawMessage) (*sec, error) {
		var s sec
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, err
		}
		return &s, nil
	}
	// Four subjects, three reports: the last subject has none.
	c := &Comparison{Subjects: []string{"a", "b", "c", "d"}, Reports: []*report.Report{
		{Sections: map[string]json.RawMessage{"x": json.RawMessage(`{"N":1}`)}},
		nil,
		{Sections: map[string]json.RawMessage{"x": json.RawMessage(`{"N":"not a number"}`)}},
	}}
	got := DecodeSections(c, "x", decode)
	if len(got) != 4 || got[0] == nil || got[0].N != 1 || got[1] != nil || got[2] != nil || got[3] != nil {
		t.Errorf("DecodeSections = %+v, want only the first decoded", got)
	}
}
