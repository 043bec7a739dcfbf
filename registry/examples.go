package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/textproto"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/caddy-endpoint/endpoint/execmode"
)

// MaxExamples bounds the examples of one record.
const MaxExamples = 32

// Example is a request to an endpoint and what its answer must hold. It
// documents the endpoint and gates its publication: a sync, rollback or
// apply that would publish a record whose example fails is refused.
type Example struct {
	// Name identifies the example within its record.
	Name string `json:"name"`
	// Request is the request to send.
	Request ExampleRequest `json:"request"`
	// Expect is what the answer must hold.
	Expect ExampleExpect `json:"expect"`
}

// ExampleRequest is the request of an example.
type ExampleRequest struct {
	// Method is one the record serves; default its first.
	Method string `json:"method,omitempty"`
	// Path must match one of the record's routes; default its first route.
	Path string `json:"path,omitempty"`
	// Headers are set on the request.
	Headers map[string]string `json:"headers,omitempty"`
	// Query holds the query parameters.
	Query map[string]string `json:"query,omitempty"`
	// Body is the request body: a JSON string is sent as its text, any
	// other JSON value as its JSON encoding.
	Body json.RawMessage `json:"body,omitempty"`
}

// ExampleExpect is what an example's answer must hold.
type ExampleExpect struct {
	// Status is the expected status code; default 200.
	Status int `json:"status,omitempty"`
	// Headers must each be in the answer with that value (names compared
	// case-insensitively).
	Headers map[string]string `json:"headers,omitempty"`
	// JSON is matched as a subset of the JSON body: every key of an object
	// must be there with that value; arrays and scalars match exactly.
	JSON json.RawMessage `json:"json,omitempty"`
	// Body must equal the answer's body exactly.
	Body *string `json:"body,omitempty"`
}

// ExampleAnswer is what an example's request got.
type ExampleAnswer struct {
	Status int
	Header map[string][]string
	Body   []byte
}

// ExampleRunner sends ex's request to the compiled entry as a dry run: no
// live store writes, no outbound HTTP, nothing logged as live. It must not
// call back into the registry, which may hold its lock.
type ExampleRunner func(ctx context.Context, e *Entry, ex Example) (ExampleAnswer, error)

// ExampleResult is the outcome of one example.
type ExampleResult struct {
	Name     string        `json:"name"`
	Passed   bool          `json:"passed"`
	Expected ExampleExpect `json:"expected"`
	Got      ExampleExpect `json:"got"`
	// Error says why the example could not run, if it could not.
	Error string `json:"error,omitempty"`
}

// decodeExamples decodes the examples field strictly: unknown fields of
// an example, its request or its expectation are refused.
func decodeExamples(raw json.RawMessage) ([]Example, []Detail) {
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, []Detail{{Field: "examples", Message: "must be an array of objects"}}
	}
	if items == nil {
		return nil, nil
	}
	out := make([]Example, len(items))
	var ds []Detail
	for i, item := range items {
		dec := json.NewDecoder(bytes.NewReader(item))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&out[i]); err != nil {
			ds = append(ds, Detail{Field: fmt.Sprintf("examples[%d]", i), Message: strings.TrimPrefix(err.Error(), "json: ")})
			continue
		}
		if _, err := dec.Token(); err != io.EOF {
			ds = append(ds, Detail{Field: fmt.Sprintf("examples[%d]", i), Message: "unexpected data after the object"})
		}
	}
	return out, ds
}

// checkExamples applies the rules of examples to a record whose routes
// and methods passed.
func checkExamples(rec *Record) []Detail {
	if len(rec.Examples) == 0 {
		return nil
	}
	var ds []Detail
	if len(rec.Examples) > MaxExamples {
		return []Detail{{Field: "examples", Message: fmt.Sprintf("must hold at most %d examples", MaxExamples)}}
	}
	seen := make(map[string]bool)
	m := newMatcher([]*Entry{{Record: rec}})
	for i, ex := range rec.Examples {
		field := fmt.Sprintf("examples[%d]", i)
		add := func(sub, format string, args ...any) {
			ds = append(ds, Detail{Field: field + sub, Message: fmt.Sprintf(format, args...)})
		}
		switch {
		case ex.Name == "":
			add(".name", "is required")
		case !ValidName(ex.Name):
			add(".name", "must match %s", execmode.NamePattern)
		case seen[ex.Name]:
			add(".name", "%q is used by another example", ex.Name)
		}
		seen[ex.Name] = true
		req := exampleRequest(rec, ex)
		if !slices.Contains(recordMethods(rec), req.Method) {
			add(".request.method", "%s is not a method the endpoint serves (%s)", strconv.Quote(ex.Request.Method), strings.Join(recordMethods(rec), ", "))
		}
		if rt, _, ok := m.Match(req.Path); !ok || rt == nil {
			add(".request.path", "%s does not match the endpoint's routes", strconv.Quote(req.Path))
		}
		for k, v := range req.Headers {
			if !validHeader(k, v) {
				add(".request.headers", "%s is not a valid header", strconv.Quote(k))
			}
		}
		if s := ex.Expect.Status; s != 0 && (s < 100 || s > 599) {
			add(".expect.status", "must be an HTTP status code (100-599)")
		}
		if len(ex.Expect.JSON) > 0 && ex.Expect.Body != nil {
			add(".expect", "json and body are exclusive")
		}
		for k := range ex.Expect.Headers {
			if !validHeader(k, "") {
				add(".expect.headers", "%s is not a valid header name", strconv.Quote(k))
			}
		}
	}
	return ds
}

func validHeader(name, value string) bool {
	if name == "" || len(name) > 256 || strings.ContainsAny(value, "\r\n\x00") {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("()<>@,;:\\\"/[]?={}", c) >= 0 {
			return false
		}
	}
	return true
}

// ExampleRequestOf returns an example's request with the defaults of its
// record filled in (its first method, its first route).
func ExampleRequestOf(rec *Record, ex Example) ExampleRequest { return exampleRequest(rec, ex) }

// exampleRequest fills an example request's defaults from its record.
func exampleRequest(rec *Record, ex Example) ExampleRequest {
	req := ex.Request
	req.Method = strings.ToUpper(req.Method)
	if req.Method == "" {
		req.Method = recordMethods(rec)[0]
	}
	if req.Path == "" {
		req.Path = recordRoutes(rec)[0]
	}
	return req
}

// judge compares an answer with an example's expectation.
func judge(ex Example, ans ExampleAnswer) ExampleResult {
	want := ex.Expect
	if want.Status == 0 {
		want.Status = defaultExampleStatus
	}
	res := ExampleResult{Name: ex.Name, Expected: want, Passed: true}
	got := ExampleExpect{Status: ans.Status}
	if ans.Status != want.Status {
		res.Passed = false
	}
	if len(want.Headers) > 0 {
		got.Headers = make(map[string]string, len(want.Headers))
		for k, v := range want.Headers {
			vals := ans.Header[textproto.CanonicalMIMEHeaderKey(k)]
			if len(vals) > 0 {
				got.Headers[k] = vals[0]
			}
			if len(vals) == 0 || vals[0] != v {
				res.Passed = false
			}
		}
	}
	switch {
	case len(want.JSON) > 0:
		var w, g any
		_ = json.Unmarshal(want.JSON, &w)
		if err := json.Unmarshal(ans.Body, &g); err != nil {
			s := string(ans.Body)
			got.Body = &s
			res.Passed = false
		} else {
			got.JSON = json.RawMessage(bytes.TrimSpace(ans.Body))
			res.Passed = res.Passed && subset(w, g)
		}
	case want.Body != nil:
		s := string(ans.Body)
		got.Body = &s
		res.Passed = res.Passed && s == *want.Body
	}
	res.Got = got
	return res
}

// defaultExampleStatus is the status an example expects when it names none.
const defaultExampleStatus = 200

// subset reports whether got holds want: objects by key, recursively;
// anything else by equality.
func subset(want, got any) bool {
	wm, ok := want.(map[string]any)
	if !ok {
		return reflect.DeepEqual(want, got)
	}
	gm, ok := got.(map[string]any)
	if !ok {
		return false
	}
	for k, wv := range wm {
		gv, ok := gm[k]
		if !ok || !subset(wv, gv) {
			return false
		}
	}
	return true
}

// runExamples runs the examples of e (only the one named only, when set).
func runExamples(ctx context.Context, run ExampleRunner, e *Entry, only string) []ExampleResult {
	out := []ExampleResult{}
	for _, ex := range e.Record.Examples {
		if only != "" && ex.Name != only {
			continue
		}
		ex.Request = exampleRequest(e.Record, ex)
		if run == nil {
			out = append(out, ExampleResult{Name: ex.Name, Expected: ex.Expect, Error: "examples cannot run on this server"})
			continue
		}
		ans, err := run(ctx, e, ex)
		if err != nil {
			want := ex.Expect
			if want.Status == 0 {
				want.Status = defaultExampleStatus
			}
			out = append(out, ExampleResult{Name: ex.Name, Expected: want, Error: err.Error()})
			continue
		}
		out = append(out, judge(ex, ans))
	}
	return out
}

// gateExamples runs the examples of the named entries of a candidate
// table under cfg and returns one detail per failing example. It takes no
// lock.
func (r *Registry) gateExamples(ctx context.Context, cfg *config, t *Table, names []string) []Detail {
	if cfg.runExamples == nil {
		return nil
	}
	gated := make(map[string]bool, len(names))
	for _, n := range names {
		gated[n] = true
	}
	var ds []Detail
	for _, e := range t.Entries() {
		if !gated[e.Record.Name] || len(e.Record.Examples) == 0 {
			continue
		}
		for i, res := range runExamples(ctx, cfg.runExamples, e, "") {
			if res.Passed {
				continue
			}
			msg := "the answer differs from the expected one"
			if res.Error != "" {
				msg = res.Error
			}
			exp, got := res.Expected, res.Got
			ds = append(ds, Detail{
				Name: e.Record.Name, Field: fmt.Sprintf("examples[%d]", i),
				Message: fmt.Sprintf("example %q failed: %s", res.Name, msg),
				Example: res.Name, Expected: &exp, Got: &got,
			})
		}
	}
	return ds
}

// RunExamples runs the examples of the draft name (the declared record for
// a declared name), or only the example called example, as dry runs.
func (r *Registry) RunExamples(ctx context.Context, name, example string) ([]ExampleResult, error) {
	e, err := r.CompileDraft(name)
	if err != nil {
		return nil, err
	}
	if example != "" && !slices.ContainsFunc(e.Record.Examples, func(ex Example) bool { return ex.Name == example }) {
		return nil, errorf(KindNotFound, fmt.Sprintf("endpoint %q has no example %q", name, example))
	}
	r.mu.RLock()
	run := r.cfg.runExamples
	r.mu.RUnlock()
	return runExamples(ctx, run, e, example), nil
}
