package render

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strings"
	"unicode/utf8"
)

// -o yaml is written here, streamed from the document's JSON token by token, for two
// reasons:
//
//   - Every loader must read the file back as the same data, YAML 1.1 (PyYAML, libyaml,
//     go-yaml v2) and 1.2 (go-yaml v3) alike. Their plain scalars resolve differently
//     (`<<` is a merge key in 1.1, `=` a "value" tag PyYAML refuses, `on`, `y`, `0o17`,
//     `1:20`, `2026-01-01` change type in one or the other), and the string came from a
//     pod. So a string is written plain only when it is plainly a word or a path
//     (plainSafe), and double-quoted with escapes otherwise; unsafe runes
//     (docs/security.md) are escaped in the quotes, never raw.
//   - go-yaml v2's emitter kept every event of the document: 1.5 GB for 100,000 rows.
//     This writer holds one token at a time.
//
// Layout: block style, keys in the document's field order, sequences at their key's
// indentation (as sigs.k8s.io/yaml prints them), empty collections as {} and [].

// marshalYAML prints v (anything encoding/json can marshal) as YAML.
func marshalYAML(v any) ([]byte, error) {
	j, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	out.Grow(len(j) + len(j)/2)
	if err := jsonToYAML(&out, j); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// jsonToYAML writes the one JSON value j as a YAML document.
func jsonToYAML(w *bytes.Buffer, j []byte) error {
	y := &yamlWriter{dec: json.NewDecoder(bytes.NewReader(j)), w: w}
	y.dec.UseNumber()
	tok, err := y.dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); ok {
		if !y.dec.More() {
			y.end()
			w.WriteString(map[json.Delim]string{'{': "{}", '[': "[]"}[d] + "\n")
			return nil
		}
		if d == '{' {
			return y.members(0, "")
		}
		return y.items(0, "")
	}
	w.WriteString(yamlScalar(tok) + "\n")
	return nil
}

type yamlWriter struct {
	dec *json.Decoder
	w   *bytes.Buffer
	err error
}

func (y *yamlWriter) token() json.Token {
	t, err := y.dec.Token()
	if err != nil && y.err == nil {
		y.err = err
	}
	return t
}

// end consumes a closing delimiter.
func (y *yamlWriter) end() { y.token() }

func (y *yamlWriter) indent(n int) {
	for range n {
		y.w.WriteByte(' ')
	}
}

// members writes the rest of an object (its '{' read, at least one member left), one
// "key: value" line each at indentation n; the first line starts with first instead.
func (y *yamlWriter) members(n int, first string) error {
	for i := 0; y.dec.More() && y.err == nil; i++ {
		if i == 0 && first != "" {
			y.w.WriteString(first)
		} else {
			y.indent(n)
		}
		key := yamlScalar(y.token())
		if len(key) > maxImplicitKey {
			// An implicit key is at most 1024 characters: a longer one is explicit.
			y.w.WriteString("? " + key + "\n")
			y.indent(n)
		} else {
			y.w.WriteString(key)
		}
		y.w.WriteByte(':')
		y.afterKey(n)
	}
	y.end()
	return y.err
}

// maxImplicitKey is the longest key written as "key:"; YAML allows 1024 characters.
const maxImplicitKey = 1000

// items writes the rest of an array (its '[' read, at least one item left), "- item"
// at indentation n; the first line starts with first instead.
func (y *yamlWriter) items(n int, first string) error {
	for i := 0; y.dec.More() && y.err == nil; i++ {
		prefix := first
		if i > 0 || first == "" {
			prefix = strings.Repeat(" ", n)
		}
		y.item(n+2, prefix+"- ")
	}
	y.end()
	return y.err
}

// afterKey writes a member's value after "key:" at indentation n.
func (y *yamlWriter) afterKey(n int) {
	tok := y.token()
	d, ok := tok.(json.Delim)
	switch {
	case y.err != nil:
	case !ok:
		y.w.WriteByte(' ')
		y.w.WriteString(yamlScalar(tok))
		y.w.WriteByte('\n')
	case !y.dec.More():
		y.end()
		y.w.WriteString(map[json.Delim]string{'{': " {}\n", '[': " []\n"}[d])
	case d == '{':
		y.w.WriteByte('\n')
		y.members(n+2, "")
	default:
		y.w.WriteByte('\n')
		y.items(n, "")
	}
}

// item writes one array element whose first line starts with prefix (indentation and
// "- "); its further lines are at indentation n.
func (y *yamlWriter) item(n int, prefix string) {
	tok := y.token()
	d, ok := tok.(json.Delim)
	switch {
	case y.err != nil:
	case !ok:
		y.w.WriteString(prefix + yamlScalar(tok) + "\n")
	case !y.dec.More():
		y.end()
		y.w.WriteString(prefix + map[json.Delim]string{'{': "{}", '[': "[]"}[d] + "\n")
	case d == '{':
		y.members(n, prefix)
	default:
		y.items(n, prefix)
	}
}

// plainWord is what may be printed as a plain scalar: a word or path starting with a
// letter, '_' or '/', of letters, digits and "_./-". Anything else (numbers as strings,
// "<<", "=", "~", timestamps, ".inf", strings with spaces, ':' or '#') is quoted.
var plainWord = regexp.MustCompile(`^[A-Za-z_/][A-Za-z0-9_./-]*$`)

// yamlKeywords resolve to booleans or null in some YAML 1.1 or 1.2 loader.
var yamlKeywords = regexp.MustCompile(`^(?i:y|n|yes|no|true|false|on|off|null)$`)

// plainSafe reports whether s reads back as the same string in every common loader.
func plainSafe(s string) bool {
	return len(s) <= 1024 && plainWord.MatchString(s) && !yamlKeywords.MatchString(s)
}

// plainNumber is a JSON number every loader reads as the same number.
var plainNumber = regexp.MustCompile(`^-?(0|[1-9][0-9]{0,17})(\.[0-9]+)?$`)

// yamlScalar is one JSON scalar token as a YAML scalar.
func yamlScalar(tok json.Token) string {
	switch t := tok.(type) {
	case nil:
		return "null"
	case bool:
		if t {
			return "true"
		}
		return "false"
	case json.Number:
		if plainNumber.MatchString(string(t)) {
			return string(t)
		}
		return yamlQuote(string(t))
	case string:
		if plainSafe(t) {
			return t
		}
		return yamlQuote(t)
	}
	return yamlQuote(fmt.Sprint(tok))
}

// yamlQuote is s as a YAML double-quoted scalar: '"' and '\' escaped, and every rune
// that is not printable or not safe on a terminal (controls, bidi and invisible
// characters, U+FFFE) as \xXX, \uXXXX or \UXXXXXXXX, escapes YAML 1.1 and 1.2 share.
func yamlQuote(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for i, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == utf8.RuneError:
			if _, size := utf8.DecodeRuneInString(s[i:]); size == 1 {
				b.WriteString(`\ufffd`) // as encoding/json writes a byte that is not UTF-8
			} else {
				b.WriteRune(r)
			}
		case r < 0x20 || r >= 0x7f && r <= 0x9f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case unsafeRune(r) || yamlRefused(r) || r == 0xFEFF:
			if r > 0xFFFF {
				fmt.Fprintf(&b, `\U%08x`, r)
			} else {
				fmt.Fprintf(&b, `\u%04x`, r)
			}
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

var _ io.Writer = (*bytes.Buffer)(nil)
