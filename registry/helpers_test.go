package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddyserver/certmagic"

	"github.com/caddy-endpoint/endpoint/execmode"
	"github.com/caddy-endpoint/endpoint/schema"
)

// fakeMode is a test double of an exec mode: "syntax error" in the code
// fails to compile, like a parser error with a position.
type fakeMode struct{ compiles atomic.Int64 }

func (m *fakeMode) Compile(ep *execmode.Endpoint) (execmode.Program, error) {
	m.compiles.Add(1)
	if ep.ExecMode == "code" && strings.TrimSpace(ep.CodeSnippet) == "" {
		return nil, &execmode.FieldError{Field: "code_snippet", Message: "is required when exec_mode is code"}
	}
	if strings.Contains(ep.CodeSnippet, "syntax error") {
		return nil, &execmode.FieldError{Field: "code_snippet", Message: "1:5: got illegal token"}
	}
	return fakeProgram{code: ep.CodeSnippet}, nil
}

type fakeProgram struct{ code string }

func (p fakeProgram) Run(context.Context, *execmode.Invocation) (*execmode.Result, error) {
	return &execmode.Result{Status: 200, Body: []byte(p.code)}, nil
}

type fakeValidator struct{ src string }

func (fakeValidator) Validate([]byte) (any, []schema.Violation) { return nil, nil }

func (fakeValidator) ValidateBy([]byte, time.Time) (any, []schema.Violation, error) {
	return nil, nil, nil
}

var schemaCompiles atomic.Int64

func fakeSchema(contentType, src string) (schema.Validator, error) {
	schemaCompiles.Add(1)
	if strings.Contains(src, "bad") {
		return nil, fmt.Errorf("2:3: invalid %s schema", contentType)
	}
	return fakeValidator{src}, nil
}

func testOptions(dir string, mode *fakeMode) Options {
	return Options{
		Storage:       &certmagic.FileStorage{Path: dir},
		Prefix:        "endpoint",
		ExecModes:     map[string]execmode.ExecMode{"code": mode, "other": mode},
		CompileSchema: fakeSchema,
		UserExists:    func(n string) bool { return n == "bot" || n == "alice" },
	}
}

type fixture struct {
	t    *testing.T
	dir  string
	mode *fakeMode
	r    *Registry
}

func newFixture(t *testing.T, edit ...func(*Options)) *fixture {
	t.Helper()
	f := &fixture{t: t, dir: t.TempDir(), mode: new(fakeMode)}
	opts := testOptions(f.dir, f.mode)
	for _, e := range edit {
		e(&opts)
	}
	r, err := New(context.Background(), opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	f.r = r
	return f
}

// reopen returns a new registry on the same storage, as after a restart.
func (f *fixture) reopen(edit ...func(*Options)) *Registry {
	f.t.Helper()
	opts := testOptions(f.dir, f.mode)
	for _, e := range edit {
		e(&opts)
	}
	r, err := New(context.Background(), opts)
	if err != nil {
		f.t.Fatalf("New: %v", err)
	}
	return r
}

func (f *fixture) create(body string) Record {
	f.t.Helper()
	rec, err := f.r.Create(context.Background(), []byte(body))
	if err != nil {
		f.t.Fatalf("Create(%s): %v", body, err)
	}
	return rec
}

func (f *fixture) sync() SyncResult {
	f.t.Helper()
	res, err := f.r.Sync(context.Background(), SyncOptions{})
	if err != nil {
		f.t.Fatalf("Sync: %v", err)
	}
	return res
}

// rec builds a record body: a GET endpoint with the given fields.
func rec(name, route string, extra ...string) string {
	m := map[string]any{"name": name, "route": route, "code_snippet": "code of " + name}
	for i := 0; i+1 < len(extra); i += 2 {
		var v any
		if err := json.Unmarshal([]byte(extra[i+1]), &v); err != nil {
			v = extra[i+1]
		}
		m[extra[i]] = v
	}
	data, _ := json.Marshal(m)
	return string(data)
}

// served returns the code served for method and path by r, "" if none.
func served(r *Registry, method, path string, groups ...string) string {
	rt, _, ok := r.Live().Matcher(groups).Match(path)
	if !ok {
		return ""
	}
	e := rt.Methods[method]
	if e == nil {
		return ""
	}
	prog := e.Program
	if lp, ok := prog.(*lazyProgram); ok {
		// a published record loaded from storage compiles on first use
		lp.once.Do(lp.compile)
		prog = lp.prog
	}
	return prog.(fakeProgram).code
}

func kindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return 0
}

func detailsOf(err error) []Detail {
	var e *Error
	if errors.As(err, &e) {
		return e.Details
	}
	return nil
}

func fieldsOf(err error) []string {
	var out []string
	for _, d := range detailsOf(err) {
		out = append(out, d.Field)
	}
	return out
}

// unchanged is the precondition of a write that replaces exactly the
// state rec was read in: the same version and update time.
func unchanged(rec Record) Precondition {
	return func(cur *Record) bool { return cur != nil && sameState(*cur, rec) }
}

// exists is the precondition of a write that needs a current draft.
func exists(cur *Record) bool { return cur != nil }

// sameState reports whether a and b are one state of one record.
func sameState(a, b Record) bool {
	return a.Name == b.Name && a.Version == b.Version &&
		(a.UpdatedAt == nil) == (b.UpdatedAt == nil) &&
		(a.UpdatedAt == nil || a.UpdatedAt.Equal(*b.UpdatedAt))
}
