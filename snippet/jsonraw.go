package snippet

import (
	"encoding/json"
	"errors"
	"strings"

	"github.com/bytedance/sonic"
	"go.starlark.net/starlark"

	"github.com/caddy-endpoint/endpoint/execmode"
	"github.com/caddy-endpoint/endpoint/internal/jsonwalk"
)

// A body no schema parsed (none was set, or the schema proved it while
// walking it) is read by $jhas and $jfield from its bytes once a walk
// (the schema's, or one here) saw what request.json() would check: that it
// is an object, that every number and level converts, and that no key is
// there twice (the decoder keeps the last of them, the lookup finds the
// first); then each field is found by sonic's searcher and only it is
// decoded.

// rawCheck is the walk of one run's body and its last field lookup.
type rawCheck struct {
	jsonwalk.Walker
	// state is 0 until walked, then 1 when the fields can be read from
	// the bytes, 2 when not.
	state int8

	// the last lookup: $jfield reads the field $jhas found
	looked   bool
	key, raw string
	found    bool
}

// errRawRefused ends a walk at a number request.json() would refuse.
var errRawRefused = errors.New("left to request.json()")

// readable says once per run whether the fields of body can be read from
// its bytes. given is the schema's walk of body, used when it saw plain
// numbers; otherwise body is walked here, each number converted.
func (c *rawCheck) readable(t *starlark.Thread, body []byte, given execmode.BodyShape) bool {
	if c.state == 0 {
		charge(t, len(body))
		shape := given
		if !shape.Walked || !shape.PlainNumbers {
			c.Visitor = numberCheck{}
			c.Walk(body)
			shape = c.Shape()
		}
		c.state = 2
		if shape.Walked && shape.Object && shape.PlainKeys && shape.Levels <= maxJSONDepth+1 {
			c.state = 1
		}
	}
	return c.state == 1
}

// field finds key in a body readable said can be read from its bytes.
func (c *rawCheck) field(body []byte, key string) (raw string, found bool) {
	if !c.looked || c.key != key {
		c.raw, c.found = rawField(body, key)
		c.looked, c.key = true, key
	}
	return c.raw, c.found
}

// reset forgets the last run's body.
func (c *rawCheck) reset() {
	c.state, c.looked, c.key, c.raw = 0, false, "", ""
}

// numberCheck is the walk here: each number converts.
type numberCheck struct{ jsonwalk.Nop }

func (numberCheck) OnInt64(_ int64, n json.Number) error     { return checkNumber(string(n)) }
func (numberCheck) OnFloat64(_ float64, n json.Number) error { return checkNumber(string(n)) }

func checkNumber(s string) error {
	if !numberConverts(s) {
		return errRawRefused
	}
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
	// a number, or a string with no escape, is its text (the walk saw
	// valid UTF-8 and no control character)
	if n := len(raw); n >= 2 && raw[0] == '"' && raw[n-1] == '"' && !strings.Contains(raw[1:n-1], `\`) {
		return starlark.String(strings.Clone(raw[1 : n-1])), nil
	}
	if raw != "" && (raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9') {
		return numberValue(raw)
	}
	var v any
	if err := jsonwalk.Decoder.UnmarshalFromString(raw, &v); err != nil {
		return nil, err
	}
	return fromGo(v, 1)
}
