package report

import (
	"context"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// encoding/json matches an object's keys to struct fields without regard to case, with
// Unicode folding ("ſections", U+017F, is read as "sections"), and lets the last of two
// equal keys win. jq, Python and a human reading the file see something else. So every
// report, and every section a plugin decodes, is walked token by token first: a key twice
// in one object is refused at every level, and where the value is read into a struct, a
// key must name a field exactly or name none at all, and two keys equal under folding
// are refused (in a map, HTTP_PROXY and http_proxy are two keys, as in jq).
// Unknown keys stay allowed (a newer prober adds fields).

// UnmarshalExact is json.Unmarshal with keys matched exactly: it refuses raw when an
// object holds a key twice (also when the two differ only in case) or when a key would
// be matched to a field of v only by case folding. The error names the key and its path.
func UnmarshalExact(raw []byte, v any) error {
	if err := checkExact(context.Background(), raw, reflect.TypeOf(v)); err != nil {
		return err
	}
	return json.Unmarshal(raw, v)
}

// KeyError is a key refused by the exact decoding: Path is where it is, as a JSON
// pointer of the object that holds it ("" for the top level).
type KeyError struct {
	Path, Key, Reason string
}

func (e *KeyError) Error() string {
	where := "the top level"
	if e.Path != "" {
		where = strconv.Quote(e.Path)
	}
	return fmt.Sprintf("key %q at %s: %s", e.Key, where, e.Reason)
}

// checkExact walks raw once, checking every object against t (the type raw will be
// decoded into; nil or an interface type: duplicates only). Not valid JSON is left to
// the decoder to report. It looks at ctx every few thousand tokens.
func checkExact(ctx context.Context, raw []byte, t reflect.Type) error {
	return checkExactLimit(ctx, raw, t, nil)
}

func checkExactLimit(ctx context.Context, raw []byte, t reflect.Type, limit *memberLimit) error {
	s := &exactScanner{b: raw, ctx: ctx, limit: limit}
	err := s.value(t)
	if errors.Is(err, errSyntax) {
		return nil // json.Unmarshal says what is wrong, in its words
	}
	return err
}

var errSyntax = errors.New("syntax")

// memberLimit refuses a top-level object member (the report's "sections") with more
// than max members as soon as the walk gets there, before anything is decoded.
type memberLimit struct {
	key string
	max int
	err error
}

// decodedType is the type a JSON value is decoded into at t: pointers followed; nil
// (duplicates checked, no field names) for an interface, json.RawMessage, or a type with
// its own UnmarshalJSON/UnmarshalText (time.Time), whose keys no struct field names.
func decodedType(t reflect.Type) reflect.Type {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() == reflect.Interface {
		return nil
	}
	pt := reflect.PointerTo(t)
	if pt.Implements(reflect.TypeFor[json.Unmarshaler]()) || t.Kind() != reflect.Map && pt.Implements(reflect.TypeFor[encoding.TextUnmarshaler]()) {
		return nil
	}
	return t
}

// structFields are a struct's JSON field names as encoding/json names them (tags,
// embedded structs promoted): exact names to their types, folded names to exact names.
type structFields struct {
	exact  map[string]reflect.Type
	folded map[string]string
}

var fieldCache sync.Map // reflect.Type -> *structFields

func fieldsOf(t reflect.Type) *structFields {
	if m, ok := fieldCache.Load(t); ok {
		return m.(*structFields)
	}
	fs := &structFields{exact: map[string]reflect.Type{}, folded: map[string]string{}}
	var walk func(t reflect.Type, depth int)
	walk = func(t reflect.Type, depth int) {
		if depth > 8 {
			return
		}
		for i := range t.NumField() {
			sf := t.Field(i)
			tag := sf.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, _, _ := strings.Cut(tag, ",")
			if sf.Anonymous && name == "" {
				et := sf.Type
				if et.Kind() == reflect.Pointer {
					et = et.Elem()
				}
				if et.Kind() == reflect.Struct {
					walk(et, depth+1)
					continue
				}
			}
			if !sf.IsExported() {
				continue
			}
			if name == "" {
				name = sf.Name
			}
			if _, dup := fs.exact[name]; !dup {
				fs.exact[name] = sf.Type
				fs.folded[fold(name)] = name
			}
		}
	}
	walk(t, 0)
	fieldCache.Store(t, fs)
	return fs
}

// fold is the key as encoding/json compares it: fold(x) == fold(y) exactly when
// strings.EqualFold(x, y) (each rune replaced by the smallest of its fold set).
func fold(s string) string {
	plain := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf || 'a' <= s[i] && s[i] <= 'z' {
			plain = false
			break
		}
	}
	if plain {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if r < utf8.RuneSelf {
			if 'a' <= r && r <= 'z' {
				r -= 'a' - 'A'
			}
			b.WriteByte(byte(r))
			continue
		}
		for {
			r2 := unicode.SimpleFold(r)
			if r2 <= r {
				r = r2
				break
			}
			r = r2
		}
		b.WriteRune(r)
	}
	return b.String()
}
