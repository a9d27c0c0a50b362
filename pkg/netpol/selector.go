package netpol

import (
	"fmt"
	"strings"
)

// Selector is a parsed Calico selector: the subset netdiff evaluates is ==, !=, in,
// not in, has(), !has(), all(), global(), contains, starts with, ends with, !, &&, ||
// and parentheses. Anything else fails to parse, and the policy is said to be
// unevaluable rather than guessed.
type Selector interface {
	Matches(labels map[string]string) bool
	// Keys are the label keys it examines.
	Keys() []string
}

// ParseSelector parses a Calico selector; "" selects everything, as all() does.
func ParseSelector(s string) (Selector, error) {
	p := &selParser{in: s}
	p.skip()
	if p.pos == len(p.in) {
		return allSel{}, nil
	}
	e, err := p.or()
	if err != nil {
		return nil, err
	}
	p.skip()
	if p.pos != len(p.in) {
		return nil, fmt.Errorf("selector %q: unexpected %q", s, p.in[p.pos:])
	}
	return e, nil
}

type allSel struct{}

func (allSel) Matches(map[string]string) bool { return true }
func (allSel) Keys() []string                 { return nil }

type notSel struct{ e Selector }

func (n notSel) Matches(l map[string]string) bool { return !n.e.Matches(l) }
func (n notSel) Keys() []string                   { return n.e.Keys() }

type boolSel struct {
	and  bool
	a, b Selector
}

func (s boolSel) Matches(l map[string]string) bool {
	if s.and {
		return s.a.Matches(l) && s.b.Matches(l)
	}
	return s.a.Matches(l) || s.b.Matches(l)
}
func (s boolSel) Keys() []string { return uniq(append(s.a.Keys(), s.b.Keys()...)) }

type termSel struct {
	key, op string
	vals    []string
}

func (t termSel) Keys() []string { return []string{t.key} }
func (t termSel) Matches(l map[string]string) bool {
	v, ok := l[t.key]
	switch t.op {
	case "has":
		return ok
	case "==":
		return ok && v == t.vals[0]
	case "!=":
		return !ok || v != t.vals[0]
	case "in":
		return ok && contains(t.vals, v)
	case "not in":
		return !ok || !contains(t.vals, v)
	case "contains":
		return ok && strings.Contains(v, t.vals[0])
	case "starts with":
		return ok && strings.HasPrefix(v, t.vals[0])
	case "ends with":
		return ok && strings.HasSuffix(v, t.vals[0])
	}
	return false
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if x == y {
			return true
		}
	}
	return false
}

type selParser struct {
	in  string
	pos int
}

func (p *selParser) skip() {
	for p.pos < len(p.in) && (p.in[p.pos] == ' ' || p.in[p.pos] == '\t' || p.in[p.pos] == '\n') {
		p.pos++
	}
}

func (p *selParser) eat(tok string) bool {
	p.skip()
	if strings.HasPrefix(p.in[p.pos:], tok) {
		p.pos += len(tok)
		return true
	}
	return false
}

func (p *selParser) fail(what string) error {
	return fmt.Errorf("selector %q: %s at offset %d", p.in, what, p.pos)
}

func (p *selParser) or() (Selector, error) {
	a, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.eat("||") {
		b, err := p.and()
		if err != nil {
			return nil, err
		}
		a = boolSel{a: a, b: b}
	}
	return a, nil
}

func (p *selParser) and() (Selector, error) {
	a, err := p.unary()
	if err != nil {
		return nil, err
	}
	for p.eat("&&") {
		b, err := p.unary()
		if err != nil {
			return nil, err
		}
		a = boolSel{and: true, a: a, b: b}
	}
	return a, nil
}

func (p *selParser) unary() (Selector, error) {
	switch {
	case p.eat("!") && !strings.HasPrefix(p.in[p.pos:], "="):
		e, err := p.unary()
		if err != nil {
			return nil, err
		}
		return notSel{e}, nil
	case p.eat("("):
		e, err := p.or()
		if err != nil {
			return nil, err
		}
		if !p.eat(")") {
			return nil, p.fail("missing )")
		}
		return e, nil
	case p.eat("all()"), p.eat("global()"):
		return allSel{}, nil
	case p.eat("has("):
		k := p.key()
		if k == "" || !p.eat(")") {
			return nil, p.fail("bad has()")
		}
		return termSel{key: k, op: "has"}, nil
	}
	k := p.key()
	if k == "" {
		return nil, p.fail("expected a label key")
	}
	for _, op := range []string{"==", "!=", "not in", "in", "contains", "starts with", "ends with"} {
		if !p.eat(op) {
			continue
		}
		if op == "in" || op == "not in" {
			vals, err := p.set()
			if err != nil {
				return nil, err
			}
			return termSel{key: k, op: op, vals: vals}, nil
		}
		v, err := p.str()
		if err != nil {
			return nil, err
		}
		return termSel{key: k, op: op, vals: []string{v}}, nil
	}
	return nil, p.fail("unsupported operator")
}

func (p *selParser) key() string {
	p.skip()
	start := p.pos
	for p.pos < len(p.in) {
		c := p.in[p.pos]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-' || c == '/' {
			p.pos++
			continue
		}
		break
	}
	return p.in[start:p.pos]
}

func (p *selParser) str() (string, error) {
	p.skip()
	if p.pos >= len(p.in) || p.in[p.pos] != '\'' && p.in[p.pos] != '"' {
		return "", p.fail("expected a quoted value")
	}
	q := p.in[p.pos]
	end := strings.IndexByte(p.in[p.pos+1:], q)
	if end < 0 {
		return "", p.fail("unterminated string")
	}
	v := p.in[p.pos+1 : p.pos+1+end]
	p.pos += end + 2
	return v, nil
}

func (p *selParser) set() ([]string, error) {
	if !p.eat("{") {
		return nil, p.fail("expected {")
	}
	var out []string
	if p.eat("}") {
		return out, nil
	}
	for {
		v, err := p.str()
		if err != nil {
			return nil, err
		}
		out = append(out, v)
		if p.eat("}") {
			return out, nil
		}
		if !p.eat(",") {
			return nil, p.fail("expected , or }")
		}
	}
}
