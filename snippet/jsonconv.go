package snippet

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	startime "go.starlark.net/lib/time"
	"go.starlark.net/starlark"
)

// maxJSONDepth bounds the nesting of values converted to or from JSON, so
// that a cyclic list (a list that holds itself) fails instead of recursing
// forever.
const maxJSONDepth = 200

// appendJSON appends the JSON encoding of v to buf. Dicts keep their
// insertion order; time values are RFC 3339 strings and durations their
// Go string ("1h30m0s"); bytes, sets and other values are refused.
//
// limit (0: none) is the largest encoding in bytes; past it the encoding
// stops with a *memoryError.
func appendJSON(buf []byte, v starlark.Value, depth, limit int) ([]byte, error) {
	if depth > maxJSONDepth {
		return nil, errors.New("value is nested too deeply (or holds itself)")
	}
	if limit > 0 && len(buf) > limit {
		return nil, &memoryError{what: "the JSON encoding", size: int64(len(buf)), limit: int64(limit)}
	}
	switch x := v.(type) {
	case starlark.NoneType:
		return append(buf, "null"...), nil
	case starlark.Bool:
		if x {
			return append(buf, "true"...), nil
		}
		return append(buf, "false"...), nil
	case starlark.Int:
		if i, ok := x.Int64(); ok {
			return strconv.AppendInt(buf, i, 10), nil
		}
		return x.BigInt().Append(buf, 10), nil
	case starlark.Float:
		f := float64(x)
		if math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, fmt.Errorf("cannot encode non-finite float %v", x)
		}
		return append(buf, x.String()...), nil
	case starlark.String:
		return appendQuoted(buf, string(x)), nil
	case startime.Time:
		return appendQuoted(buf, time.Time(x).Format(time.RFC3339Nano)), nil
	case startime.Duration:
		return appendQuoted(buf, time.Duration(x).String()), nil
	case *starlark.Dict:
		return appendJSONObject(buf, x, depth, limit)
	case *starlark.List, starlark.Tuple:
		return appendJSONArray(buf, x.(starlark.Indexable), depth, limit)
	}
	return nil, fmt.Errorf("cannot encode a %s as JSON", v.Type())
}

// appendJSONObject is appendJSON of a dict, whose keys must be strings.
func appendJSONObject(buf []byte, x *starlark.Dict, depth, limit int) ([]byte, error) {
	buf = append(buf, '{')
	for i, item := range x.Items() {
		k, ok := item[0].(starlark.String)
		if !ok {
			return nil, fmt.Errorf("dict key %s is a %s, want string", item[0], item[0].Type())
		}
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = appendQuoted(buf, string(k))
		buf = append(buf, ':')
		var err error
		if buf, err = appendJSON(buf, item[1], depth+1, limit); err != nil {
			return nil, err
		}
	}
	return append(buf, '}'), nil
}

// appendJSONArray is appendJSON of a list or tuple.
func appendJSONArray(buf []byte, seq starlark.Indexable, depth, limit int) ([]byte, error) {
	buf = append(buf, '[')
	for i := range seq.Len() {
		if i > 0 {
			buf = append(buf, ',')
		}
		var err error
		if buf, err = appendJSON(buf, seq.Index(i), depth+1, limit); err != nil {
			return nil, err
		}
	}
	return append(buf, ']'), nil
}

// encodeJSON is appendJSON into a new buffer, up to limit bytes.
func encodeJSON(v starlark.Value, limit int64) ([]byte, error) {
	buf, err := appendJSON(make([]byte, 0, 64), v, 0, int(limit))
	if err == nil && limit > 0 && int64(len(buf)) > limit {
		return nil, &memoryError{what: "the JSON encoding", size: int64(len(buf)), limit: limit}
	}
	return buf, err
}

const hexDigits = "0123456789abcdef"

// appendQuoted appends s as a JSON string; invalid UTF-8 becomes U+FFFD.
func appendQuoted(buf []byte, s string) []byte {
	buf = append(buf, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			buf = append(buf, s[start:i]...)
			switch c {
			case '"', '\\':
				buf = append(buf, '\\', c)
			case '\n':
				buf = append(buf, '\\', 'n')
			case '\r':
				buf = append(buf, '\\', 'r')
			case '\t':
				buf = append(buf, '\\', 't')
			default:
				buf = append(buf, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			buf = append(buf, s[start:i]...)
			buf = append(buf, "\\ufffd"...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			buf = append(buf, s[start:i]...)
			buf = append(buf, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"')
}

// decodeJSON parses one JSON document into Starlark values: objects
// become dicts (keys sorted), arrays lists, numbers ints unless they have
// a fraction or an exponent.
func decodeJSON(data []byte) (starlark.Value, error) {
	// encoding/json would replace invalid UTF-8 by U+FFFD: refuse it
	if !utf8.Valid(data) {
		return nil, errors.New("invalid JSON: not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("invalid JSON: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("invalid JSON: data after the top-level value")
	}
	return fromGo(v, 0)
}

// fromGo converts a value decoded by encoding/json (numbers as
// json.Number or float64) into Starlark values.
func fromGo(v any, depth int) (starlark.Value, error) {
	if depth > maxJSONDepth+1 {
		return nil, errors.New("JSON is nested too deeply")
	}
	switch x := v.(type) {
	case nil:
		return starlark.None, nil
	case bool:
		return starlark.Bool(x), nil
	case string:
		return starlark.String(x), nil
	case json.Number:
		return numberValue(string(x))
	case float64:
		return starlark.Float(x), nil
	case int:
		return starlark.MakeInt(x), nil
	case int64:
		return starlark.MakeInt64(x), nil
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		d := starlark.NewDict(len(x))
		for _, k := range keys {
			e, err := fromGo(x[k], depth+1)
			if err != nil {
				return nil, err
			}
			if err := d.SetKey(starlark.String(k), e); err != nil {
				return nil, err
			}
		}
		return d, nil
	case []any:
		elems := make([]starlark.Value, len(x))
		for i, e := range x {
			var err error
			if elems[i], err = fromGo(e, depth+1); err != nil {
				return nil, err
			}
		}
		return starlark.NewList(elems), nil
	}
	return nil, fmt.Errorf("cannot convert a Go %T to a Starlark value", v)
}

// maxIntDigits bounds the digits of a JSON integer turned into a Starlark
// int: converting decimal text to a big integer costs time quadratic in
// its length.
const maxIntDigits = 4300

// numberValue converts a JSON number: an int when it has no fraction or
// exponent, else a float. A number beyond float64's range (1e400) or an
// integer longer than maxIntDigits is an error.
func numberValue(s string) (starlark.Value, error) {
	if strings.ContainsAny(s, ".eE") {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, numberError("JSON number " + shortText(s) + " is out of the range of a float")
		}
		return starlark.Float(f), nil
	}
	if len(s) > maxIntDigits+1 {
		return nil, numberError(fmt.Sprintf("JSON integer %s has more than %d digits", shortText(s), maxIntDigits))
	}
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return starlark.MakeInt64(i), nil
	}
	b, ok := new(big.Int).SetString(s, 10)
	if !ok {
		return nil, fmt.Errorf("invalid JSON number %q", s)
	}
	return starlark.MakeBigInt(b), nil
}

// numberError is a JSON number a Starlark value cannot hold.
type numberError string

func (e numberError) Error() string { return string(e) }

// shortText quotes at most the first 24 bytes of s for a message.
func shortText(s string) string {
	if len(s) > 24 {
		return s[:24] + "…"
	}
	return s
}
