// Package jsonwalk visits a JSON body without building it, for the
// request path's checks that need to see every value once but keep none:
// sonic's validator and pre-order visitor, held to exactly the documents
// sonic's decoder accepts with string validation (the parser the schema
// validator and request.json() use).
package jsonwalk

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"unicode/utf8"
	"unsafe"

	"github.com/bytedance/sonic"
	"github.com/bytedance/sonic/ast"

	"github.com/caddy-endpoint/endpoint/execmode"
)

// Decoder is the parser Walk agrees with: numbers as json.Number,
// strings checked for valid UTF-8 and control characters. sonic parses
// about three times faster than encoding/json, which matters on the
// request path; it falls back to encoding/json on platforms it does not
// accelerate.
var Decoder = sonic.Config{UseNumber: true, ValidateString: true}.Froze()

// Visitor is sonic's pre-order visitor. Numbers come as their literal
// (the float64 and int64 arguments are zero). The strings it is given
// are only valid during the call: keep none of them past Walk.
type Visitor = ast.Visitor

// Walker visits bodies for one Visitor. Keep it in the visitor's own
// struct, so that walking allocates nothing of its own.
type Walker struct {
	Visitor Visitor

	// the shape of the body being walked
	shape Shape
	depth int32
	keys  []string
}

// MaxTopKeys is the most top-level keys a walk compares for duplicates
// (Shape.PlainKeys is false past it).
const MaxTopKeys = 64

// Shape is what a walk saw of a body's form as a by-product, for readers
// that look fields up in the bytes: the decoder keeps the last of two
// equal keys where a lookup finds the first, and levels and numbers may be
// more than the reader converts. It is the exec-mode contract's type, so
// that a walk's shape reaches an exec mode as it is.
type Shape = execmode.BodyShape

// Shape is what the last Walk saw.
func (w *Walker) Shape() Shape { return w.shape }

// ShapeOf walks body for its shape alone.
func ShapeOf(body []byte) Shape {
	w := &Walker{Visitor: Nop{}}
	w.Walk(body)
	return w.shape
}

// Nop is a Visitor that checks nothing; embed it to check some values.
type Nop struct{}

func (Nop) OnNull() error                        { return nil }
func (Nop) OnBool(bool) error                    { return nil }
func (Nop) OnString(string) error                { return nil }
func (Nop) OnInt64(int64, json.Number) error     { return nil }
func (Nop) OnFloat64(float64, json.Number) error { return nil }
func (Nop) OnObjectBegin(int) error              { return nil }
func (Nop) OnObjectEnd() error                   { return nil }
func (Nop) OnObjectKey(string) error             { return nil }
func (Nop) OnArrayBegin(int) error               { return nil }
func (Nop) OnArrayEnd() error                    { return nil }

// errControl stops a walk at a string holding a control character.
var errControl = errors.New("control character in a string")

// numbersOnly hands numbers to the visitor as literals, unconverted.
var numbersOnly = &ast.VisitorOptions{OnlyNumber: true}

// Walk reports whether body is one JSON document (what sonic's decoder
// with ValidateString accepts) and the visitor returned no error. A string
// or key holding a control character, escaped or not, ends the walk with
// false: sonic's validator lets raw ones through where the decoder does
// not, and a decoded string cannot tell them apart.
func (w *Walker) Walk(body []byte) bool {
	w.shape = Shape{PlainKeys: true, PlainNumbers: true}
	w.depth, w.keys = 0, w.keys[:0]
	ok := len(body) > 0 && utf8.Valid(body) && sonic.Valid(body) &&
		ast.Preorder(unsafe.String(unsafe.SliceData(body), len(body)), w, numbersOnly) == nil
	clear(w.keys)
	if !ok {
		w.shape = Shape{}
	}
	w.shape.Walked = ok
	return ok
}

// value notes a value at the current level.
func (w *Walker) value() {
	w.shape.Levels = max(w.shape.Levels, w.depth)
}

// open notes a container opening.
func (w *Walker) open(object bool) {
	if w.depth == 0 {
		w.shape.Object = object
	}
	w.value()
	w.depth++
}

func (w *Walker) number(n json.Number) {
	w.value()
	if len(n) >= 300 {
		w.shape.PlainNumbers = false
		return
	}
	for i := range len(n) {
		if n[i]|0x20 == 'e' {
			w.shape.PlainNumbers = false
			return
		}
	}
}

func (w *Walker) OnNull() error       { w.value(); return w.Visitor.OnNull() }
func (w *Walker) OnBool(v bool) error { w.value(); return w.Visitor.OnBool(v) }

func (w *Walker) OnInt64(_ int64, n json.Number) error {
	w.number(n)
	return w.Visitor.OnInt64(0, n)
}

func (w *Walker) OnFloat64(_ float64, n json.Number) error {
	w.number(n)
	return w.Visitor.OnFloat64(0, n)
}

func (w *Walker) OnObjectBegin(c int) error { w.open(true); return w.Visitor.OnObjectBegin(c) }
func (w *Walker) OnArrayBegin(c int) error  { w.open(false); return w.Visitor.OnArrayBegin(c) }
func (w *Walker) OnObjectEnd() error        { w.depth--; return w.Visitor.OnObjectEnd() }
func (w *Walker) OnArrayEnd() error         { w.depth--; return w.Visitor.OnArrayEnd() }

func (w *Walker) OnString(s string) error {
	if HasControl(s) {
		return errControl
	}
	w.value()
	return w.Visitor.OnString(s)
}

func (w *Walker) OnObjectKey(k string) error {
	if HasControl(k) {
		return errControl
	}
	if w.depth == 1 && w.shape.PlainKeys {
		if len(w.keys) == MaxTopKeys || slices.Contains(w.keys, k) || hasReplacement(k) {
			w.shape.PlainKeys = false
		} else {
			w.keys = append(w.keys, k)
		}
	}
	return w.Visitor.OnObjectKey(k)
}

// HasControl reports whether s holds a byte below 0x20, eight bytes at a
// time.
func HasControl(s string) bool {
	const highs, limit = 0x8080808080808080, 0x20 * 0x0101010101010101
	b := unsafe.Slice(unsafe.StringData(s), len(s))
	i := 0
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		// a byte below 0x20 borrows into its high bit (see "Bit
		// Twiddling Hacks", hasless)
		if (x-limit)&^x&highs != 0 {
			return true
		}
	}
	for ; i < len(b); i++ {
		if b[i] < 0x20 {
			return true
		}
	}
	return false
}

// hasReplacement reports whether k holds U+FFFD (EF BF BD).
func hasReplacement(k string) bool {
	return strings.IndexByte(k, 0xEF) >= 0 && strings.Contains(k, "\uFFFD")
}
