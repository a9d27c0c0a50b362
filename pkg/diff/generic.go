package diff

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/netdiff/kubectl-netdiff/pkg/probe"
)

// genericFacts flattens a section nobody here knows (a newer prober's plugin) into
// path=value facts: object members by name, array elements by index.
func genericFacts(raw json.RawMessage) ([]probe.Fact, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("flatten section: %w", err)
	}
	var facts []probe.Fact
	flatten("", v, &facts)
	return facts, nil
}

func flatten(path string, v any, out *[]probe.Fact) {
	join := func(k string) string {
		if path == "" {
			return k
		}
		return path + "/" + k
	}
	switch t := v.(type) {
	case map[string]any:
		if len(t) == 0 {
			*out = append(*out, probe.Fact{Key: rootKey(path), Value: "{}"})
			return
		}
		for _, k := range sortedKeys(t) {
			flatten(join(k), t[k], out)
		}
	case []any:
		if len(t) == 0 {
			*out = append(*out, probe.Fact{Key: rootKey(path), Value: "[]"})
			return
		}
		for i, e := range t {
			flatten(join(strconv.Itoa(i)), e, out)
		}
	case string:
		*out = append(*out, probe.Fact{Key: rootKey(path), Value: t})
	case json.Number:
		*out = append(*out, probe.Fact{Key: rootKey(path), Value: t.String()})
	case bool:
		*out = append(*out, probe.Fact{Key: rootKey(path), Value: strconv.FormatBool(t)})
	case nil:
		*out = append(*out, probe.Fact{Key: rootKey(path), Value: "null"})
	}
}

// rootKey names a section that is a bare scalar.
func rootKey(path string) string {
	if path == "" {
		return "value"
	}
	return path
}
