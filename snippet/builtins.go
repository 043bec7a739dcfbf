package snippet

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"

	startime "go.starlark.net/lib/time"
	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
)

// MaxLogMessage is the longest log() message, in bytes; longer ones are
// cut.
const MaxLogMessage = 8 << 10

// maxUserMessage is the longest message an error builtin sends to the
// client, in bytes.
const maxUserMessage = 1 << 10

// userError is a failure raised on purpose by an error builtin.
type userError struct {
	status  int
	message string
}

func (e *userError) Error() string { return fmt.Sprintf("%d %s", e.status, e.message) }

// errorBuiltin makes NotFound, BadRequest, ...: fn(message=default) fails
// the snippet with status and the message.
func errorBuiltin(name string, status int, fallback string) *starlark.Builtin {
	return starlark.NewBuiltin(name, func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var msg starlark.Value
		if err := starlark.UnpackArgs(b.Name(), args, kwargs, "message?", &msg); err != nil {
			return nil, err
		}
		text := fallback
		if msg != nil && msg != starlark.None {
			if s, ok := msg.(starlark.String); ok {
				text = string(s)
			} else {
				text = msg.String()
			}
		}
		return nil, &userError{status: status, message: truncate(text, maxUserMessage)}
	})
}

// truncate cuts s to at most n bytes on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}

// logFunc is log(message, level="info"), bound to a run.
type logFunc struct{ r *run }

var logLevels = map[string]bool{"debug": true, "info": true, "warn": true, "error": true}

func (l *logFunc) Name() string         { return "log" }
func (l *logFunc) String() string       { return "<built-in function log>" }
func (l *logFunc) Type() string         { return "builtin_function_or_method" }
func (l *logFunc) Freeze()              {}
func (l *logFunc) Truth() starlark.Bool { return true }
func (l *logFunc) Hash() (uint32, error) {
	return 0, errors.New("unhashable type: builtin_function_or_method")
}

func (l *logFunc) CallInternal(_ *starlark.Thread, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var msg starlark.Value
	level := "info"
	if err := starlark.UnpackArgs("log", args, kwargs, "message", &msg, "level?", &level); err != nil {
		return nil, err
	}
	if !logLevels[level] {
		return nil, fmt.Errorf("log: level %q is not one of debug, info, warn, error", level)
	}
	text, ok := starlark.AsString(msg)
	if !ok {
		text = msg.String()
	}
	l.r.inv.Log(level, truncate(text, MaxLogMessage))
	return starlark.None, nil
}

// jsonModule is json: encode and encode_indent share the payload encoder
// (dict order kept, time values as RFC 3339); decode is decodeJSON.
var jsonModule = &starlarkstruct.Module{
	Name: "json",
	Members: starlark.StringDict{
		"encode":        starlark.NewBuiltin("json.encode", jsonEncode),
		"encode_indent": starlark.NewBuiltin("json.encode_indent", jsonEncodeIndent),
		"decode":        starlark.NewBuiltin("json.decode", jsonDecode),
		"indent":        starlark.NewBuiltin("json.indent", jsonIndent),
	},
}

func jsonEncode(t *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var x starlark.Value
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &x); err != nil {
		return nil, err
	}
	out, err := encodeJSON(x, memoryLimit(t))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	charge(t, len(out))
	return starlark.String(out), nil
}

func jsonEncodeIndent(t *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var x starlark.Value
	prefix, indent := "", "\t"
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "x", &x, "prefix?", &prefix, "indent?", &indent); err != nil {
		return nil, err
	}
	out, err := encodeJSON(x, memoryLimit(t))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	return indentJSON(t, b, out, prefix, indent)
}

func jsonIndent(t *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var s string
	prefix, indent := "", "\t"
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "str", &s, "prefix?", &prefix, "indent?", &indent); err != nil {
		return nil, err
	}
	return indentJSON(t, b, []byte(s), prefix, indent)
}

func indentJSON(t *starlark.Thread, b *starlark.Builtin, src []byte, prefix, indent string) (starlark.Value, error) {
	if len(src) > MaxInput {
		return nil, fmt.Errorf("%s: input is %d bytes, the limit is %d", b.Name(), len(src), MaxInput)
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, src, prefix, indent); err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	charge(t, buf.Len())
	return starlark.String(buf.String()), nil
}

func jsonDecode(t *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var x, fallback starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "x", &x, "default?", &fallback); err != nil {
		return nil, err
	}
	var data []byte
	switch s := x.(type) {
	case starlark.String:
		data = []byte(s)
	case starlark.Bytes:
		data = []byte(s)
	default:
		return nil, fmt.Errorf("%s: got %s, want string or bytes", b.Name(), x.Type())
	}
	if len(data) > MaxInput {
		return nil, fmt.Errorf("%s: input is %d bytes, the limit is %d", b.Name(), len(data), MaxInput)
	}
	charge(t, len(data))
	v, err := decodeJSON(data)
	if err != nil {
		if fallback != nil {
			return fallback, nil
		}
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	return v, nil
}

// timeModule is Starlark's time module, shared frozen.
var timeModule = startime.Module
