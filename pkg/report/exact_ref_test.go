package report

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

// The token walker the exact check used before exactscan.go (encoding/json's Decoder,
// one Token per value): kept here as the reference the scanner is held to
// (TestScannerAgreesWithTheTokenWalker, FuzzExactAgrees) and benchmarked against.

func checkExactTokens(ctx context.Context, raw []byte, t reflect.Type, limit *memberLimit) error {
	w := &exactWalker{dec: json.NewDecoder(bytes.NewReader(raw)), ctx: ctx, limit: limit}
	w.dec.UseNumber()
	err := w.value(t)
	if errors.Is(err, errSyntax) {
		return nil
	}
	return err
}

type exactWalker struct {
	dec    *json.Decoder
	ctx    context.Context
	limit  *memberLimit
	path   []string // keys and indexes from the top to the current value
	tokens int
}

func (w *exactWalker) token() (json.Token, error) {
	w.tokens++
	if w.tokens%4096 == 0 {
		if err := w.ctx.Err(); err != nil {
			return nil, err
		}
	}
	t, err := w.dec.Token()
	if err != nil {
		if ctxErr := w.ctx.Err(); ctxErr != nil {
			return nil, ctxErr
		}
		return nil, errSyntax
	}
	return t, nil
}

func (w *exactWalker) pointer() string {
	var b strings.Builder
	for _, p := range w.path {
		b.WriteByte('/')
		b.WriteString(strings.NewReplacer("~", "~0", "/", "~1").Replace(p))
	}
	return b.String()
}

func (w *exactWalker) value(t reflect.Type) error {
	tok, err := w.token()
	if err != nil {
		return err
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	t = decodedType(t)
	switch d {
	case '[':
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		for i := 0; w.dec.More(); i++ {
			w.path = append(w.path, strconv.Itoa(i))
			if err := w.value(elem); err != nil {
				return err
			}
			w.path = w.path[:len(w.path)-1]
		}
	case '{':
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
		seen := map[string]string{} // folded key -> key as written
		limit := w.limit != nil && len(w.path) == 1 && w.path[0] == w.limit.key
		for n := 0; w.dec.More(); n++ {
			if limit && n == w.limit.max {
				return w.limit.err
			}
			tok, err := w.token()
			if err != nil {
				return err
			}
			key, _ := tok.(string)
			// Into a struct, Go matches keys by case folding: two keys equal under
			// folding are one field. Elsewhere (maps, unknown shapes) only equal keys are.
			f := key
			if fields != nil {
				f = fold(key)
			}
			if prev, dup := seen[f]; dup {
				reason := "appears twice"
				if prev != key {
					reason = fmt.Sprintf("repeats %q (the two differ only in case; Go would read them as one field)", prev)
				}
				return &KeyError{Path: w.pointer(), Key: key, Reason: reason}
			}
			seen[f] = key
			next := elem
			if fields != nil {
				ft, exact := fields.exact[key]
				if !exact {
					if name, folded := fields.folded[f]; folded {
						return &KeyError{Path: w.pointer(), Key: key, Reason: fmt.Sprintf("is not %q (keys are matched exactly, not by case folding)", name)}
					}
				}
				next = ft
			}
			w.path = append(w.path, key)
			if err := w.value(next); err != nil {
				return err
			}
			w.path = w.path[:len(w.path)-1]
		}
	}
	// The closing delimiter.
	_, err = w.token()
	return err
}
