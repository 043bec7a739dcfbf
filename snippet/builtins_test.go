package snippet

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/caddy-endpoint/endpoint/execmode"
)

func TestRequest(t *testing.T) {
	tests := []struct {
		name string
		expr string
		want any // JSON-decoded payload
	}{
		{"method", `request.method`, "POST"},
		{"path", `request.path`, "/orders/42"},
		{"host", `request.host`, "example.com"},
		{"remote_ip", `request.remote_ip`, "192.0.2.7"},
		{"path_params", `request.path_params`, map[string]any{"id": "42"}},
		{"query", `request.query`, map[string]any{"page": "2", "tag": "a"}},
		{"query_all", `request.query_all`, map[string]any{"page": []any{"2"}, "tag": []any{"a", "b"}}},
		{"header get any case", `[request.headers.get("x-request-id"), request.headers.get("X-REQUEST-ID")]`, []any{"r-1", "r-1"}},
		{"header get default", `[request.headers.get("missing"), request.headers.get("missing", "d")]`, []any{nil, "d"}},
		{"header index and in", `[request.headers["accept"], "accept" in request.headers, "nope" in request.headers]`, []any{"text/html", true, false}},
		{"header get_all", `request.headers.get_all("accept")`, []any{"text/html", "application/json"}},
		{"header keys", `request.headers.keys()`, []any{"Accept", "X-Request-Id"}},
		{"text", `request.text`, `{"id": 7, "price": 2.5, "items": [1, "x", null, true]}`},
		{"body is bytes", `type(request.body)`, "bytes"},
		{"json", `request.json()`, map[string]any{"id": 7.0, "price": 2.5, "items": []any{1.0, "x", nil, true}}},
		{"json int stays int", `type(request.json()["id"])`, "int"},
		{"json float", `type(request.json()["price"])`, "float"},
		{"same dict each access", `request.path_params == request.path_params`, true},
		{"user", `[user.name, user.roles, user.is_public]`, []any{"bot", []any{"integrations"}, false}},
		{"caller", `[caller.name, caller.roles, caller.is_public]`, []any{"alice", []any{"staff", "admin"}, false}},
		{"endpoint", `[endpoint.name, endpoint.route, endpoint.route_group, endpoint.auth_type, endpoint.request_method,
			endpoint.request_content_type, endpoint.exec_mode, endpoint.active, endpoint.version, endpoint.revision,
			endpoint.allowed_roles, endpoint.cors_origins, endpoint.exec_as_user]`,
			[]any{"orders", "/orders/{id}", "shop", "user", "POST", "application/json", "code", true, 3.0, 9.0, []any{"staff"}, []any{}, ""}},
		{"endpoint hides the code", `hasattr(endpoint, "code_snippet")`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := payloadOf(t, "result = {\"payload\": "+tt.expr+"}", testInvocation())
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestRequestVariants(t *testing.T) {
	t.Run("anonymous caller is None", func(t *testing.T) {
		inv := testInvocation()
		inv.Caller = nil
		inv.User = execmode.Identity{Public: true}
		got := payloadOf(t, `result = {"payload": [caller == None, user.is_public, user.name]}`, inv)
		if want := []any{true, true, ""}; !reflect.DeepEqual(got, want) {
			t.Errorf("got %v, want %v", got, want)
		}
	})
	t.Run("json reuses the schema's parse", func(t *testing.T) {
		inv := testInvocation()
		inv.Body = []byte("this is not JSON")
		inv.JSON = map[string]any{"id": json.Number("12345678901234567890123"), "f": json.Number("1e3"), "list": []any{json.Number("-1")}}
		inv.HasJSON = true
		got := payloadOf(t, `j = request.json()
result = {"payload": [j["id"], type(j["f"]), j["list"], list(j.keys())]}`, inv)
		want := []any{1.2345678901234568e22, "float", []any{-1.0}, []any{"f", "id", "list"}}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("got %v, want %v", got, want)
		}
	})
	t.Run("parsed JSON null", func(t *testing.T) {
		inv := testInvocation()
		inv.JSON, inv.HasJSON = nil, true
		if got := payloadOf(t, `result = {"payload": request.json() == None}`, inv); got != true {
			t.Errorf("got %v", got)
		}
	})
	t.Run("invalid JSON body is a 400", func(t *testing.T) {
		inv := testInvocation()
		inv.Body = []byte(`{"a": `)
		_, ee := runSnippet(t, `x = request.json()`, inv)
		if ee == nil || ee.Kind != execmode.FailUser || ee.Status != 400 {
			t.Fatalf("got %v, want a 400", ee)
		}
	})
	t.Run("number a float cannot hold is a 400", func(t *testing.T) {
		parsed := testInvocation()
		parsed.JSON, parsed.HasJSON = map[string]any{"a": json.Number("1e400")}, true
		raw := testInvocation()
		raw.Body = []byte(`{"a": 1e400}`)
		long := testInvocation()
		long.Body = []byte("[" + strings.Repeat("7", 5000) + "]")
		for name, inv := range map[string]*execmode.Invocation{"parsed": parsed, "raw": raw, "long integer": long} {
			_, ee := runSnippet(t, `x = request.json()`, inv)
			if ee == nil || ee.Kind != execmode.FailUser || ee.Status != 400 || !strings.Contains(ee.Message, "request body cannot be read") {
				t.Errorf("%s: got %v, want a 400", name, ee)
			}
		}
	})
	t.Run("deeply nested JSON body is refused", func(t *testing.T) {
		inv := testInvocation()
		inv.Body = []byte(strings.Repeat("[", 5000) + strings.Repeat("]", 5000))
		_, ee := runSnippet(t, `x = request.json()`, inv)
		if ee == nil || ee.Status != 400 {
			t.Fatalf("got %v, want a 400", ee)
		}
	})
	t.Run("form", func(t *testing.T) {
		inv := testInvocation()
		inv.Body = []byte("a=1&b=x+y&a=2")
		got := payloadOf(t, `result = {"payload": request.form}`, inv)
		if want := map[string]any{"a": "1", "b": "x y"}; !reflect.DeepEqual(got, want) {
			t.Errorf("got %v, want %v", got, want)
		}
	})
	t.Run("bad form is a 400", func(t *testing.T) {
		inv := testInvocation()
		inv.Body = []byte("a=%zz")
		_, ee := runSnippet(t, `x = request.form`, inv)
		if ee == nil || ee.Status != 400 {
			t.Fatalf("got %v, want a 400", ee)
		}
	})
	t.Run("no endpoint record", func(t *testing.T) {
		inv := testInvocation()
		inv.Endpoint = nil
		if got := payloadOf(t, `result = {"payload": [endpoint.name, endpoint.auth_type]}`, inv); !reflect.DeepEqual(got, []any{"", "user"}) {
			t.Errorf("got %v", got)
		}
	})
}

func TestBuiltins(t *testing.T) {
	mac := hmac.New(sha256.New, []byte("key"))
	mac.Write([]byte("msg"))
	hmacHex := hex.EncodeToString(mac.Sum(nil))

	tests := []struct {
		name string
		expr string
		want any
	}{
		{"md5", `hashlib.md5("abc").hexdigest()`, "900150983cd24fb0d6963f7d28e17f72"},
		{"sha1", `hashlib.sha1("abc").hexdigest()`, "a9993e364706816aba3e25717850c26c9cd0d89d"},
		{"sha224", `hashlib.sha224("abc").hexdigest()`, "23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7"},
		{"sha256", `hashlib.sha256(b"abc").hexdigest()`, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
		{"sha384", `hashlib.sha384("abc").hexdigest()[:16]`, "cb00753f45a35e8b"},
		{"sha512", `hashlib.sha512("abc").hexdigest()[:16]`, "ddaf35a193617aba"},
		{"sha3_256", `hashlib.sha3_256("abc").hexdigest()[:16]`, "3a985da74fe225b2"},
		{"blake2b", `hashlib.blake2b("abc").hexdigest()[:16]`, "ba80a53f981c4d0d"},
		{"empty hash", `hashlib.sha256().hexdigest()[:8]`, "e3b0c442"},
		{"digest is bytes", `[type(hashlib.sha256("abc").digest()), len(hashlib.sha256("abc").digest())]`, []any{"bytes", 32.0}},
		{"hmac by name", `hmac.new("key", "msg", "sha256").hexdigest()`, hmacHex},
		{"hmac by function", `hmac.new(b"key", b"msg", digestmod=hashlib.sha256).hexdigest()`, hmacHex},
		{"hmac digest", `len(hmac.new("key", "msg", "SHA512").digest())`, 64.0},
		{"compare_digest", `[hmac.compare_digest("a", "a"), hmac.compare_digest("a", "b"), hmac.compare_digest(b"ab", "ab"), hmac.compare_digest("a", "ab")]`,
			[]any{true, false, true, false}},
		{"github signature", `"sha256=" + hmac.new("key", request.body, "sha256").hexdigest() == "sha256=" + hmac.new("key", request.text, "sha256").hexdigest()`, true},
		{"base64", `[base64.encode("hi?>"), base64.urlsafe_encode(b"hi?>"), str(base64.decode("aGk/Pg==")), str(base64.decode("aGk/Pg")), str(base64.urlsafe_decode("aGk_Pg=="))]`,
			[]any{"aGk/Pg==", "aGk_Pg==", "hi?>", "hi?>", "hi?>"}},
		{"json encode", `json.encode({"b": [1, 2.5, None], "a": time.from_timestamp(0).in_location("UTC")})`, `{"b":[1,2.5,null],"a":"1970-01-01T00:00:00Z"}`},
		{"json decode", `json.decode('{"b": 1, "a": [true, 1.5, "x"]}')`, map[string]any{"a": []any{true, 1.5, "x"}, "b": 1.0}},
		{"json decode default", `json.decode("nope", default=7)`, 7.0},
		{"json indent", `json.indent('{"a":1}', indent="  ")`, "{\n  \"a\": 1\n}"},
		{"json encode_indent", `json.encode_indent([1], indent=" ")`, "[\n 1\n]"},
		{"time", `time.parse_time("2024-01-02T03:04:05Z").year`, 2024.0},
		{"duration", `str(time.hour * 2)`, "2h0m0s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := payloadOf(t, "result = {\"payload\": "+tt.expr+"}", testInvocation())
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestBuiltinErrors(t *testing.T) {
	tests := []struct {
		name   string
		src    string
		errHas string
	}{
		{"hmac without digestmod", `hmac.new("k", "m")`, "digestmod is required"},
		{"hmac unknown digestmod", `hmac.new("k", "m", "crc32")`, "unknown digestmod"},
		{"hash of an int", `hashlib.sha256(1)`, "want string or bytes"},
		{"bad base64", `base64.decode("!!!!")`, "invalid base64"},
		{"bad padding", `base64.decode("a===")`, "invalid padding"},
		{"bad json", `json.decode("{")`, "invalid JSON"},
		{"json of a function", `json.encode(len)`, "cannot encode"},
		{"log needs a message", `log()`, "missing argument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ee := runSnippet(t, tt.src, testInvocation())
			if ee == nil || ee.Kind != execmode.FailRuntime {
				t.Fatalf("got %v, want a runtime error", ee)
			}
			if !strings.Contains(ee.Err.Error(), tt.errHas) {
				t.Errorf("Err = %q, want %q in it", ee.Err, tt.errHas)
			}
		})
	}
}

func TestLog(t *testing.T) {
	rec := &logRecorder{}
	inv := testInvocation()
	inv.Log = rec.log
	_, ee := runSnippet(t, `log("starting")
log("careful", level="warn")
log({"n": 1}, "debug")
log("x" * 10000, "error")
print("printed")
result = {}`, inv)
	if ee != nil {
		t.Fatal(ee)
	}
	want := []logLine{
		{"info", "starting"},
		{"warn", "careful"},
		{"debug", `{"n": 1}`},
		{"error", strings.Repeat("x", MaxLogMessage) + "…"},
		{"debug", "printed"},
	}
	if !reflect.DeepEqual(rec.lines, want) {
		t.Errorf("log lines = %q, want %q", rec.lines, want)
	}
}

func TestEnv(t *testing.T) {
	fake := newFakeEnv()
	fake.answers["https://api.example.com/x"] = &execmode.OutboundResponse{
		StatusCode: 201,
		Header:     map[string][]string{"Content-Type": {"application/json"}},
		Body:       []byte(`{"ok": true}`),
	}
	inv := testInvocation()
	inv.Env = fake
	got := payloadOf(t, `
env.store.put("orders", "o1", {"total": 3, "items": ["a"], "at": time.from_timestamp(0).in_location("UTC")})
env.store.put("orders", "o2", 5)
v = env.store.get("orders", "o1")
missing = env.store.get("orders", "nope", default="d")
keys = env.store.list("orders")
some = env.store.list("orders", prefix="o2")
env.store.delete("orders", "o2")
after = env.store.list("orders")
r = env.http.post("https://api.example.com/x", json={"q": 1}, headers={"X-Key": env.secret("webhook_key")}, timeout=2.5)
result = {"payload": {"v": v, "missing": missing, "keys": keys, "some": some, "after": after,
    "http": [r.status_code, r.headers.get("content-type"), r.json(), r.text, str(r.body)]}}
`, inv)
	want := map[string]any{
		"v":       map[string]any{"at": "1970-01-01T00:00:00Z", "items": []any{"a"}, "total": 3.0},
		"missing": "d",
		"keys":    []any{"o1", "o2"},
		"some":    []any{"o2"},
		"after":   []any{"o1"},
		"http":    []any{201.0, "application/json", map[string]any{"ok": true}, `{"ok": true}`, `{"ok": true}`},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("payload = %v\nwant %v", got, want)
	}
	wantCalls := []string{
		`put orders/o1 {"total":3,"items":["a"],"at":"1970-01-01T00:00:00Z"}`,
		`put orders/o2 5`,
		`get orders/o1`,
		`get orders/nope`,
		`list orders `,
		`list orders o2`,
		`delete orders/o2`,
		`list orders `,
		`secret webhook_key`,
		`http POST https://api.example.com/x`,
	}
	if calls := fake.Calls(); !reflect.DeepEqual(calls, wantCalls) {
		t.Errorf("calls = %q\nwant %q", calls, wantCalls)
	}
	req := fake.requests[0]
	if string(req.Body) != `{"q":1}` || req.Header["Content-Type"][0] != "application/json" ||
		req.Header["X-Key"][0] != "s3cret" || req.Timeout != 2500*time.Millisecond {
		t.Errorf("outbound request = %+v", req)
	}
	if !fake.deadline {
		t.Error("Env calls got a context without the run's deadline")
	}
}

func TestEnvErrors(t *testing.T) {
	tests := []struct {
		name   string
		src    string
		errHas string
	}{
		{"write without grant", `env.store.put("config", "k", 1)`, `grant store config write`},
		{"read without grant", `env.store.get("payroll", "k")`, `grant store payroll read`},
		{"list without grant", `env.store.list("payroll")`, `no grant to read store namespace "payroll"`},
		{"secret without grant", `env.secret("db_password")`, `grant secret db_password`},
		{"http without grant", `env.http.get("https://evil.example/")`, `grant http`},
		{"value not JSON-able", `env.store.put("orders", "k", b"x")`, `cannot encode a bytes`},
		{"body and json", `env.http.post("https://api.example.com/x", body="a", json=1)`, `not both`},
		{"bad timeout", `env.http.get("https://api.example.com/x", timeout=-1)`, `positive`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ee := runSnippet(t, tt.src, testInvocation())
			if ee == nil || ee.Kind != execmode.FailRuntime || ee.Status != 500 || ee.Message != msgRuntime {
				t.Fatalf("got %v, want a 500 runtime error", ee)
			}
			if !strings.Contains(ee.Err.Error(), tt.errHas) {
				t.Errorf("Err = %q, want %q in it", ee.Err, tt.errHas)
			}
			if strings.Contains(ee.Message, "grant") {
				t.Errorf("client message %q names the grant", ee.Message)
			}
		})
	}
}
