package diff

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/netdiff/kubectl-netdiff/pkg/probe"
)

// A section nobody here knows (a newer prober's plugin, or a pod's invention) is
// flattened into path=value facts. Its shape is the pod's choice, and a path repeats every
// key above its leaf, so a naive flattening grows with depth × breadth (1,000 nested
// objects around 100,000 numbers: 206 KB of JSON, 200 MB of keys). The flattening is
// streamed token by token and bounded instead (docs/security.md, "Input is bounded"):
//
//   - below MaxGenericDepth, a value is one fact: its size and digest, not its leaves;
//   - a key part longer than maxGenericKeyPart is cut and given a digest;
//   - the facts of a report's generic sections share one budget, genericBudget: once
//     it is spent, the rest of the section is not read, and a GenericTruncatedKey fact
//     says it was cut.

const (
	// MaxGenericDepth is how deep the generic flattening descends; a deeper object or
	// array becomes one fact, "{…} N bytes sha256:…".
	MaxGenericDepth = 32
	// maxGenericKeyPart bounds one object key or index in a generic fact's key.
	maxGenericKeyPart = 256
	// GenericTruncatedKey is the fact a truncated generic section gets.
	GenericTruncatedKey = "netdiff:truncated"
)

// genericBudget is what one report's generic sections may produce in all: facts, and
// bytes of keys and values. It grows with the input (a fact per 128 bytes, the input's
// bytes) from a floor that leaves normal sections whole, up to a ceiling that keeps what
// every format prints to about 150 MB of memory at most (docs/performance.md).
type genericBudget struct {
	facts, bytes int
}

const (
	// MaxGenericFacts and maxGenericBytes are the ceilings of a report's budget.
	MaxGenericFacts = 100_000
	maxGenericBytes = 16 << 20
)

// newGenericBudget is the budget for a report whose sections are input bytes in all.
func newGenericBudget(input int) *genericBudget {
	return &genericBudget{facts: min(10_000+input/128, MaxGenericFacts), bytes: min(2<<20+input, maxGenericBytes)}
}

// genericFacts flattens raw with a budget of its own (tests, single sections).
func genericFacts(raw json.RawMessage) ([]probe.Fact, error) {
	return genericFactsBudget(raw, newGenericBudget(len(raw)))
}

// genericFactsBudget flattens a section into path=value facts: object members by name,
// array elements by index, within budget (spent as it goes).
func genericFactsBudget(raw json.RawMessage, budget *genericBudget) ([]probe.Fact, error) {
	f := &flattener{raw: raw, dec: json.NewDecoder(bytes.NewReader(raw)), budget: budget}
	f.dec.UseNumber()
	err := f.value(0)
	switch {
	case errors.Is(err, errSpent):
		f.facts = append(f.facts, probe.Fact{Key: GenericTruncatedKey,
			Value: fmt.Sprintf("section too large for the generic view: the first %d values shown, the rest left out (the report holds them all)", f.kept)})
	case err != nil:
		return nil, fmt.Errorf("flatten section: %w", err)
	default:
		if _, err := f.dec.Token(); err != io.EOF {
			return nil, fmt.Errorf("flatten section: data after the section's value")
		}
	}
	sort.Slice(f.facts, func(i, j int) bool { return f.facts[i].Key < f.facts[j].Key })
	return f.facts, nil
}

type flattener struct {
	raw     []byte
	dec     *json.Decoder
	budget  *genericBudget
	path    []string // key parts from the section's root to the current value
	facts   []probe.Fact
	kept    int
	dropped int // 1 once the budget is spent
}

func (f *flattener) key() string {
	if len(f.path) == 0 {
		return "value" // a section that is a bare scalar
	}
	return strings.Join(f.path, "/")
}

// errSpent stops the flattening once the budget is spent: what is left is not read at
// all (the report was checked as valid JSON when it was decoded).
var errSpent = errors.New("generic budget spent")

// emit keeps one fact while the budget lasts.
func (f *flattener) emit(value string) error {
	if f.budget.facts <= 0 || f.budget.bytes <= 0 {
		f.dropped++
		return errSpent
	}
	k := f.key()
	f.budget.facts--
	f.budget.bytes -= len(k) + len(value)
	f.facts = append(f.facts, probe.Fact{Key: k, Value: value})
	f.kept++
	return nil
}

// keyPart is one object key or index as it appears in a fact's key, bounded.
func keyPart(k string) string {
	if len(k) <= maxGenericKeyPart {
		return k
	}
	sum := sha256.Sum256([]byte(k))
	cut := maxGenericKeyPart - 32
	for cut > 0 && k[cut]&0xC0 == 0x80 {
		cut--
	}
	return k[:cut] + "…(" + strconv.Itoa(len(k)) + " bytes, sha256:" + hex.EncodeToString(sum[:6]) + ")"
}

func (f *flattener) value(depth int) error {
	if depth >= MaxGenericDepth {
		// One fact for what lies deeper: its size and digest, so a difference still shows.
		var sub json.RawMessage
		if err := f.dec.Decode(&sub); err != nil {
			return err
		}
		sum := sha256.Sum256(sub)
		return f.emit(fmt.Sprintf("(deeper than %d levels: %d bytes, sha256:%s)", MaxGenericDepth, len(sub), hex.EncodeToString(sum[:8])))
	}
	tok, err := f.dec.Token()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return io.ErrUnexpectedEOF
		}
		return err
	}
	switch t := tok.(type) {
	case json.Delim:
		n := 0
		for ; f.dec.More(); n++ {
			if t == '{' {
				kt, err := f.dec.Token()
				if err != nil {
					return err
				}
				k, _ := kt.(string)
				f.path = append(f.path, keyPart(k))
			} else {
				f.path = append(f.path, strconv.Itoa(n))
			}
			if err := f.value(depth + 1); err != nil {
				return err
			}
			f.path = f.path[:len(f.path)-1]
		}
		if _, err := f.dec.Token(); err != nil { // the closing delimiter
			return err
		}
		if n == 0 {
			if t == '{' {
				return f.emit("{}")
			}
			return f.emit("[]")
		}
	case string:
		return f.emit(t)
	case json.Number:
		return f.emit(t.String())
	case bool:
		return f.emit(strconv.FormatBool(t))
	case nil:
		return f.emit("null")
	}
	return nil
}
