package snippet

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddy-endpoint/endpoint/execmode"
)

type logLine struct{ level, message string }

type logRecorder struct {
	mu    sync.Mutex
	lines []logLine
}

func (l *logRecorder) log(level, message string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, logLine{level, message})
}

func testInvocation() *execmode.Invocation {
	return &execmode.Invocation{
		Method:     "POST",
		Path:       "/orders/42",
		Host:       "example.com",
		RemoteIP:   "192.0.2.7",
		PathParams: map[string]string{"id": "42"},
		Query:      map[string][]string{"tag": {"a", "b"}, "page": {"2"}},
		Header:     map[string][]string{"X-Request-Id": {"r-1"}, "Accept": {"text/html", "application/json"}},
		Body:       []byte(`{"id": 7, "price": 2.5, "items": [1, "x", null, true]}`),
		User:       execmode.Identity{Name: "bot", Roles: []string{"integrations"}},
		Caller:     &execmode.Identity{Name: "alice", Roles: []string{"staff", "admin"}},
		Endpoint: &execmode.Endpoint{
			Name: "orders", Route: "/orders/{id}", RouteGroup: "shop", RequestMethod: "POST",
			RequestContentType: "application/json", CodeSnippet: "secret code", Version: 3, Active: true,
			AllowedRoles: []string{"staff"},
		},
		Revision: 9,
		Env:      newFakeEnv(),
		Log:      func(string, string) {},
		MaxSteps: 100000,
		Deadline: time.Now().Add(10 * time.Second),
	}
}

// runSnippet compiles and runs src once against inv.
func runSnippet(t *testing.T, src string, inv *execmode.Invocation) (*execmode.Result, *execmode.ExecError) {
	t.Helper()
	p, err := Compile(src)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	res, err := p.Run(context.Background(), inv)
	if err != nil {
		var ee *execmode.ExecError
		if !errors.As(err, &ee) {
			t.Fatalf("Run error is a %T, want *execmode.ExecError: %v", err, err)
		}
		if res != nil {
			t.Errorf("Run returned a result with an error")
		}
		return nil, ee
	}
	return res, nil
}

// payloadOf runs src, which must succeed, and decodes its JSON body.
func payloadOf(t *testing.T, src string, inv *execmode.Invocation) any {
	t.Helper()
	res, ee := runSnippet(t, src, inv)
	if ee != nil {
		t.Fatalf("Run: %v", ee)
	}
	var v any
	if err := json.Unmarshal(res.Body, &v); err != nil {
		t.Fatalf("body %q is not JSON: %v", res.Body, err)
	}
	return v
}

func TestResultContract(t *testing.T) {
	tests := []struct {
		name   string
		src    string
		status int
		header map[string][]string
		body   string
	}{
		{"payload", `result = {"payload": {"hello": "world", "n": 1, "f": 1.5, "ok": True, "none": None, "l": [1, (2, 3)]}}`,
			200, map[string][]string{"Content-Type": {"application/json"}},
			`{"hello":"world","n":1,"f":1.5,"ok":true,"none":null,"l":[1,[2,3]]}`},
		{"dict order kept", `result = {"payload": {"b": 1, "a": 2}}`, 200, nil, `{"b":1,"a":2}`},
		{"missing payload is null", `result = {}`, 200, map[string][]string{"Content-Type": {"application/json"}}, `null`},
		{"payload None", `result = {"payload": None}`, 200, nil, `null`},
		{"a function reads a top-level name bound after it", "def f():\n    return n * 2\nn = 21\nresult = {\"payload\": f()}", 200, nil, `42`},
		{"result bound by a top-level loop", "for i in range(3):\n    result = {\"payload\": i}", 200, nil, `2`},
		{"a per-request name reassigned at the top level", "user = \"me\"\nresult = {\"payload\": user}", 200, nil, `"me"`},
		{"a universal name read before the top level rebinds it", "x = len([1])\nlen = 1\nresult = {\"payload\": [x, len]}", 200, nil, `[1,1]`},
		{"a predeclared name read before the top level rebinds it", "e = json.encode([1])\njson = None\nresult = {\"payload\": e}", 200, nil, `"[1]"`},
		{"a per-request name read in a loop that rebinds it", "seen = []\nfor i in range(2):\n    seen.append(type(request))\n    request = \"r\"\nresult = {\"payload\": seen}", 200, nil, `["request","request"]`},
		{"a universal name read before a def rebinds it", "s = str(1)\ndef str(x):\n    return \"no\"\nresult = {\"payload\": [s, str(2)]}", 200, nil, `["1","no"]`},
		{"string payload escaped", `result = {"payload": "a\"b\\c\n\x01é"}`, 200, nil, `"a\"b\\c\n\u0001é"`},
		{"big int", `result = {"payload": 123456789012345678901234567890}`, 200, nil, `123456789012345678901234567890`},
		{"status and headers", `result = {"payload": [], "status_code": 201, "headers": {"x-trace": "t1", "Vary": ["A", "B"]}}`,
			201, map[string][]string{"Content-Type": {"application/json"}, "X-Trace": {"t1"}, "Vary": {"A", "B"}}, `[]`},
		{"content type overridden", `result = {"payload": {}, "headers": {"Content-Type": "application/problem+json"}}`,
			200, map[string][]string{"Content-Type": {"application/problem+json"}}, `{}`},
		{"204 has no body", `result = {"payload": {"x": 1}, "status_code": 204}`, 204, nil, ``},
		{"time as RFC 3339", `result = {"payload": {"at": time.time(year=2024, month=5, day=6, hour=7, minute=8, second=9, location="UTC")}}`,
			200, nil, `{"at":"2024-05-06T07:08:09Z"}`},
		{"duration as string", `result = {"payload": time.parse_duration("90m")}`, 200, nil, `"1h30m0s"`},
		{"response text", `result = {"response": Response("hi")}`,
			200, map[string][]string{"Content-Type": {"text/plain; charset=utf-8"}}, `hi`},
		{"response full", `result = {"response": Response(b"a,b", status_code=418, headers={"X-A": ["1", "2"]}, content_type="text/csv")}`,
			418, map[string][]string{"Content-Type": {"text/csv"}, "X-A": {"1", "2"}}, `a,b`},
		{"response content type from headers", `result = {"response": Response("<p>", headers={"content-type": "text/html"})}`,
			200, map[string][]string{"Content-Type": {"text/html"}}, `<p>`},
		{"response attributes", `r = Response("x", status_code=202)
result = {"payload": [r.status_code, r.content_type, str(r.body), r.headers["Content-Type"]]}`,
			200, nil, `[202,"text/plain; charset=utf-8","x","text/plain; charset=utf-8"]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, ee := runSnippet(t, tt.src, testInvocation())
			if ee != nil {
				t.Fatalf("Run: %v", ee)
			}
			if res.Status != tt.status {
				t.Errorf("status = %d, want %d", res.Status, tt.status)
			}
			if tt.header != nil && !reflect.DeepEqual(res.Header, tt.header) {
				t.Errorf("header = %v, want %v", res.Header, tt.header)
			}
			if string(res.Body) != tt.body {
				t.Errorf("body = %s, want %s", res.Body, tt.body)
			}
			if res.Steps == 0 {
				t.Error("Steps = 0")
			}
		})
	}
}

func TestFailures(t *testing.T) {
	tests := []struct {
		name    string
		src     string
		kind    string
		status  int
		message string
		errHas  []string // substrings of the full error
	}{
		{"NotFound", `NotFound("no order 42")`, execmode.FailUser, 404, "no order 42", []string{"1:9"}},
		{"BadRequest", `BadRequest("bad id")`, execmode.FailUser, 400, "bad id", nil},
		{"Unauthorized", `Unauthorized("who are you")`, execmode.FailUser, 401, "who are you", nil},
		{"Forbidden", `Forbidden("no")`, execmode.FailUser, 403, "no", nil},
		{"UserError", `UserError("oops")`, execmode.FailUser, 400, "oops", nil},
		{"ValidationError", `ValidationError("price must be positive")`, execmode.FailUser, 400, "price must be positive", nil},
		{"default message", `NotFound()`, execmode.FailUser, 404, "not found", nil},
		{"raised inside a function", "def check(x):\n    if x < 0:\n        Forbidden(\"negative\")\ncheck(-1)", execmode.FailUser, 403, "negative", []string{"3:18 in check", "4:6"}},
		{"fail", `fail("secret token xyz")`, execmode.FailRuntime, 500, msgRuntime, []string{"secret token xyz", "1:5"}},
		{"division by zero", "x = 1\ny = x // 0", execmode.FailRuntime, 500, msgRuntime, []string{"2:7", "division by zero"}},
		{"recursion through a value", "def f(g):\n    return g(g)\nf(f)", execmode.FailRuntime, 500, msgRuntime, []string{"called recursively"}},
		{"print is harmless, fail is not", "print('x')\nfail('y')", execmode.FailRuntime, 500, msgRuntime, nil},
		{"no result", `x = 1`, execmode.FailResult, 500, msgResult, []string{"did not assign result"}},
		{"result bound by a branch that did not run", "if False:\n    result = {}", execmode.FailResult, 500, msgResult, []string{"did not assign result"}},
		{"an error on the last statement's later lines is the snippet's", "result = {\"payload\": 1}\nparts = [\"a\"] + [\n    request.headers[\"X-Missing\"],\n]", execmode.FailRuntime, 500, msgRuntime, []string{"3:20", "not in headers"}},
		{"a function reads a global before the top level binds it", "def f():\n    return n\nx = f()\nn = 1", execmode.FailRuntime, 500, msgRuntime, []string{"2:12 in f, 3:6", "referenced before assignment"}},
		{"error inside a function names it, not the wrapper", "def f():\n    return 1 // 0\nx = f()", execmode.FailRuntime, 500, msgRuntime, []string{"2:14 in f, 3:6: "}},
		{"result not a dict", `result = [1]`, execmode.FailResult, 500, msgResult, []string{"result is a list, want dict"}},
		{"unknown key", `result = {"status": 200}`, execmode.FailResult, 500, msgResult, []string{"unknown key"}},
		{"response with payload", `result = {"response": Response("x"), "payload": 1}`, execmode.FailResult, 500, msgResult, nil},
		{"response not a Response", `result = {"response": "x"}`, execmode.FailResult, 500, msgResult, nil},
		{"bytes payload", `result = {"payload": b"x"}`, execmode.FailResult, 500, msgResult, []string{"bytes"}},
		{"set payload", `result = {"payload": set([1])}`, execmode.FailResult, 500, msgResult, nil},
		{"non-string key", `result = {"payload": {1: 2}}`, execmode.FailResult, 500, msgResult, []string{"want string"}},
		{"cyclic payload", "l = []\nl.append(l)\nresult = {\"payload\": l}", execmode.FailResult, 500, msgResult, []string{"nested too deeply"}},
		{"nan payload", `result = {"payload": float("nan")}`, execmode.FailResult, 500, msgResult, nil},
		{"status out of range", `result = {"status_code": 99}`, execmode.FailResult, 500, msgResult, nil},
		{"status not int", `result = {"status_code": "200"}`, execmode.FailResult, 500, msgResult, nil},
		{"bad header value", `result = {"headers": {"X-A": "a\r\nb"}}`, execmode.FailResult, 500, msgResult, nil},
		{"framing header", `result = {"headers": {"content-length": "1"}}`, execmode.FailResult, 500, msgResult, nil},
		{"bad header name", `result = {"headers": {"a b": "1"}}`, execmode.FailResult, 500, msgResult, nil},
		{"Response bad status", `r = Response("x", status_code=1000)`, execmode.FailResult, 500, msgResult, []string{"1:13"}},
		{"Response bad body", `r = Response(1)`, execmode.FailResult, 500, msgResult, nil},
		{"Response bad header", `r = Response("x", headers={"Transfer-Encoding": "chunked"})`, execmode.FailResult, 500, msgResult, nil},
		{"step budget", "while True:\n    pass", execmode.FailSteps, 500, msgSteps, nil},
		{"hashing loop hits the budget", "big = \"x\" * (8 << 20)\nfor i in range(1000000):\n    hashlib.sha256(big)", execmode.FailSteps, 500, msgSteps, nil},
		{"oversized hash input", "hashlib.sha256(\"x\" * (8 << 20 + 1))", execmode.FailRuntime, 500, msgRuntime, []string{"the limit is 8388608"}},
		{"bad log level", `log("x", level="fatal")`, execmode.FailRuntime, 500, msgRuntime, []string{"level"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv := testInvocation()
			_, ee := runSnippet(t, tt.src, inv)
			if ee == nil {
				t.Fatal("Run succeeded")
			}
			if ee.Kind != tt.kind || ee.Status != tt.status || ee.Message != tt.message {
				t.Errorf("got %s %d %q, want %s %d %q", ee.Kind, ee.Status, ee.Message, tt.kind, tt.status, tt.message)
			}
			if ee.Err == nil {
				t.Fatal("Err is nil")
			}
			for _, s := range tt.errHas {
				if !strings.Contains(ee.Err.Error(), s) {
					t.Errorf("Err = %q, want it to hold %q", ee.Err, s)
				}
			}
			if ee.Steps == 0 && tt.kind != execmode.FailResult {
				t.Error("Steps = 0")
			}
			if tt.kind == execmode.FailSteps && ee.Steps < inv.MaxSteps {
				t.Errorf("Steps = %d, below the budget %d", ee.Steps, inv.MaxSteps)
			}
		})
	}
}

func TestTimeouts(t *testing.T) {
	t.Run("deadline", func(t *testing.T) {
		inv := testInvocation()
		inv.MaxSteps = 0
		inv.Deadline = time.Now().Add(50 * time.Millisecond)
		_, ee := runSnippet(t, "while True:\n    pass", inv)
		if ee == nil || ee.Kind != execmode.FailTimeout || ee.Status != 503 || ee.Message != msgTimeout {
			t.Fatalf("got %v, want a 503 timeout", ee)
		}
	})
	t.Run("deadline already passed", func(t *testing.T) {
		inv := testInvocation()
		inv.Deadline = time.Now().Add(-time.Second)
		_, ee := runSnippet(t, "x = 0\nfor i in range(10000):\n    x += i\nresult = {}", inv)
		if ee == nil || ee.Kind != execmode.FailTimeout {
			t.Fatalf("got %v, want a timeout", ee)
		}
	})
	t.Run("context cancelled", func(t *testing.T) {
		inv := testInvocation()
		inv.MaxSteps = 0
		inv.Deadline = time.Time{}
		p, err := Compile("while True:\n    pass")
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(20*time.Millisecond, cancel)
		_, err = p.Run(ctx, inv)
		var ee *execmode.ExecError
		if !errors.As(err, &ee) || ee.Kind != execmode.FailCancelled {
			t.Fatalf("got %v, want a cancellation, not a timeout", err)
		}
	})
	t.Run("hashing loop hits the deadline", func(t *testing.T) {
		inv := testInvocation()
		inv.MaxSteps = 0
		inv.Deadline = time.Now().Add(100 * time.Millisecond)
		_, ee := runSnippet(t, "big = b\"x\" * (8 << 20)\nwhile True:\n    hmac.new(big, big, \"sha256\")", inv)
		if ee == nil || ee.Kind != execmode.FailTimeout {
			t.Fatalf("got %v, want a timeout", ee)
		}
	})
}

// TestRunawayDoesNotStopOthers runs endless snippets while other requests
// of the same and another program keep being answered.
func TestRunawayDoesNotStopOthers(t *testing.T) {
	loop, err := Compile("while True:\n    pass")
	if err != nil {
		t.Fatal(err)
	}
	hello, err := Compile(`result = {"payload": {"hello": "world"}}`)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			inv := testInvocation()
			inv.MaxSteps = 0
			inv.Deadline = time.Now().Add(300 * time.Millisecond)
			_, err := loop.Run(context.Background(), inv)
			var ee *execmode.ExecError
			if !errors.As(err, &ee) || ee.Kind != execmode.FailTimeout {
				t.Errorf("runaway: got %v, want a timeout", err)
			}
		})
	}
	for range 200 {
		res, err := hello.Run(context.Background(), testInvocation())
		if err != nil || string(res.Body) != `{"hello":"world"}` {
			t.Fatalf("trivial snippet during a runaway: %v %v", res, err)
		}
	}
	wg.Wait()
}

func TestConcurrentRuns(t *testing.T) {
	p, err := Compile(`result = {"payload": {"id": request.path_params["id"], "user": user.name}}`)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 100 {
				inv := testInvocation()
				id := string(rune('a'+i)) + string(rune('a'+j%26))
				inv.PathParams = map[string]string{"id": id}
				res, err := p.Run(context.Background(), inv)
				if err != nil {
					t.Error(err)
					return
				}
				if want := `{"id":"` + id + `","user":"bot"}`; string(res.Body) != want {
					t.Errorf("body = %s, want %s", res.Body, want)
					return
				}
			}
		})
	}
	wg.Wait()
}

// panicEnv is an Env whose every call panics, standing in for a bug
// outside the interpreter.
type panicEnv struct{ execmode.Env }

func (panicEnv) Secret(string) (string, error) { panic("boom") }

func TestPanicIsARuntimeFailure(t *testing.T) {
	p, err := Compile(`result = {"payload": env.secret("webhook_key")}`)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		inv := testInvocation()
		inv.Env = panicEnv{}
		_, err := p.Run(context.Background(), inv)
		var ee *execmode.ExecError
		if !errors.As(err, &ee) || ee.Kind != execmode.FailRuntime || ee.Status != 500 || ee.Message != msgRuntime {
			t.Fatalf("got %v, want a 500 runtime failure", err)
		}
	}
	res, err := p.Run(context.Background(), testInvocation())
	if err != nil || string(res.Body) != `"s3cret"` {
		t.Fatalf("after panics: %v %v", res, err)
	}
}
