package snippet

import (
	"encoding/json"
	"errors"
	"slices"

	"github.com/bytedance/sonic"
	"go.starlark.net/starlark"

	"github.com/caddy-endpoint/endpoint/internal/jsonwalk"
)

// A body no schema parsed (none was set, or the schema proved it while
// walking it) is read by $jhas and $jfield from its bytes: one walk checks
// what request.json() would: that it is an object, that every number and
// level converts, and that no key is there twice (the decoder keeps the
// last of them, the lookup finds the first); then each field is found by
// sonic's searcher and only it is decoded.

// maxRawKeys is the most top-level keys the walk compares for duplicates;
// a body with more is left to request.json().
const maxRawKeys = 64

// rawCheck is the walk of one run's body.
type rawCheck struct {
	jsonwalk.Walker
	// state is 0 until walked, then 1 when the fields can be read from
	// the bytes, 2 when not.
	state int8
	depth int
	keys  []string
}

// errRawRefused ends a walk that found what request.json() would refuse
// or what the lookup cannot read alike.
var errRawRefused = errors.New("left to request.json()")

// readable walks body once per run.
func (c *rawCheck) readable(t *starlark.Thread, body []byte) bool {
	if c.state == 0 {
		charge(t, len(body))
		c.Visitor, c.depth, c.keys = c, 0, c.keys[:0]
		c.state = 2
		if c.Walk(body) {
			c.state = 1
		}
		clear(c.keys)
	}
	return c.state == 1
}

// at checks a value's level as fromGo does.
func (c *rawCheck) at() error {
	if c.depth > maxJSONDepth+1 {
		return errRawRefused
	}
	return nil
}

func (c *rawCheck) open(object bool) error {
	if c.depth == 0 && !object {
		return errRawRefused
	}
	err := c.at()
	c.depth++
	return err
}

func (c *rawCheck) scalar() error {
	if c.depth == 0 {
		return errRawRefused
	}
	return c.at()
}

func (c *rawCheck) OnNull() error           { return c.scalar() }
func (c *rawCheck) OnBool(bool) error       { return c.scalar() }
func (c *rawCheck) OnString(string) error   { return c.scalar() }
func (c *rawCheck) OnObjectBegin(int) error { return c.open(true) }
func (c *rawCheck) OnArrayBegin(int) error  { return c.open(false) }
func (c *rawCheck) OnObjectEnd() error      { c.depth--; return nil }
func (c *rawCheck) OnArrayEnd() error       { c.depth--; return nil }

func (c *rawCheck) OnInt64(_ int64, n json.Number) error { return c.number(string(n)) }

func (c *rawCheck) OnFloat64(_ float64, n json.Number) error { return c.number(string(n)) }

func (c *rawCheck) number(s string) error {
	if !numberConverts(s) {
		return errRawRefused
	}
	return c.scalar()
}

func (c *rawCheck) OnObjectKey(k string) error {
	if c.depth != 1 {
		return nil
	}
	if len(c.keys) == maxRawKeys || slices.Contains(c.keys, k) {
		return errRawRefused
	}
	c.keys = append(c.keys, k)
	return nil
}

// rawField finds key in a body readable says can be read from its bytes.
func rawField(body []byte, key string) (raw string, found bool) {
	n, err := sonic.Get(body, key)
	if err != nil {
		return "", false
	}
	raw, err = n.Raw()
	return raw, err == nil
}

// decodeRaw decodes one field found by rawField (valid JSON, its numbers
// and levels checked by the walk).
func decodeRaw(raw string) (starlark.Value, error) {
	var v any
	if err := jsonwalk.Decoder.UnmarshalFromString(raw, &v); err != nil {
		return nil, err
	}
	return fromGo(v, 1)
}
