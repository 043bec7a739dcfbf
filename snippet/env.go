package snippet

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	startime "go.starlark.net/lib/time"
	"go.starlark.net/starlark"

	"github.com/caddy-endpoint/endpoint/execmode"
)

// envValue is the predeclared `env`: the outside world as the executing
// user's grants allow it (execmode.Env does the checks).
type envValue struct {
	object
	r *run
}

var (
	envAttrs  = []string{"http", "secret", "store"}
	envSecret = starlark.NewBuiltin("env.secret", envSecretMethod)
)

func (e *envValue) AttrNames() []string { return envAttrs }

func (e *envValue) Attr(name string) (starlark.Value, error) {
	switch name {
	case "store":
		return &e.r.store, nil
	case "http":
		return &e.r.http, nil
	case "secret":
		return envSecret.BindReceiver(e), nil
	}
	return nil, nil
}

func envSecretMethod(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var name string
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &name); err != nil {
		return nil, err
	}
	r := b.Receiver().(*envValue).r
	v, err := r.inv.Env.Secret(name)
	if err != nil {
		return nil, fmt.Errorf("env.secret: %w", err)
	}
	return starlark.String(v), nil
}

// storeValue is env.store.
type storeValue struct {
	object
	r *run
}

var (
	storeAttrs  = []string{"delete", "get", "list", "put"}
	storeGet    = starlark.NewBuiltin("env.store.get", storeGetMethod)
	storePut    = starlark.NewBuiltin("env.store.put", storePutMethod)
	storeDelete = starlark.NewBuiltin("env.store.delete", storeDeleteMethod)
	storeList   = starlark.NewBuiltin("env.store.list", storeListMethod)
)

func (s *storeValue) AttrNames() []string { return storeAttrs }

func (s *storeValue) Attr(name string) (starlark.Value, error) {
	switch name {
	case "get":
		return storeGet.BindReceiver(s), nil
	case "put":
		return storePut.BindReceiver(s), nil
	case "delete":
		return storeDelete.BindReceiver(s), nil
	case "list":
		return storeList.BindReceiver(s), nil
	}
	return nil, nil
}

// outside runs a call to the Env with the run's context and stops the run
// when the call took it past its deadline.
func outside[T any](r *run, call func(ctx context.Context) (T, error)) (T, error) {
	v, err := call(r.outsideCtx())
	r.afterBlocking()
	return v, err
}

func storeGetMethod(t *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var ns, key string
	var fallback starlark.Value = starlark.None
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "ns", &ns, "key", &key, "default?", &fallback); err != nil {
		return nil, err
	}
	r := b.Receiver().(*storeValue).r
	type found struct {
		data []byte
		ok   bool
	}
	got, err := outside(r, func(ctx context.Context) (found, error) {
		data, ok, err := r.inv.Env.StoreGet(ctx, ns, key)
		return found{data, ok}, err
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	if !got.ok {
		return fallback, nil
	}
	charge(t, len(got.data))
	v, err := decodeJSON(got.data)
	if err != nil {
		return nil, fmt.Errorf("%s: stored value: %v", b.Name(), err)
	}
	return v, nil
}

func storePutMethod(t *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var ns, key string
	var value starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "ns", &ns, "key", &key, "value", &value); err != nil {
		return nil, err
	}
	data, err := encodeJSON(value, memoryLimit(t))
	if err != nil {
		return nil, fmt.Errorf("%s: value: %w", b.Name(), err)
	}
	charge(t, len(data))
	r := b.Receiver().(*storeValue).r
	if _, err := outside(r, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, r.inv.Env.StorePut(ctx, ns, key, data)
	}); err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	return starlark.None, nil
}

func storeDeleteMethod(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var ns, key string
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "ns", &ns, "key", &key); err != nil {
		return nil, err
	}
	r := b.Receiver().(*storeValue).r
	if _, err := outside(r, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, r.inv.Env.StoreDelete(ctx, ns, key)
	}); err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	return starlark.None, nil
}

func storeListMethod(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var ns, prefix string
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "ns", &ns, "prefix?", &prefix); err != nil {
		return nil, err
	}
	r := b.Receiver().(*storeValue).r
	keys, err := outside(r, func(ctx context.Context) ([]string, error) {
		return r.inv.Env.StoreList(ctx, ns, prefix)
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	return stringList(keys), nil
}

// httpValue is env.http.
type httpValue struct {
	object
	r *run
}

var (
	httpAttrs  = []string{"delete", "get", "post", "put"}
	httpGet    = starlark.NewBuiltin("env.http.get", httpMethod("GET"))
	httpPost   = starlark.NewBuiltin("env.http.post", httpMethod("POST"))
	httpPut    = starlark.NewBuiltin("env.http.put", httpMethod("PUT"))
	httpDelete = starlark.NewBuiltin("env.http.delete", httpMethod("DELETE"))
)

func (h *httpValue) AttrNames() []string { return httpAttrs }

func (h *httpValue) Attr(name string) (starlark.Value, error) {
	switch name {
	case "get":
		return httpGet.BindReceiver(h), nil
	case "post":
		return httpPost.BindReceiver(h), nil
	case "put":
		return httpPut.BindReceiver(h), nil
	case "delete":
		return httpDelete.BindReceiver(h), nil
	}
	return nil, nil
}

// httpMethod implements env.http.get/post/put/delete(url, headers=None,
// body=None, json=None, timeout=None). json= is encoded like a payload and
// sets Content-Type application/json unless headers set one; timeout is
// seconds (int or float) or a time.duration.
func httpMethod(method string) func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
	return func(t *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var url string
		var headers, body, jsonBody, timeout starlark.Value
		if err := starlark.UnpackArgs(b.Name(), args, kwargs,
			"url", &url, "headers?", &headers, "body?", &body, "json?", &jsonBody, "timeout?", &timeout); err != nil {
			return nil, err
		}
		req := &execmode.OutboundRequest{Method: method, URL: url}
		if headers != nil && headers != starlark.None {
			h, err := makeHeader(headers)
			if err != nil {
				return nil, fmt.Errorf("%s: %v", b.Name(), err)
			}
			req.Header = h
		}
		hasBody := body != nil && body != starlark.None
		hasJSON := jsonBody != nil && jsonBody != starlark.None
		switch {
		case hasBody && hasJSON:
			return nil, fmt.Errorf("%s: give body or json, not both", b.Name())
		case hasBody:
			s, err := inputBytes(b.Name(), "body", body)
			if err != nil {
				return nil, err
			}
			req.Body = []byte(s)
		case hasJSON:
			data, err := encodeJSON(jsonBody, memoryLimit(t))
			if err != nil {
				return nil, fmt.Errorf("%s: json: %w", b.Name(), err)
			}
			req.Body = data
			if req.Header == nil {
				req.Header = make(map[string][]string, 1)
			}
			if _, set := req.Header["Content-Type"]; !set {
				req.Header["Content-Type"] = []string{"application/json"}
			}
		}
		if timeout != nil && timeout != starlark.None {
			d, err := durationArg(timeout)
			if err != nil {
				return nil, fmt.Errorf("%s: timeout: %v", b.Name(), err)
			}
			req.Timeout = d
		}
		charge(t, len(req.Body))
		r := b.Receiver().(*httpValue).r
		resp, err := outside(r, func(ctx context.Context) (*execmode.OutboundResponse, error) {
			return r.inv.Env.HTTP(ctx, req)
		})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", b.Name(), err)
		}
		charge(t, len(resp.Body))
		return &httpResponse{object: object{"http_response"}, resp: resp}, nil
	}
}

func durationArg(v starlark.Value) (time.Duration, error) {
	var secs float64
	switch x := v.(type) {
	case startime.Duration:
		if x <= 0 {
			return 0, errors.New("must be positive")
		}
		return time.Duration(x), nil
	case starlark.Int, starlark.Float:
		f, _ := starlark.AsFloat(x)
		secs = f
	default:
		return 0, fmt.Errorf("is a %s, want seconds or a time.duration", v.Type())
	}
	if !(secs > 0) || secs > math.MaxInt64/float64(time.Second) {
		return 0, errors.New("must be a positive number of seconds")
	}
	return time.Duration(secs * float64(time.Second)), nil
}

// httpResponse is what env.http calls return.
type httpResponse struct {
	object
	resp    *execmode.OutboundResponse
	headers *headerView
}

var (
	httpResponseAttrs = []string{"body", "headers", "json", "status_code", "text"}
	httpResponseJSON  = starlark.NewBuiltin("json", httpResponseJSONMethod)
)

func (h *httpResponse) AttrNames() []string { return httpResponseAttrs }

func (h *httpResponse) Attr(name string) (starlark.Value, error) {
	switch name {
	case "status_code":
		return starlark.MakeInt(h.resp.StatusCode), nil
	case "headers":
		if h.headers == nil {
			hdr := h.resp.Header
			if hdr == nil {
				hdr = map[string][]string{}
			}
			h.headers = &headerView{object: object{"headers"}, h: hdr}
		}
		return h.headers, nil
	case "body":
		return starlark.Bytes(h.resp.Body), nil
	case "text":
		return starlark.String(h.resp.Body), nil
	case "json":
		return httpResponseJSON.BindReceiver(h), nil
	}
	return nil, nil
}

func httpResponseJSONMethod(t *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackPositionalArgs("json", args, kwargs, 0); err != nil {
		return nil, err
	}
	body := b.Receiver().(*httpResponse).resp.Body
	charge(t, len(body))
	v, err := decodeJSON(body)
	if err != nil {
		return nil, fmt.Errorf("response body: %v", err)
	}
	return v, nil
}
