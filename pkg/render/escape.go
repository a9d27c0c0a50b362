package render

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	yamlv2 "go.yaml.in/yaml/v2"
)

// A report's strings come from inside a pod that may be compromised (docs/security.md):
// nothing of them may reach the user's terminal raw. This file is the one place that
// decides which characters are unsafe and how each format escapes them.

// unsafeRune reports whether r must never be printed raw: every C0 and C1 control and DEL
// (escape sequences, CSI U+009B, newline and carriage return, which forge lines), the
// bidirectional controls that reorder what is shown (U+202A–U+202E, U+2066–U+2069, the
// marks U+200E, U+200F, U+061C) and the line and paragraph separators U+2028, U+2029.
func unsafeRune(r rune) bool {
	switch {
	case unicode.IsControl(r):
		return true
	case r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069, r == 0x200E, r == 0x200F, r == 0x061C:
		return true
	case r == 0x2028, r == 0x2029:
		return true
	}
	return false
}

// safe reports whether s is valid UTF-8 without an unsafe rune.
func safe(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unsafeRune(r) {
			return false
		}
	}
	return true
}

// Sanitize makes s safe to print on a terminal on one line: every unsafe rune is shown
// as a Go escape (\n, \r, \x1b, \u009b, \u202e), a tab becomes a space and a byte that is
// not UTF-8 becomes \xNN. Safe text is returned unchanged.
func Sanitize(s string) string {
	if safe(s) {
		return s
	}
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == '\t':
			b.WriteByte(' ')
		case r == utf8.RuneError:
			if _, size := utf8.DecodeRuneInString(s[i:]); size == 1 {
				fmt.Fprintf(&b, `\x%02x`, s[i])
			} else {
				b.WriteRune(r) // a real U+FFFD
			}
		case unsafeRune(r):
			q := strconv.QuoteRuneToASCII(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Cap cuts s to at most max bytes (at a rune boundary) and says how much was cut:
// "…(N more bytes)". max <= 0 means no cap.
func Cap(s string, max int) string {
	if max <= 0 || len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + fmt.Sprintf("…(%d more bytes)", len(s)-cut)
}

// yamlRefused reports the runes that are valid UTF-8 and harmless on a terminal but that
// YAML cannot carry raw (outside its printable set): the noncharacters U+FFFE and U+FFFF.
// The YAML library refuses them ("control characters are not allowed"), so a report
// holding one would break -o yaml for the whole run.
func yamlRefused(r rune) bool { return r == 0xFFFE || r == 0xFFFF }

// jsonEscaped reports the runes escapeJSON rewrites: every unsafe rune encoding/json
// leaves raw, and the ones YAML refuses.
func jsonEscaped(r rune) bool { return r >= 0x7f && (unsafeRune(r) || yamlRefused(r)) }

// escapeJSON rewrites, in encoding/json output, every unsafe rune it leaves raw (DEL, C1
// controls, bidi controls) and every rune YAML refuses as a \uXXXX escape. Outside
// strings JSON is printable ASCII, so each such rune is inside a string and the escape
// decodes to the same value.
func escapeJSON(b []byte) []byte {
	i := bytes.IndexFunc(b, jsonEscaped)
	if i < 0 {
		return b
	}
	out := make([]byte, 0, len(b)+16)
	out = append(out, b[:i]...)
	for _, r := range string(b[i:]) {
		if jsonEscaped(r) {
			out = fmt.Appendf(out, `\u%04x`, r)
			continue
		}
		out = utf8.AppendRune(out, r)
	}
	return out
}

// marshalJSON is json.MarshalIndent, with every unsafe rune escaped.
func marshalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return escapeJSON(buf.Bytes()), nil
}

// marshalYAML prints v as sigs.k8s.io/yaml does, except that a string holding an unsafe
// rune (which the YAML library either refuses, like U+009B, or prints raw, like U+202E
// and newlines in a block scalar) or a rune YAML refuses (U+FFFE) is written as a double-quoted scalar with JSON escapes,
// which YAML reads back as the same string. Such strings are swapped for placeholders
// carrying a random nonce before marshalling, so a report cannot forge one.
func marshalYAML(v any) ([]byte, error) { return marshalYAMLWith(v, encodeYAML) }

// encodeYAML prints tree (what encoding/json decodes with UseNumber: maps, slices,
// strings, json.Number, bools, nil) as sigs.k8s.io/yaml.Marshal does, byte for byte,
// without its detour: that marshals tree to JSON again and parses the JSON back as YAML
// before it calls the same encoder, a third of the time at 100,000 rows.
func encodeYAML(tree any) ([]byte, error) { return yamlv2.Marshal(tree) }

// marshalYAMLWith is marshalYAML with the final encoder given (tests compare encoders).
func marshalYAMLWith(v any, encode func(any) ([]byte, error)) ([]byte, error) {
	j, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.UseNumber()
	var tree any
	if err := dec.Decode(&tree); err != nil {
		return nil, err
	}
	var nonce [8]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return nil, err
	}
	prefix := "netdiff-quoted-" + hex.EncodeToString(nonce[:]) + "-"
	var quoted [][]byte
	swap := func(s string) (string, error) {
		if safe(s) && !strings.ContainsFunc(s, yamlRefused) {
			return s, nil
		}
		q, err := marshalJSON(s)
		if err != nil {
			return "", err
		}
		quoted = append(quoted, bytes.TrimRight(q, "\n"))
		return prefix + strconv.Itoa(len(quoted)-1) + "x", nil
	}
	if tree, err = swapStrings(tree, swap); err != nil {
		return nil, err
	}
	y, err := encode(tree)
	if err != nil || len(quoted) == 0 {
		return y, err
	}
	var out bytes.Buffer
	p := []byte(prefix)
	for {
		i := bytes.Index(y, p)
		if i < 0 {
			out.Write(y)
			break
		}
		out.Write(y[:i])
		rest := y[i+len(p):]
		end := bytes.IndexByte(rest, 'x')
		n, err := strconv.Atoi(string(rest[:max(end, 0)]))
		if end < 0 || err != nil || n >= len(quoted) {
			return nil, fmt.Errorf("yaml: lost a quoted string")
		}
		out.Write(quoted[n])
		y = rest[end+1:]
	}
	return out.Bytes(), nil
}

func swapStrings(v any, f func(string) (string, error)) (any, error) {
	var err error
	switch t := v.(type) {
	case string:
		return f(t)
	case []any:
		for i := range t {
			if t[i], err = swapStrings(t[i], f); err != nil {
				return nil, err
			}
		}
	case map[string]any:
		// In key order: the placeholders are numbered in the order they are made, and
		// YAML sorts a map's keys, so numbering in map order would print two quoted
		// keys of one map in a different order from run to run.
		out := make(map[string]any, len(t))
		for _, k := range slices.Sorted(maps.Keys(t)) {
			e := t[k]
			if e, err = swapStrings(e, f); err != nil {
				return nil, err
			}
			if k, err = f(k); err != nil {
				return nil, err
			}
			out[k] = e
		}
		return out, nil
	}
	return v, nil
}
