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
	"unicode/utf8"
	"unsafe"

	"github.com/bytedance/sonic"
	"github.com/bytedance/sonic/ast"
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
}

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
	if len(body) == 0 || !utf8.Valid(body) || !sonic.Valid(body) {
		return false
	}
	return ast.Preorder(unsafe.String(unsafe.SliceData(body), len(body)), w, numbersOnly) == nil
}

func (w *Walker) OnNull() error                            { return w.Visitor.OnNull() }
func (w *Walker) OnBool(v bool) error                      { return w.Visitor.OnBool(v) }
func (w *Walker) OnInt64(_ int64, n json.Number) error     { return w.Visitor.OnInt64(0, n) }
func (w *Walker) OnFloat64(_ float64, n json.Number) error { return w.Visitor.OnFloat64(0, n) }
func (w *Walker) OnObjectBegin(c int) error                { return w.Visitor.OnObjectBegin(c) }
func (w *Walker) OnObjectEnd() error                       { return w.Visitor.OnObjectEnd() }
func (w *Walker) OnArrayBegin(c int) error                 { return w.Visitor.OnArrayBegin(c) }
func (w *Walker) OnArrayEnd() error                        { return w.Visitor.OnArrayEnd() }

func (w *Walker) OnString(s string) error {
	if HasControl(s) {
		return errControl
	}
	return w.Visitor.OnString(s)
}

func (w *Walker) OnObjectKey(k string) error {
	if HasControl(k) {
		return errControl
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
