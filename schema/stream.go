package schema

import (
	"encoding/json"
	"errors"
	"sync"

	"github.com/caddy-endpoint/endpoint/internal/jsonwalk"
)

// The streaming proof is the fast path (fastpath.go) run while sonic walks
// the body, without building the document: for a schema each of whose
// keywords looks at one value once, a valid 1 KB body is proved in about a
// fifth of the time of parsing it and walking the tree, allocating
// nothing. Keywords that look at a value more than once or at a whole
// object (anyOf, dependentRequired, dependentSchemas, contains,
// minProperties above 1) make a schema not stream; such schemas keep the
// tree walk. As with the tree, a body not proved is parsed and validated
// by the library, whose answer is the one given.
//
// Each value is checked against a set of fast nodes at once: the schema
// that applies to it and, through $ref and allOf, every schema that
// applies with it. The sets of the open containers are a stack in one
// slice, innermost last.

// streams reports whether every node reachable from root through the
// keywords that descend into a value's members (and $ref and allOf) is
// one the streaming proof evaluates.
func streams(root *fastNode) bool {
	seen := map[*fastNode]bool{}
	var ok func(n *fastNode) bool
	ok = func(n *fastNode) bool {
		if n == nil || seen[n] || n.unsupported || n.never {
			return true
		}
		seen[n] = true
		if len(n.anyOf) > 0 || len(n.dependentRequired) > 0 || len(n.dependentSchemas) > 0 ||
			(n.contains != nil && n.minContains > 0) || n.minProps > 1 {
			return false
		}
		for _, sub := range n.members() {
			if !ok(sub) {
				return false
			}
		}
		return true
	}
	return ok(root)
}

// members are the nodes n applies to its value and, through the keywords
// the streaming proof evaluates, to the value's members.
func (n *fastNode) members() []*fastNode {
	out := append([]*fastNode{n.ref, n.additional, n.propertyNames, n.items}, n.allOf...)
	out = append(out, n.prefix...)
	for _, sub := range n.props {
		out = append(out, sub)
	}
	for _, pp := range n.patternProps {
		out = append(out, pp.node)
	}
	return out
}

// span is a set of nodes: streamProver.nodes[start:end].
type span struct{ start, end int }

// streamFrame is an open object or array.
type streamFrame struct {
	set    span
	object bool
	// count is the members seen (duplicate keys counted each time: only
	// maxProperties reads it, for which that is safe).
	count int
	// required has a bit for each name of the set's required lists, in
	// order, set once the name was seen.
	required  uint64
	nRequired int
}

// errNotProved stops a walk that cannot prove the body.
var errNotProved = errors.New("not proved")

// streamProver is one walk. It is pooled: its slices keep their room.
type streamProver struct {
	jsonwalk.Walker
	steps  int
	nodes  []*fastNode
	frames []streamFrame
	// next is the set of the value after an object key.
	next span
}

var streamProvers = sync.Pool{New: func() any {
	p := &streamProver{}
	p.Visitor = p
	return p
}}

// provesStreaming reports whether body is proved valid against root, and
// the shape its walk saw.
func provesStreaming(root *fastNode, body []byte) (jsonwalk.Shape, bool) {
	p := streamProvers.Get().(*streamProver)
	p.steps = 64*len(body) + 1024
	p.nodes, p.frames = p.nodes[:0], p.frames[:0]
	ok := p.expand(root)
	p.next = span{0, len(p.nodes)}
	ok = ok && p.Walk(body)
	var shape jsonwalk.Shape
	if ok {
		shape = p.Shape()
	}
	clear(p.nodes)
	streamProvers.Put(p)
	return shape, ok
}

func (p *streamProver) spend() bool {
	p.steps--
	return p.steps >= 0
}

// expand adds n and the nodes that apply with it to the top of the stack.
func (p *streamProver) expand(n *fastNode) bool {
	if n == nil {
		return true
	}
	if !p.spend() || n.unsupported || n.never {
		return false
	}
	p.nodes = append(p.nodes, n)
	if !p.expand(n.ref) {
		return false
	}
	for _, sub := range n.allOf {
		if !p.expand(sub) {
			return false
		}
	}
	return true
}

// enter is the set of the value that comes next.
func (p *streamProver) enter() (span, bool) {
	if len(p.frames) == 0 || p.frames[len(p.frames)-1].object {
		return p.next, true
	}
	f := &p.frames[len(p.frames)-1]
	p.nodes = p.nodes[:f.set.end]
	start := len(p.nodes)
	for _, n := range p.nodes[f.set.start:f.set.end] {
		sub := n.items
		if f.count < len(n.prefix) {
			sub = n.prefix[f.count]
		}
		if !p.expand(sub) {
			return span{}, false
		}
	}
	f.count++
	return span{start, len(p.nodes)}, true
}

// scalar is a value that is not a container: its type and its text (a
// string's value, a number's literal).
type scalar struct {
	t    fastTypes
	text string
	b    bool
}

// boxed is the scalar as the tree holds it, for a format check.
func (v scalar) boxed() any {
	switch v.t {
	case tString:
		return v.text
	case tNumber:
		return json.Number(v.text)
	case tBoolean:
		return v.b
	}
	return nil
}

// equals is surelyEqual without boxing the scalar.
func (v scalar) equals(e any) bool {
	switch v.t {
	case tNull:
		return e == nil
	case tBoolean:
		b, ok := e.(bool)
		return ok && b == v.b
	case tString:
		s, ok := e.(string)
		return ok && s == v.text
	case tNumber:
		n, ok := e.(json.Number)
		return ok && numbersSurelyEqual(v.text, string(n))
	}
	return false
}

// value checks a scalar against every node of its set.
func (p *streamProver) value(v scalar) error {
	set, ok := p.enter()
	if !ok || !p.check(set, v) {
		return errNotProved
	}
	return nil
}

func (p *streamProver) check(set span, v scalar) bool {
	for _, n := range p.nodes[set.start:set.end] {
		if !p.spend() || !p.general(n, v) {
			return false
		}
		switch v.t {
		case tString:
			if !stringKeywords(n, v.text) {
				return false
			}
		case tNumber:
			if !proveNumber(n, v.text) {
				return false
			}
		}
	}
	return true
}

// general checks type, const, enum and format; for a container (no text)
// const, enum and format are left to the library.
func (p *streamProver) general(n *fastNode, v scalar) bool {
	if n.types != 0 && n.types&v.t == 0 {
		if v.t != tNumber || n.types&tInteger == 0 || !isIntegerLiteral(v.text) {
			return false
		}
	}
	container := v.t == tObject || v.t == tArray
	if n.constVal != nil && (container || !v.equals(*n.constVal)) {
		return false
	}
	if n.enum != nil {
		if container {
			return false
		}
		found := false
		for _, e := range n.enum {
			if found = v.equals(e); found {
				break
			}
		}
		if !found {
			return false
		}
	}
	return n.format == nil || (!container && n.format.Validate(v.boxed()) == nil)
}

func (p *streamProver) open(object bool) error {
	set, ok := p.enter()
	t := tArray
	if object {
		t = tObject
	}
	if !ok || !p.check(set, scalar{t: t}) {
		return errNotProved
	}
	f := streamFrame{set: set, object: object}
	if object {
		for _, n := range p.nodes[set.start:set.end] {
			f.nRequired += len(n.required)
		}
		if f.nRequired > 64 {
			return errNotProved
		}
	}
	p.frames = append(p.frames, f)
	return nil
}

// close checks the counts of the innermost container and drops it.
func (p *streamProver) close() error {
	f := p.frames[len(p.frames)-1]
	p.frames = p.frames[:len(p.frames)-1]
	if f.object && f.nRequired > 0 && f.required != 1<<f.nRequired-1 {
		return errNotProved
	}
	for _, n := range p.nodes[f.set.start:f.set.end] {
		lo, hi := n.minItems, n.maxItems
		if f.object {
			lo, hi = n.minProps, n.maxProps
		}
		if f.count < lo || (hi >= 0 && f.count > hi) {
			return errNotProved
		}
	}
	return nil
}

func (p *streamProver) OnObjectKey(key string) error {
	f := &p.frames[len(p.frames)-1]
	f.count++
	p.nodes = p.nodes[:f.set.end]
	bit := 0
	for _, n := range p.nodes[f.set.start:f.set.end] {
		for _, name := range n.required {
			if name == key {
				f.required |= 1 << bit
			}
			bit++
		}
		if n.propertyNames != nil && !p.propertyName(n.propertyNames, key) {
			return errNotProved
		}
	}
	start := len(p.nodes)
	for _, n := range p.nodes[f.set.start:f.set.end] {
		if !p.member(n, key) {
			return errNotProved
		}
	}
	p.next = span{start, len(p.nodes)}
	return nil
}

// propertyName checks a key against propertyNames (and what applies with
// it), leaving the stack as it was.
func (p *streamProver) propertyName(n *fastNode, key string) bool {
	start := len(p.nodes)
	ok := p.expand(n) && p.check(span{start, len(p.nodes)}, scalar{t: tString, text: key})
	p.nodes = p.nodes[:start]
	return ok
}

// member adds the nodes n applies to the value of key.
func (p *streamProver) member(n *fastNode, key string) bool {
	evaluated := false
	if sub, ok := n.props[key]; ok {
		evaluated = true
		if !p.expand(sub) {
			return false
		}
	}
	for _, pp := range n.patternProps {
		if pp.re.MatchString(key) {
			evaluated = true
			if !p.expand(pp.node) {
				return false
			}
		}
	}
	switch {
	case evaluated:
		return true
	case n.noAdditional:
		return false
	}
	return p.expand(n.additional)
}

func (p *streamProver) OnNull() error           { return p.value(scalar{t: tNull}) }
func (p *streamProver) OnBool(b bool) error     { return p.value(scalar{t: tBoolean, b: b}) }
func (p *streamProver) OnString(s string) error { return p.value(scalar{t: tString, text: s}) }
func (p *streamProver) OnObjectBegin(int) error { return p.open(true) }
func (p *streamProver) OnObjectEnd() error      { return p.close() }
func (p *streamProver) OnArrayBegin(int) error  { return p.open(false) }
func (p *streamProver) OnArrayEnd() error       { return p.close() }

func (p *streamProver) OnInt64(_ int64, n json.Number) error { return p.number(string(n)) }

func (p *streamProver) OnFloat64(_ float64, n json.Number) error { return p.number(string(n)) }

// number refuses a literal over the number bounds (the library path then
// answers with its violation) before checking it.
func (p *streamProver) number(s string) error {
	if CheckNumber(s) != nil {
		return errNotProved
	}
	return p.value(scalar{t: tNumber, text: s})
}
