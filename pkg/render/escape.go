package render

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// A report's strings come from inside a pod that may be compromised (docs/security.md):
// nothing of them may reach the user's terminal raw. This file is the one place that
// decides which characters are unsafe and how each format escapes them.

// unsafeRune reports whether r must never be printed raw: every C0 and C1 control and DEL
// (escape sequences, CSI U+009B, newline and carriage return, which forge lines), the
// bidirectional controls that reorder what is shown (U+202A–U+202E, U+2066–U+2069, the
// marks U+200E, U+200F, U+061C), the line and paragraph separators U+2028, U+2029, and
// every rune that shows as nothing or as a blank so that two different strings look the
// same (invisibleRune).
func unsafeRune(r rune) bool {
	switch {
	case r < 0x7f && r >= 0x20:
		return false
	case unicode.IsControl(r):
		return true
	case r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069, r == 0x200E, r == 0x200F, r == 0x061C:
		return true
	case r == 0x2028, r == 0x2029:
		return true
	}
	return invisibleRune(r)
}

// invisibleRune: the format characters (Cf: zero-width space and joiners U+200B–U+200D,
// word joiner U+2060, BOM U+FEFF, soft hyphen U+00AD, the tag characters
// U+E0000–U+E007F, …), the other default-ignorable code points (Hangul fillers U+115F,
// U+1160, U+3164, U+FFA0, combining grapheme joiner U+034F, Mongolian vowel separator and
// variation selectors), every white space but the ASCII space (no-break and ideographic
// spaces, U+2000–U+200A), and the Braille blank U+2800: "eth0" and "eth0"+U+200B must not
// print alike.
func invisibleRune(r rune) bool {
	switch {
	case r < 0xa0:
		return false
	case unicode.Is(unicode.Cf, r), unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r),
		unicode.Is(unicode.Variation_Selector, r), unicode.Is(unicode.White_Space, r):
		return true
	case r == 0x2800, r == 0x115F, r == 0x1160, r == 0x3164, r == 0xFFA0, r == 0x034F, r == 0x180E:
		return true
	case r >= 0xE0000 && r <= 0xE0FFF: // tags, variation selectors supplement, unassigned ignorables
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
// as a Go escape (\n, \r, \t, \x1b, \u009b, \u202e, \u200b, \U000e0041) and a byte
// that is not UTF-8 becomes \xNN. Safe text is returned unchanged.
func Sanitize(s string) string {
	if safe(s) {
		return s
	}
	var b strings.Builder
	for i, r := range s {
		switch {
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
			if r > 0xFFFF { // a surrogate pair, as JSON spells a rune beyond the BMP
				r1, r2 := utf16.EncodeRune(r)
				out = fmt.Appendf(out, `\u%04x\u%04x`, r1, r2)
				continue
			}
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
