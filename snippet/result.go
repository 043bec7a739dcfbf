package snippet

import (
	"errors"
	"fmt"
	"net/textproto"
	"strings"

	"go.starlark.net/starlark"

	"github.com/caddy-endpoint/endpoint/execmode"
)

// resultError is a result (or Response) the snippet built wrong.
type resultError struct{ msg string }

func (e *resultError) Error() string { return e.msg }

func resultErrorf(format string, args ...any) error {
	return &resultError{msg: fmt.Sprintf(format, args...)}
}

const defaultContentType = "text/plain; charset=utf-8"

// jsonContentType is shared by every payload result; header slices are
// never written in place.
var jsonContentType = []string{"application/json"}

// jsonHeader is the Header of every payload result that sets no headers
// of its own. It is shared: a Result's Header is read-only.
var jsonHeader = map[string][]string{"Content-Type": jsonContentType}

var nullBody = []byte("null")

// The keys of a result dict, as values made once.
var (
	keyPayload  starlark.Value = starlark.String("payload")
	keyHeaders  starlark.Value = starlark.String("headers")
	keyStatus   starlark.Value = starlark.String("status_code")
	keyResponse starlark.Value = starlark.String("response")
)

// makeResult reads the top-level `result` (see Program.Run).
func makeResult(v starlark.Value, maxMemory int64) (*execmode.Result, error) {
	if v == nil {
		return nil, errors.New("the snippet did not assign result")
	}
	d, ok := v.(*starlark.Dict)
	if !ok {
		return nil, fmt.Errorf("result is a %s, want dict", v.Type())
	}
	k, err := resultKeysOf(d)
	if err != nil {
		return nil, err
	}
	if k.response != nil {
		return responseResult(k)
	}
	res := &execmode.Result{Status: 200, Header: jsonHeader}
	if k.status != nil {
		code, err := statusCode(k.status)
		if err != nil {
			return nil, fmt.Errorf("result[\"status_code\"]: %v", err)
		}
		res.Status = code
	}
	if k.headers != nil && k.headers != starlark.None {
		h, err := makeHeader(k.headers)
		if err != nil {
			return nil, fmt.Errorf("result[\"headers\"]: %v", err)
		}
		if _, set := h["Content-Type"]; !set {
			h["Content-Type"] = jsonContentType
		}
		res.Header = h
	}
	if bodiless(res.Status) {
		return res, nil
	}
	if k.payload == nil || k.payload == starlark.None {
		res.Body = nullBody
		return res, nil
	}
	body, err := encodeJSON(k.payload, maxMemory)
	if err != nil {
		return nil, fmt.Errorf("result[\"payload\"]: %w", err)
	}
	res.Body = body
	return res, nil
}

// resultKeys are the values of a result dict; nil where a key is absent.
type resultKeys struct {
	payload, headers, status, response starlark.Value
}

// resultKeysOf reads the keys of a result dict, refusing any other key.
func resultKeysOf(d *starlark.Dict) (resultKeys, error) {
	known := 0
	lookup := func(key starlark.Value) starlark.Value {
		v, found, _ := d.Get(key)
		if !found {
			return nil
		}
		known++
		return v
	}
	k := resultKeys{payload: lookup(keyPayload), headers: lookup(keyHeaders), status: lookup(keyStatus), response: lookup(keyResponse)}
	if d.Len() != known {
		for _, key := range d.Keys() {
			switch key {
			case keyPayload, keyHeaders, keyStatus, keyResponse:
			default:
				return k, fmt.Errorf("result has unknown key %s (want response, or payload, headers and status_code)", key)
			}
		}
	}
	return k, nil
}

// responseResult is the answer of a result that holds a Response, alone.
func responseResult(k resultKeys) (*execmode.Result, error) {
	if k.payload != nil || k.headers != nil || k.status != nil {
		return nil, errors.New("result holds response together with payload, headers or status_code")
	}
	r, ok := k.response.(*response)
	if !ok {
		return nil, fmt.Errorf("result[\"response\"] is a %s, want Response(...)", k.response.Type())
	}
	return &execmode.Result{Status: r.status, Header: r.header.clone(), Body: r.body}, nil
}

func bodiless(status int) bool { return status == 204 || status == 304 }

func statusCode(v starlark.Value) (int, error) {
	i, ok := v.(starlark.Int)
	if !ok {
		return 0, fmt.Errorf("status code is a %s, want int", v.Type())
	}
	code, ok := i.Int64()
	if !ok || code < 200 || code > 599 {
		return 0, fmt.Errorf("status code %s is out of range 200..599", i)
	}
	return int(code), nil
}

type header map[string][]string

func (h header) clone() map[string][]string {
	c := make(map[string][]string, len(h))
	for k, v := range h {
		c[k] = v
	}
	return c
}

// makeHeader converts a dict of header name to string (or list of strings)
// into a header map. Framing headers are the server's, not the snippet's.
func makeHeader(v starlark.Value) (header, error) {
	d, ok := v.(*starlark.Dict)
	if !ok {
		return nil, fmt.Errorf("headers is a %s, want dict", v.Type())
	}
	h := make(header, d.Len()+1)
	for _, item := range d.Items() {
		name, ok := starlark.AsString(item[0])
		if !ok {
			return nil, fmt.Errorf("header name %s is a %s, want string", item[0], item[0].Type())
		}
		if !validHeaderName(name) {
			return nil, fmt.Errorf("invalid header name %q", name)
		}
		name = textproto.CanonicalMIMEHeaderKey(name)
		switch name {
		case "Content-Length", "Transfer-Encoding", "Connection":
			return nil, fmt.Errorf("header %s is set by the server", name)
		}
		values, err := headerValues(item[1])
		if err != nil {
			return nil, fmt.Errorf("header %s: %v", name, err)
		}
		h[name] = append(h[name], values...)
	}
	return h, nil
}

func headerValues(v starlark.Value) ([]string, error) {
	if s, ok := v.(starlark.String); ok {
		if !validHeaderValue(string(s)) {
			return nil, errors.New("value holds a control character")
		}
		return []string{string(s)}, nil
	}
	seq, ok := v.(starlark.Indexable)
	if !ok || v.Type() == "bytes" {
		return nil, fmt.Errorf("value is a %s, want string or list of strings", v.Type())
	}
	out := make([]string, 0, seq.Len())
	for i := range seq.Len() {
		s, ok := starlark.AsString(seq.Index(i))
		if !ok {
			return nil, fmt.Errorf("value is a list holding a %s, want strings", seq.Index(i).Type())
		}
		if !validHeaderValue(s) {
			return nil, errors.New("value holds a control character")
		}
		out = append(out, s)
	}
	return out, nil
}

func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

func validHeaderValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 0x20 && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// response is the value Response(...) builds: a complete HTTP answer.
type response struct {
	status int
	header header
	body   []byte
}

var responseAttrs = []string{"body", "content_type", "headers", "status_code"}

func (r *response) String() string        { return fmt.Sprintf("<Response %d>", r.status) }
func (r *response) Type() string          { return "Response" }
func (r *response) Freeze()               {}
func (r *response) Truth() starlark.Bool  { return true }
func (r *response) Hash() (uint32, error) { return 0, errors.New("unhashable type: Response") }
func (r *response) AttrNames() []string   { return responseAttrs }

func (r *response) Attr(name string) (starlark.Value, error) {
	switch name {
	case "status_code":
		return starlark.MakeInt(r.status), nil
	case "body":
		return starlark.Bytes(r.body), nil
	case "content_type":
		if v := r.header["Content-Type"]; len(v) > 0 {
			return starlark.String(v[0]), nil
		}
		return starlark.String(""), nil
	case "headers":
		d := starlark.NewDict(len(r.header))
		for k, v := range r.header {
			_ = d.SetKey(starlark.String(k), starlark.String(strings.Join(v, ", ")))
		}
		return d, nil
	}
	return nil, nil
}

// newResponse implements Response(body, status_code=200, headers={},
// content_type="text/plain; charset=utf-8"). An explicit content_type wins
// over a Content-Type in headers, which wins over the default.
func newResponse(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var body, status, headers, contentType starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs,
		"body", &body, "status_code?", &status, "headers?", &headers, "content_type?", &contentType); err != nil {
		return nil, err
	}
	r := &response{status: 200}
	switch x := body.(type) {
	case starlark.String:
		r.body = []byte(x)
	case starlark.Bytes:
		r.body = []byte(x)
	case starlark.NoneType:
	default:
		return nil, resultErrorf("Response: body is a %s, want string or bytes", body.Type())
	}
	if status != nil {
		code, err := statusCode(status)
		if err != nil {
			return nil, resultErrorf("Response: %v", err)
		}
		r.status = code
	}
	if headers != nil && headers != starlark.None {
		h, err := makeHeader(headers)
		if err != nil {
			return nil, resultErrorf("Response: %v", err)
		}
		r.header = h
	} else {
		r.header = make(header, 1)
	}
	switch ct := contentType.(type) {
	case nil:
		if _, set := r.header["Content-Type"]; !set {
			r.header["Content-Type"] = []string{defaultContentType}
		}
	case starlark.String:
		if ct == "" || !validHeaderValue(string(ct)) {
			return nil, resultErrorf("Response: invalid content_type %q", string(ct))
		}
		r.header["Content-Type"] = []string{string(ct)}
	default:
		return nil, resultErrorf("Response: content_type is a %s, want string", contentType.Type())
	}
	if bodiless(r.status) {
		r.body = nil
	}
	return r, nil
}
