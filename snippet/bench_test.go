package snippet

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/caddy-endpoint/endpoint/execmode"
)

func benchmarkRun(b *testing.B, src string, inv *execmode.Invocation) {
	p, err := Compile(src)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Run(ctx, inv); err != nil {
			b.Fatal(err)
		}
	}
}

func benchInvocation() *execmode.Invocation {
	return &execmode.Invocation{
		Method:   "GET",
		Path:     "/hello",
		Header:   map[string][]string{"Accept": {"*/*"}},
		Endpoint: &execmode.Endpoint{Name: "hello", Route: "/hello"},
		Env:      newFakeEnv(),
		Log:      func(string, string) {},
		MaxSteps: 1000000,
		Deadline: time.Now().Add(time.Hour),
	}
}

func BenchmarkRunTrivialSnippet(b *testing.B) {
	benchmarkRun(b, `result = {"payload": {"hello": "world"}}`, benchInvocation())
}

// BenchmarkRunReadJSONField reads a field of a body the schema validator
// already parsed (the handler's path for POST application/json with a
// schema).
func BenchmarkRunReadJSONField(b *testing.B) {
	inv := benchInvocation()
	inv.Method = "POST"
	inv.Body = []byte(`{"id": 42, "name": "widget", "tags": ["a", "b"]}`)
	inv.JSON = map[string]any{"id": json.Number("42"), "name": "widget", "tags": []any{"a", "b"}}
	inv.HasJSON = true
	benchmarkRun(b, `result = {"payload": {"id": request.json()["id"]}}`, inv)
}

// BenchmarkRunReadJSONFieldParse is the same without a schema: the body
// is parsed on request.json().
func BenchmarkRunReadJSONFieldParse(b *testing.B) {
	inv := benchInvocation()
	inv.Method = "POST"
	inv.Body = []byte(`{"id": 42, "name": "widget", "tags": ["a", "b"]}`)
	benchmarkRun(b, `result = {"payload": {"id": request.json()["id"]}}`, inv)
}

func BenchmarkRunLoop(b *testing.B) {
	benchmarkRun(b, "x = 0\nfor i in range(1000):\n    x += i\nresult = {\"payload\": x}", benchInvocation())
}

// BenchmarkCompileTrivialSnippet is what a start or a sync pays per
// endpoint whose code it has not compiled before.
func BenchmarkCompileTrivialSnippet(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compile(`result = {"payload": {"n": 1, "path": request.path}}`); err != nil {
			b.Fatal(err)
		}
	}
}
