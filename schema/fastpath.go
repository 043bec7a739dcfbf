package schema

import (
	"encoding/json"
	"math"
	"math/big"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// The fast path proves a parsed body valid without the library's
// validator, which builds a scope, an evaluation record and error values
// for every node it visits (about 90 allocations for a 1 KB body with ten
// properties). It reads the library's own compiled *jsonschema.Schema, so
// references, regular expressions and formats are exactly the library's,
// and it covers the keywords most request schemas use: type, const, enum,
// format, $ref, allOf, anyOf, the object keywords but unevaluatedProperties,
// the array keywords but uniqueItems, maxContains and unevaluatedItems, the
// string keywords but the content ones, and the number keywords.
//
// It only ever answers "proved valid" or "not proved": a body it does not
// prove (invalid, or reaching a keyword or a number it does not evaluate
// exactly) is validated again by the library, whose answer and violations
// are the ones returned. So it can make a valid body cheaper but never
// change an answer; the official test suite checks that it proves nothing
// the suite says is invalid.

// fastTypes is a set of JSON types.
type fastTypes uint8

const (
	tNull fastTypes = 1 << iota
	tBoolean
	tNumber
	tInteger
	tString
	tArray
	tObject
)

var fastTypeNames = map[string]fastTypes{
	"null": tNull, "boolean": tBoolean, "number": tNumber, "integer": tInteger,
	"string": tString, "array": tArray, "object": tObject,
}

// fastBound is a numeric keyword's value as a float64, with whether that
// float is the keyword's exact value.
type fastBound struct {
	set, exact bool
	f          float64
}

func newBound(r *big.Rat) fastBound {
	if r == nil {
		return fastBound{}
	}
	f, exact := r.Float64()
	return fastBound{set: true, exact: exact && !math.IsInf(f, 0), f: f}
}

type patternSchema struct {
	re   jsonschema.Regexp
	node *fastNode
}

// fastNode is one compiled schema as the fast path evaluates it.
type fastNode struct {
	// unsupported: the schema uses a keyword the fast path does not
	// evaluate; proving a value against it fails (the library decides).
	unsupported bool
	// never is the false schema; a node with it set proves nothing.
	never bool

	types    fastTypes
	constVal *any
	enum     []any
	format   *jsonschema.Format
	ref      *fastNode
	allOf    []*fastNode
	anyOf    []*fastNode

	minProps, maxProps int
	required           []string
	props              map[string]*fastNode
	patternProps       []patternSchema
	additional         *fastNode
	noAdditional       bool
	propertyNames      *fastNode
	dependentRequired  map[string][]string
	dependentSchemas   map[string]*fastNode

	minItems, maxItems int
	prefix             []*fastNode
	items              *fastNode
	contains           *fastNode
	minContains        int

	minLen, maxLen int
	pattern        jsonschema.Regexp

	minimum, maximum, exMinimum, exMaximum fastBound
	multipleOf                             *big.Rat
}

// fastHandled are the exported fields of jsonschema.Schema the fast path
// evaluates or that carry no assertion (identifiers and annotations). A
// schema with any other field set (a keyword the fast path leaves to the
// library, or one a later library version adds) is unsupported.
var fastHandled = map[string]bool{
	"DraftVersion": true, "Location": true, "Bool": true, "ID": true, "Ref": true,
	"Anchor": true, "DynamicAnchor": true, "RecursiveAnchor": true,
	"Types": true, "Enum": true, "Const": true, "AllOf": true, "AnyOf": true, "Format": true,
	"MaxProperties": true, "MinProperties": true, "Required": true, "PropertyNames": true,
	"Properties": true, "PatternProperties": true, "AdditionalProperties": true,
	"DependentRequired": true, "DependentSchemas": true,
	"MinItems": true, "MaxItems": true, "Contains": true, "MinContains": true,
	"PrefixItems": true, "Items2020": true,
	"MinLength": true, "MaxLength": true, "Pattern": true,
	"Maximum": true, "Minimum": true, "ExclusiveMaximum": true, "ExclusiveMinimum": true, "MultipleOf": true,
	"Title": true, "Description": true, "Default": true, "Comment": true,
	"ReadOnly": true, "WriteOnly": true, "Examples": true, "Deprecated": true,
	// the only extension is the validation clock (clock.go), which
	// asserts nothing
	"Extensions": true,
}

// fastCompiler turns library schemas into fast nodes, each schema once.
type fastCompiler struct {
	nodes map[*jsonschema.Schema]*fastNode
}

// compileFast builds the fast path of a compiled schema, or nil when its
// root is one the fast path cannot evaluate at all.
func compileFast(s *jsonschema.Schema) *fastNode {
	c := fastCompiler{nodes: map[*jsonschema.Schema]*fastNode{}}
	root := c.node(s)
	c.markCycles()
	if root.unsupported {
		return nil
	}
	return root
}

func (c *fastCompiler) node(s *jsonschema.Schema) *fastNode {
	if s == nil {
		return nil
	}
	if n, ok := c.nodes[s]; ok {
		return n
	}
	n := &fastNode{minProps: -1, maxProps: -1, minItems: -1, maxItems: -1, minLen: -1, maxLen: -1}
	c.nodes[s] = n
	if !onlyHandledFields(s) || s.DraftVersion < 2020 {
		n.unsupported = true
		return n
	}
	if s.Bool != nil {
		n.never = !*s.Bool
		return n
	}
	c.general(n, s)
	c.object(n, s)
	c.array(n, s)
	c.scalar(n, s)
	return n
}

func onlyHandledFields(s *jsonschema.Schema) bool {
	v := reflect.ValueOf(s).Elem()
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if f.IsExported() && !fastHandled[f.Name] && !v.Field(i).IsZero() {
			return false
		}
	}
	return true
}

func (c *fastCompiler) general(n *fastNode, s *jsonschema.Schema) {
	if s.Types != nil {
		for _, name := range s.Types.ToStrings() {
			n.types |= fastTypeNames[name]
		}
	}
	n.constVal = s.Const
	if s.Enum != nil {
		n.enum = s.Enum.Values
	}
	n.format = s.Format
	n.ref = c.node(s.Ref)
	for _, sub := range s.AllOf {
		n.allOf = append(n.allOf, c.node(sub))
	}
	for _, sub := range s.AnyOf {
		n.anyOf = append(n.anyOf, c.node(sub))
	}
}

func (c *fastCompiler) object(n *fastNode, s *jsonschema.Schema) {
	n.minProps, n.maxProps = intOr(s.MinProperties), intOr(s.MaxProperties)
	n.required = s.Required
	if len(s.Properties) > 0 {
		n.props = make(map[string]*fastNode, len(s.Properties))
		for name, sub := range s.Properties {
			n.props[name] = c.node(sub)
		}
	}
	for re, sub := range s.PatternProperties {
		n.patternProps = append(n.patternProps, patternSchema{re: re, node: c.node(sub)})
	}
	switch a := s.AdditionalProperties.(type) {
	case bool:
		n.noAdditional = !a
	case *jsonschema.Schema:
		n.additional = c.node(a)
	}
	n.propertyNames = c.node(s.PropertyNames)
	n.dependentRequired = s.DependentRequired
	if len(s.DependentSchemas) > 0 {
		n.dependentSchemas = make(map[string]*fastNode, len(s.DependentSchemas))
		for name, sub := range s.DependentSchemas {
			n.dependentSchemas[name] = c.node(sub)
		}
	}
}

func (c *fastCompiler) array(n *fastNode, s *jsonschema.Schema) {
	n.minItems, n.maxItems = intOr(s.MinItems), intOr(s.MaxItems)
	for _, sub := range s.PrefixItems {
		n.prefix = append(n.prefix, c.node(sub))
	}
	n.items = c.node(s.Items2020)
	n.contains = c.node(s.Contains)
	n.minContains = 1
	if s.MinContains != nil {
		n.minContains = *s.MinContains
	}
}

func (c *fastCompiler) scalar(n *fastNode, s *jsonschema.Schema) {
	n.minLen, n.maxLen = intOr(s.MinLength), intOr(s.MaxLength)
	n.pattern = s.Pattern
	n.minimum, n.maximum = newBound(s.Minimum), newBound(s.Maximum)
	n.exMinimum, n.exMaximum = newBound(s.ExclusiveMinimum), newBound(s.ExclusiveMaximum)
	n.multipleOf = s.MultipleOf
}

func intOr(p *int) int {
	if p == nil {
		return -1
	}
	return *p
}

// sameLevel are the nodes n applies to the same value it is given.
func (n *fastNode) sameLevel() []*fastNode {
	out := append([]*fastNode{n.ref}, n.allOf...)
	out = append(out, n.anyOf...)
	for _, d := range n.dependentSchemas {
		out = append(out, d)
	}
	return out
}

// markCycles marks unsupported a node reached again through $ref, allOf,
// anyOf or dependentSchemas without descending into a property or an
// item: the library reports such a cycle as an error, and proving through
// it would not end. It is a depth-first search of those edges from every
// node: the target of each back edge is on a cycle.
func (c *fastCompiler) markCycles() {
	const onPath, done = 1, 2
	state := make(map[*fastNode]int, len(c.nodes))
	var visit func(n *fastNode)
	visit = func(n *fastNode) {
		state[n] = onPath
		for _, m := range n.sameLevel() {
			switch {
			case m == nil:
			case state[m] == onPath:
				m.unsupported = true
			case state[m] == 0:
				visit(m)
			}
		}
		state[n] = done
	}
	for _, n := range c.nodes {
		if state[n] == 0 {
			visit(n)
		}
	}
}

// prover walks one document. Its step budget keeps the walk linear in the
// body: a schema whose anyOf branches make it revisit values gives up (the
// library then decides).
type prover struct {
	steps int
}

// proves reports whether doc, a body of size bytes parsed with numbers as
// json.Number, is valid against n.
func (n *fastNode) proves(doc any, size int) bool {
	p := prover{steps: 64*size + 1024}
	return p.value(n, doc)
}

func (p *prover) spend() bool {
	p.steps--
	return p.steps >= 0
}

func (p *prover) value(n *fastNode, v any) bool {
	if n == nil {
		return true
	}
	if n.unsupported || n.never || !p.spend() {
		return false
	}
	switch x := v.(type) {
	case string:
		return p.str(n, x, v)
	case json.Number:
		return p.general(n, tNumber, v) && proveNumber(n, string(x))
	case map[string]any:
		return p.general(n, tObject, v) && p.object(n, x)
	case []any:
		return p.general(n, tArray, v) && p.array(n, x)
	case bool:
		return p.general(n, tBoolean, v)
	case nil:
		return p.general(n, tNull, v)
	}
	return false
}

// general checks the keywords of every type: type, const, enum, format,
// $ref, allOf, anyOf.
func (p *prover) general(n *fastNode, t fastTypes, v any) bool {
	if n.types != 0 && n.types&t == 0 {
		if t != tNumber || n.types&tInteger == 0 || !isIntegerLiteral(string(v.(json.Number))) {
			return false
		}
	}
	if n.constVal != nil && !surelyEqual(v, *n.constVal) {
		return false
	}
	if n.enum != nil && !inEnum(v, n.enum) {
		return false
	}
	if n.format != nil && n.format.Validate(v) != nil {
		return false
	}
	if !p.value(n.ref, v) {
		return false
	}
	for _, sub := range n.allOf {
		if !p.value(sub, v) {
			return false
		}
	}
	if len(n.anyOf) == 0 {
		return true
	}
	for _, sub := range n.anyOf {
		if p.value(sub, v) {
			return true
		}
	}
	return false
}

// str checks a string; boxed is s as an interface value, nil for a
// property name (boxed only if a keyword needs it).
func (p *prover) str(n *fastNode, s string, boxed any) bool {
	if boxed == nil && (n.constVal != nil || n.enum != nil || n.format != nil || n.ref != nil || n.allOf != nil || n.anyOf != nil) {
		boxed = s
	}
	if boxed != nil && !p.general(n, tString, boxed) {
		return false
	}
	if boxed == nil && n.types != 0 && n.types&tString == 0 {
		return false
	}
	return stringKeywords(n, s)
}

// stringKeywords checks minLength, maxLength and pattern.
func stringKeywords(n *fastNode, s string) bool {
	if !lengthSurelyWithin(len(s), n.minLen, n.maxLen) {
		l := utf8.RuneCountInString(s)
		if l < n.minLen || (n.maxLen >= 0 && l > n.maxLen) {
			return false
		}
	}
	return n.pattern == nil || n.pattern.MatchString(s)
}

// lengthSurelyWithin reports whether a string of size bytes holds between
// minLen and maxLen characters (a bound < 0 is unset) whatever its bytes:
// it has at most size and at least ceil(size/4) of them.
func lengthSurelyWithin(size, minLen, maxLen int) bool {
	return (maxLen < 0 || size <= maxLen) && (minLen <= 0 || (size+3)/4 >= minLen)
}

func (p *prover) object(n *fastNode, obj map[string]any) bool {
	if len(obj) < n.minProps || (n.maxProps >= 0 && len(obj) > n.maxProps) {
		return false
	}
	for _, name := range n.required {
		if _, ok := obj[name]; !ok {
			return false
		}
	}
	for name, v := range obj {
		if !p.property(n, name, v) {
			return false
		}
	}
	for name, deps := range n.dependentRequired {
		if _, ok := obj[name]; ok {
			for _, d := range deps {
				if _, ok := obj[d]; !ok {
					return false
				}
			}
		}
	}
	for name, sub := range n.dependentSchemas {
		if _, ok := obj[name]; ok && !p.value(sub, obj) {
			return false
		}
	}
	return true
}

func (p *prover) property(n *fastNode, name string, v any) bool {
	if n.propertyNames != nil && (!p.spend() || !p.propertyName(n.propertyNames, name)) {
		return false
	}
	evaluated := false
	if sub, ok := n.props[name]; ok {
		evaluated = true
		if !p.value(sub, v) {
			return false
		}
	}
	for _, pp := range n.patternProps {
		if pp.re.MatchString(name) {
			evaluated = true
			if !p.value(pp.node, v) {
				return false
			}
		}
	}
	if evaluated {
		return true
	}
	if n.noAdditional {
		return false
	}
	return p.value(n.additional, v)
}

func (p *prover) propertyName(n *fastNode, name string) bool {
	if n.unsupported || n.never {
		return false
	}
	return p.str(n, name, nil)
}

func (p *prover) array(n *fastNode, arr []any) bool {
	if len(arr) < n.minItems || (n.maxItems >= 0 && len(arr) > n.maxItems) {
		return false
	}
	for i, v := range arr {
		sub := n.items
		if i < len(n.prefix) {
			sub = n.prefix[i]
		}
		if !p.value(sub, v) {
			return false
		}
	}
	if n.contains == nil || n.minContains == 0 {
		return true
	}
	matched := 0
	for _, v := range arr {
		if p.value(n.contains, v) {
			if matched++; matched >= n.minContains {
				return true
			}
		}
	}
	return false
}

// isIntegerLiteral reports whether a JSON number is written without a
// fraction or an exponent (so it is an integer; 1.0 is one too, but is
// left to the library).
func isIntegerLiteral(s string) bool {
	return !strings.ContainsAny(s, ".eE")
}

// proveNumber checks the number keywords against the literal s. A float64
// approximates s within a relative 2^-53; a comparison is proved only when
// the approximation is farther than that from an exactly representable
// bound, else it is left to the library's exact rationals.
func proveNumber(n *fastNode, s string) bool {
	if !n.minimum.set && !n.maximum.set && !n.exMinimum.set && !n.exMaximum.set && n.multipleOf == nil {
		return true
	}
	lo, hi, ok := numberRange(s)
	if !ok {
		return false
	}
	if n.minimum.set && (!n.minimum.exact || lo < n.minimum.f) ||
		n.exMinimum.set && (!n.exMinimum.exact || lo <= n.exMinimum.f) ||
		n.maximum.set && (!n.maximum.exact || hi > n.maximum.f) ||
		n.exMaximum.set && (!n.exMaximum.exact || hi >= n.exMaximum.f) {
		return false
	}
	return n.multipleOf == nil || proveMultiple(s, n.multipleOf)
}

// numberRange bounds the value of the literal s: lo <= s <= hi. An integer
// literal within ±2^53 is exact (lo == hi).
func numberRange(s string) (lo, hi float64, ok bool) {
	if isIntegerLiteral(s) {
		if i, err := strconv.ParseInt(s, 10, 64); err == nil && i <= 1<<53 && i >= -(1<<53) {
			return float64(i), float64(i), true
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) {
		return 0, 0, false
	}
	if f == 0 {
		// Zero only when every digit is: 1e-400 also parses to 0.
		if strings.Trim(strings.SplitN(strings.ToLower(s), "e", 2)[0], "-+0.") != "" {
			return 0, 0, false
		}
		return 0, 0, true
	}
	a := math.Abs(f)
	if a < 0x1p-1000 {
		return 0, 0, false
	}
	margin := a * 0x1p-50
	return f - margin, f + margin, true
}

// proveMultiple is multipleOf for an integer literal and an integer
// divisor, both within int64; anything else is left to the library.
func proveMultiple(s string, m *big.Rat) bool {
	if !isIntegerLiteral(s) || !m.IsInt() || !m.Num().IsInt64() {
		return false
	}
	i, err := strconv.ParseInt(s, 10, 64)
	d := m.Num().Int64()
	return err == nil && d > 0 && i%d == 0
}

func inEnum(v any, values []any) bool {
	for _, e := range values {
		if surelyEqual(v, e) {
			return true
		}
	}
	return false
}

// surelyEqual reports whether a and b are equal JSON values when that is
// certain without exact number arithmetic: numbers are equal when written
// alike or as the same integer.
func surelyEqual(a, b any) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case string:
		y, ok := b.(string)
		return ok && x == y
	case json.Number:
		y, ok := b.(json.Number)
		return ok && numbersSurelyEqual(string(x), string(y))
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !surelyEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, xv := range x {
			yv, ok := y[k]
			if !ok || !surelyEqual(xv, yv) {
				return false
			}
		}
		return true
	}
	return false
}

// numbersSurelyEqual: two number literals written alike or as the same
// int64.
func numbersSurelyEqual(x, y string) bool {
	if x == y {
		return true
	}
	xi, xerr := strconv.ParseInt(x, 10, 64)
	yi, yerr := strconv.ParseInt(y, 10, 64)
	return xerr == nil && yerr == nil && xi == yi
}
