package report

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"
)

// exactScanner is checkExact's walk: one pass over the bytes that reads only what the
// check needs (object keys, as encoding/json would decode them) and skips every other
// value without making it a Go value. It checks what the token walker before it did
// (exact_ref_test.go keeps that walker; the tests hold the two to the same answers),
// at a fraction of its cost: the walker made an interface value, and a string or a
// json.Number, of every token of every section.
//
// It accepts every valid JSON text the way encoding/json reads it. On text that is not
// valid it may stop anywhere (errSyntax): the decoder that runs next refuses that text
// in its own words.
type exactScanner struct {
	b      []byte
	i      int
	ctx    context.Context
	limit  *memberLimit
	path   []pathPart // keys and indexes from the top to the current value
	tokens int
}

// pathPart is a key, or an array index (key "", index n): formatted only for an error.
type pathPart struct {
	key   string
	index int
}

func (s *exactScanner) pointer() string {
	var b strings.Builder
	for _, p := range s.path {
		b.WriteByte('/')
		if p.index >= 0 {
			b.WriteString(strconv.Itoa(p.index))
			continue
		}
		b.WriteString(strings.NewReplacer("~", "~0", "/", "~1").Replace(p.key))
	}
	return b.String()
}

// tick counts a token and looks at ctx every few thousand.
func (s *exactScanner) tick() error {
	s.tokens++
	if s.tokens%4096 == 0 {
		return s.ctx.Err()
	}
	return nil
}

func (s *exactScanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// next skips white space and returns the next byte, 0 at the end.
func (s *exactScanner) next() byte {
	s.ws()
	if s.i >= len(s.b) {
		return 0
	}
	return s.b[s.i]
}

// str skips a string at s.i (its opening quote) and returns its bytes between the quotes
// and whether it holds an escape.
func (s *exactScanner) str() ([]byte, bool, error) {
	start := s.i + 1
	esc := false
	for j := start; j < len(s.b); j++ {
		switch c := s.b[j]; {
		case c == '\\':
			esc = true
			j++
		case c == '"':
			s.i = j + 1
			return s.b[start:j], esc, nil
		case c < 0x20:
			return nil, false, errSyntax
		}
	}
	return nil, false, errSyntax
}

// key is a string's value as encoding/json decodes it: escapes resolved, and invalid
// UTF-8 replaced by U+FFFD, as Token and Unmarshal do.
func (s *exactScanner) key() (string, error) {
	start := s.i
	b, esc, err := s.str()
	if err != nil {
		return "", err
	}
	if !esc && utf8.Valid(b) {
		return string(b), nil
	}
	var k string
	if err := json.Unmarshal(s.b[start:s.i], &k); err != nil {
		return "", errSyntax
	}
	return k, nil
}

// scalar skips a number, true, false or null: the bytes up to the next delimiter.
// Whether they are one is the decoder's to say.
func (s *exactScanner) scalar() error {
	start := s.i
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r', '"', '{', '[', ':':
			if s.i == start {
				return errSyntax
			}
			return nil
		}
		s.i++
	}
	if s.i == start {
		return errSyntax
	}
	return nil
}

func (s *exactScanner) value(t reflect.Type) error {
	if err := s.tick(); err != nil {
		return err
	}
	switch s.next() {
	case '{':
		return s.object(decodedType(t))
	case '[':
		return s.array(decodedType(t))
	case '"':
		_, _, err := s.str()
		return err
	case 0, '}', ']', ',', ':':
		return errSyntax
	}
	return s.scalar()
}

func (s *exactScanner) array(t reflect.Type) error {
	s.i++ // [
	var elem reflect.Type
	if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
		elem = t.Elem()
	}
	if s.next() == ']' {
		s.i++
		return s.tick()
	}
	for n := 0; ; n++ {
		s.path = append(s.path, pathPart{index: n})
		if err := s.value(elem); err != nil {
			return err
		}
		s.path = s.path[:len(s.path)-1]
		switch s.next() {
		case ',':
			s.i++
		case ']':
			s.i++
			return s.tick()
		default:
			return errSyntax
		}
	}
}

func (s *exactScanner) object(t reflect.Type) error {
	s.i++ // {
	var fields *structFields
	var elem reflect.Type
	if t != nil {
		switch t.Kind() {
		case reflect.Struct:
			fields = fieldsOf(t)
		case reflect.Map:
			elem = t.Elem()
		}
	}
	if s.next() == '}' {
		s.i++
		return s.tick()
	}
	var seen seenKeys
	limit := s.limit != nil && len(s.path) == 1 && s.path[0].key == s.limit.key
	for n := 0; ; n++ {
		if limit && n == s.limit.max {
			return s.limit.err
		}
		if err := s.tick(); err != nil {
			return err
		}
		if s.next() != '"' {
			return errSyntax
		}
		key, err := s.key()
		if err != nil {
			return err
		}
		// Into a struct, Go matches keys by case folding: two keys equal under folding
		// are one field. Elsewhere (maps, unknown shapes) only equal keys are.
		seen.folded = fields != nil
		if prev, dup := seen.add(key); dup {
			reason := "appears twice"
			if prev != key {
				reason = fmt.Sprintf("repeats %q (the two differ only in case; Go would read them as one field)", prev)
			}
			return &KeyError{Path: s.pointer(), Key: key, Reason: reason}
		}
		next := elem
		if fields != nil {
			ft, exact := fields.exact[key]
			if !exact {
				if name, folded := fields.folded[fold(key)]; folded {
					return &KeyError{Path: s.pointer(), Key: key, Reason: fmt.Sprintf("is not %q (keys are matched exactly, not by case folding)", name)}
				}
			}
			next = ft
		}
		if s.next() != ':' {
			return errSyntax
		}
		s.i++
		s.path = append(s.path, pathPart{key: key, index: -1})
		if err := s.value(next); err != nil {
			return err
		}
		s.path = s.path[:len(s.path)-1]
		switch s.next() {
		case ',':
			s.i++
		case '}':
			s.i++
			return s.tick()
		default:
			return errSyntax
		}
	}
}

// seenKeys are an object's keys so far: a list while there are few (compared with
// strings.EqualFold where folded, which is fold equality), a map from the folded key to
// the key as written beyond that (a map section holds thousands).
type seenKeys struct {
	folded bool
	n      int
	list   [seenList]string
	m      map[string]string
}

const seenList = 16

// add records key and returns the earlier key it repeats, if any.
func (k *seenKeys) add(key string) (string, bool) {
	if k.m == nil {
		for _, p := range k.list[:k.n] {
			if p == key || k.folded && strings.EqualFold(p, key) {
				return p, true
			}
		}
		if k.n < seenList {
			k.list[k.n] = key
			k.n++
			return "", false
		}
		k.m = make(map[string]string, 2*seenList)
		for _, p := range k.list {
			k.m[k.fold(p)] = p
		}
	}
	f := k.fold(key)
	if p, dup := k.m[f]; dup {
		return p, true
	}
	k.m[f] = key
	return "", false
}

func (k *seenKeys) fold(key string) string {
	if k.folded {
		return fold(key)
	}
	return key
}
