package snippet

import (
	"errors"
	"maps"
	"net/textproto"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"go.starlark.net/starlark"

	"github.com/caddy-endpoint/endpoint/execmode"
	"github.com/caddy-endpoint/endpoint/internal/jsonwalk"
)

// object is the part of starlark.Value every snippet object shares.
type object struct{ typ string }

func (o object) String() string        { return "<" + o.typ + ">" }
func (o object) Type() string          { return o.typ }
func (o object) Freeze()               {}
func (o object) Truth() starlark.Bool  { return true }
func (o object) Hash() (uint32, error) { return 0, errors.New("unhashable type: " + o.typ) }

// request is the predeclared `request`. Attributes are computed on first
// access and kept for the rest of the run.
type request struct {
	object
	r *run

	body       starlark.Value
	text       starlark.Value
	pathParams *starlark.Dict
	query      *starlark.Dict
	queryAll   *starlark.Dict
	form       *starlark.Dict
	headers    *headerView
}

var (
	requestAttrs = []string{"body", "form", "headers", "host", "json", "method", "path", "path_params", "query", "query_all", "remote_ip", "route", "text"}
	requestJSON  = starlark.NewBuiltin("json", requestJSONMethod)
)

func (q *request) AttrNames() []string { return requestAttrs }

func (q *request) Attr(name string) (starlark.Value, error) {
	inv := q.r.inv
	switch name {
	case "method":
		return starlark.String(inv.Method), nil
	case "path":
		return starlark.String(inv.Path), nil
	case "route":
		return starlark.String(inv.Route), nil
	case "host":
		return starlark.String(inv.Host), nil
	case "remote_ip":
		return starlark.String(inv.RemoteIP), nil
	case "body":
		if q.body == nil {
			q.body = starlark.Bytes(inv.Body)
		}
		return q.body, nil
	case "text":
		if q.text == nil {
			q.text = starlark.String(inv.Body)
		}
		return q.text, nil
	case "path_params":
		if q.pathParams == nil {
			q.pathParams = stringDict(inv.PathParams)
		}
		return q.pathParams, nil
	case "query":
		if q.query == nil {
			q.query = firstValues(inv.Query)
		}
		return q.query, nil
	case "query_all":
		if q.queryAll == nil {
			q.queryAll = allValues(inv.Query)
		}
		return q.queryAll, nil
	case "headers":
		if q.headers == nil {
			q.headers = &headerView{object: object{"headers"}, h: inv.Header}
		}
		return q.headers, nil
	case "form":
		if q.form == nil {
			values, err := url.ParseQuery(string(inv.Body))
			if err != nil {
				return nil, &userError{status: 400, message: "request body is not a valid form"}
			}
			q.form = firstValues(values)
		}
		return q.form, nil
	case "json":
		return requestJSON.BindReceiver(q), nil
	}
	return nil, nil
}

// requestJSONMethod is request.json(): the body parsed as JSON (the
// schema validator's parse when there was one). A body that is not JSON
// fails the snippet with 400.
func requestJSONMethod(t *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackPositionalArgs("request.json", args, kwargs, 0); err != nil {
		return nil, err
	}
	inv := b.Receiver().(*request).r.inv
	if inv.HasJSON {
		v, err := fromGo(inv.JSON, 0)
		if err != nil {
			// the schema passed it, but a snippet cannot hold it (1e400)
			return nil, &userError{status: 400, message: "request body cannot be read: " + err.Error()}
		}
		return v, nil
	}
	charge(t, len(inv.Body))
	v, err := decodeBody(inv.Body)
	if err != nil {
		msg := "request body is not valid JSON"
		var ne numberError
		if errors.As(err, &ne) {
			msg = "request body cannot be read: " + ne.Error()
		}
		return nil, &userError{status: 400, message: msg}
	}
	return v, nil
}

func stringDict(m map[string]string) *starlark.Dict {
	d := starlark.NewDict(len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		_ = d.SetKey(starlark.String(k), starlark.String(m[k]))
	}
	return d
}

func firstValues(m map[string][]string) *starlark.Dict {
	d := starlark.NewDict(len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if v := m[k]; len(v) > 0 {
			_ = d.SetKey(starlark.String(k), starlark.String(v[0]))
		}
	}
	return d
}

func allValues(m map[string][]string) *starlark.Dict {
	d := starlark.NewDict(len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		_ = d.SetKey(starlark.String(k), stringList(m[k]))
	}
	return d
}

func stringList(ss []string) *starlark.List {
	elems := make([]starlark.Value, len(ss))
	for i, s := range ss {
		elems[i] = starlark.String(s)
	}
	return starlark.NewList(elems)
}

// headerView is a read-only header map with case-insensitive names:
// headers["x-id"], "x-id" in headers, headers.get(name, default=None),
// headers.get_all(name), headers.keys().
type headerView struct {
	object
	h map[string][]string
}

var (
	headerAttrs  = []string{"get", "get_all", "keys"}
	headerGet    = starlark.NewBuiltin("get", headerGetMethod)
	headerGetAll = starlark.NewBuiltin("get_all", headerGetAllMethod)
	headerKeys   = starlark.NewBuiltin("keys", headerKeysMethod)
)

func (v *headerView) AttrNames() []string { return headerAttrs }

func (v *headerView) Attr(name string) (starlark.Value, error) {
	switch name {
	case "get":
		return headerGet.BindReceiver(v), nil
	case "get_all":
		return headerGetAll.BindReceiver(v), nil
	case "keys":
		return headerKeys.BindReceiver(v), nil
	}
	return nil, nil
}

func (v *headerView) values(name string) []string {
	if vs, ok := v.h[textproto.CanonicalMIMEHeaderKey(name)]; ok {
		return vs
	}
	for k, vs := range v.h {
		if strings.EqualFold(k, name) {
			return vs
		}
	}
	return nil
}

// Get implements starlark.Mapping: the first value of a header.
func (v *headerView) Get(k starlark.Value) (starlark.Value, bool, error) {
	name, ok := k.(starlark.String)
	if !ok {
		return nil, false, errors.New("header name must be a string")
	}
	vs := v.values(string(name))
	if len(vs) == 0 {
		return nil, false, nil
	}
	return starlark.String(vs[0]), true, nil
}

func headerGetMethod(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var name string
	var fallback starlark.Value = starlark.None
	if err := starlark.UnpackArgs("headers.get", args, kwargs, "name", &name, "default?", &fallback); err != nil {
		return nil, err
	}
	vs := b.Receiver().(*headerView).values(name)
	if len(vs) == 0 {
		return fallback, nil
	}
	return starlark.String(vs[0]), nil
}

func headerGetAllMethod(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var name string
	if err := starlark.UnpackArgs("headers.get_all", args, kwargs, "name", &name); err != nil {
		return nil, err
	}
	return stringList(b.Receiver().(*headerView).values(name)), nil
}

func headerKeysMethod(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackPositionalArgs("headers.keys", args, kwargs, 0); err != nil {
		return nil, err
	}
	return stringList(slices.Sorted(maps.Keys(b.Receiver().(*headerView).h))), nil
}

// identity is `user` and `caller`.
type identity struct {
	object
	id *execmode.Identity
}

var identityAttrs = []string{"is_public", "name", "roles"}

func (u *identity) AttrNames() []string { return identityAttrs }

func (u *identity) Attr(name string) (starlark.Value, error) {
	switch name {
	case "name":
		return starlark.String(u.id.Name), nil
	case "roles":
		roles := make(starlark.Tuple, len(u.id.Roles))
		for i, r := range u.id.Roles {
			roles[i] = starlark.String(r)
		}
		return roles, nil
	case "is_public":
		return starlark.Bool(u.id.Public), nil
	}
	return nil, nil
}

// endpointView is the predeclared `endpoint`: the served record, read
// only, without its code or schema. Empty fields read as their defaults.
type endpointView struct {
	object
	rec      *execmode.Endpoint
	revision int64
}

var endpointAttrs = []string{"active", "allowed_roles", "auth_type", "cors_origins", "exec_as_user", "exec_mode", "name", "request_content_type", "request_method", "request_methods", "revision", "route", "route_group", "routes", "version"}

func (e *endpointView) AttrNames() []string { return endpointAttrs }

func (e *endpointView) Attr(name string) (starlark.Value, error) {
	rec := e.rec
	if rec == nil {
		rec = &execmode.Endpoint{}
	}
	switch name {
	case "name":
		return starlark.String(rec.Name), nil
	case "route":
		return starlark.String(rec.Route), nil
	case "routes":
		return stringTuple(rec.Routes), nil
	case "route_group":
		return starlark.String(rec.RouteGroup), nil
	case "auth_type":
		return starlark.String(orDefault(rec.AuthType, "user")), nil
	case "exec_as_user":
		return starlark.String(rec.ExecAsUser), nil
	case "allowed_roles":
		return stringTuple(rec.AllowedRoles), nil
	case "request_method":
		return starlark.String(orDefault(rec.RequestMethod, "GET")), nil
	case "request_methods":
		if len(rec.RequestMethods) == 0 {
			return starlark.Tuple{starlark.String("GET")}, nil
		}
		return stringTuple(rec.RequestMethods), nil
	case "request_content_type":
		return starlark.String(rec.RequestContentType), nil
	case "exec_mode":
		return starlark.String(orDefault(rec.ExecMode, "code")), nil
	case "cors_origins":
		return stringTuple(rec.CORSOrigins), nil
	case "active":
		return starlark.Bool(rec.Active), nil
	case "version":
		return starlark.MakeInt64(rec.Version), nil
	case "revision":
		return starlark.MakeInt64(e.revision), nil
	}
	return nil, nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func stringTuple(ss []string) starlark.Tuple {
	t := make(starlark.Tuple, len(ss))
	for i, s := range ss {
		t[i] = starlark.String(s)
	}
	return t
}

// bind points the run's per-request values at r.inv.
func (r *run) bind() {
	r.req = request{object: object{"request"}, r: r}
	r.user = identity{object: object{"user"}, id: &r.inv.User}
	r.caller = identity{object: object{"user"}, id: r.inv.Caller}
	r.endpoint = endpointView{object: object{"endpoint"}, rec: r.inv.Endpoint, revision: r.inv.Revision}
}

// unbind drops what bind pointed at, so a pooled run holds no request.
func (r *run) unbind() {
	r.req = request{}
	r.user = identity{}
	r.caller = identity{}
	r.endpoint = endpointView{}
}

// decodeBody is decodeJSON with sonic's decoder, which the schema
// validator parses with too, about three times faster; encoding/json
// decides (and words the error) when sonic refuses.
func decodeBody(body []byte) (starlark.Value, error) {
	var v any
	if utf8.Valid(body) && jsonwalk.Decoder.Unmarshal(body, &v) == nil {
		return fromGo(v, 0)
	}
	return decodeJSON(body)
}
