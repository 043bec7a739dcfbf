package endpoint

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"golang.org/x/crypto/bcrypt"
	// the file_system storage of the test apps
	_ "github.com/caddyserver/caddy/v2/modules/filestorage"
)

// rec is a declared endpoint in a test config.
type rec map[string]any

// newTestApp provisions the `endpoint` app from appCfg (the apps.endpoint
// JSON) in a Caddy context of its own, without starting any server: the
// storage is a file_system under a temp dir, the logs are discarded. The app
// is cleaned up with the test.
func newTestApp(tb testing.TB, appCfg map[string]any) (*App, caddy.Context) {
	tb.Helper()
	appJSON, err := json.Marshal(appCfg)
	if err != nil {
		tb.Fatal(err)
	}
	storage, _ := json.Marshal(map[string]any{"module": "file_system", "root": tb.TempDir()})
	cfg := &caddy.Config{
		StorageRaw: storage,
		Logging: &caddy.Logging{Logs: map[string]*caddy.CustomLog{
			"default": {BaseLog: caddy.BaseLog{WriterRaw: json.RawMessage(`{"output":"discard"}`)}},
		}},
		AppsRaw: caddy.ModuleMap{"endpoint": appJSON},
	}
	ctx, err := caddy.ProvisionContext(cfg)
	if err != nil {
		tb.Fatalf("provisioning the endpoint app: %v", err)
	}
	mod, err := ctx.App("endpoint")
	if err != nil {
		tb.Fatal(err)
	}
	app := mod.(*App)
	tb.Cleanup(func() { _ = app.Cleanup() })
	return app, ctx
}

// newTestHandler provisions a Handler on the app of ctx.
func newTestHandler(tb testing.TB, ctx caddy.Context, h *Handler) *Handler {
	tb.Helper()
	if err := h.Provision(ctx); err != nil {
		tb.Fatalf("provisioning the handler: %v", err)
	}
	return h
}

// nextHandler records that the chain went on.
type nextHandler struct{ called int }

func (n *nextHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) error {
	n.called++
	w.WriteHeader(http.StatusTeapot)
	return nil
}

const orderSchemaYAML = `
type: object
required: [qty]
properties:
  qty: {type: integer, minimum: 1}
  note: {type: string}
`

func handlerTestConfig(t *testing.T) map[string]any {
	return map[string]any{
		"max_body_size": 2048,
		"max_steps":     20000,
		"users": map[string]any{
			"alice": map[string]any{"password": bcryptHash(t, "alice-pw"), "token_hash": tokenHash("alice-token"), "roles": []string{"staff"}},
			"bob":   map[string]any{"password": bcryptHash(t, "bob-pw"), "roles": []string{"guest"}},
			"bot":   map[string]any{"roles": []string{"integrations"}},
		},
		"endpoints": []rec{
			{"name": "hello", "route": "/hello", "auth_type": "public", "exec_as_user": "bot",
				"code_snippet": `result = {"payload": {"hello": "world", "user": user.name}}`},
			{"name": "item", "route": "/items/{id}",
				"code_snippet": `result = {"payload": {"id": request.path_params["id"], "caller": caller.name}}`},
			{"name": "files", "route": "/files/{rest...}", "auth_type": "public", "exec_as_user": "bot",
				"code_snippet": `result = {"payload": {"rest": request.path_params["rest"]}}`},
			{"name": "staff", "route": "/staff", "allowed_roles": []string{"staff"},
				"code_snippet": `result = {"payload": {"caller": caller.name}}`},
			{"name": "tok", "route": "/tok", "auth_type": "bearer",
				"code_snippet": `result = {"payload": {"caller": caller.name}}`},
			{"name": "order-get", "route": "/orders", "auth_type": "public", "exec_as_user": "bot",
				"code_snippet": `result = {"payload": []}`},
			{"name": "order-post", "route": "/orders", "request_method": "POST", "auth_type": "public", "exec_as_user": "bot",
				"request_content_type": "application/json", "request_content_schema": orderSchemaYAML,
				"code_snippet": `result = {"payload": {"qty": request.json()["qty"]}, "status_code": 201}`},
			{"name": "text", "route": "/text", "request_method": "PUT", "auth_type": "public", "exec_as_user": "bot",
				"request_content_type": "text/plain",
				"code_snippet":         `result = {"response": Response(str(len(request.body)), status_code=202, headers={"X-Len": str(len(request.body))})}`},
			{"name": "cors", "route": "/cors", "auth_type": "public", "exec_as_user": "bot",
				"cors_origins": []string{"https://app.example"},
				"code_snippet": `result = {"payload": "ok"}`},
			{"name": "notfound", "route": "/fail/notfound", "auth_type": "public", "exec_as_user": "bot",
				"code_snippet": `NotFound("no such order")`},
			{"name": "usererr", "route": "/fail/user", "auth_type": "public", "exec_as_user": "bot",
				"code_snippet": `UserError("qty must be even")`},
			{"name": "crash", "route": "/fail/crash", "auth_type": "public", "exec_as_user": "bot",
				"code_snippet": "secret_marker = 1\nx = secret_marker // 0\nresult = {}"},
			{"name": "loop", "route": "/fail/loop", "auth_type": "public", "exec_as_user": "bot",
				"code_snippet": "n = 0\nwhile True:\n    n += 1\n"},
			{"name": "notdict", "route": "/fail/notdict", "auth_type": "public", "exec_as_user": "bot",
				"code_snippet": `result = [1]`},
			{"name": "grouped", "route": "/grouped", "route_group": "g1", "auth_type": "public", "exec_as_user": "bot",
				"code_snippet": `result = {"payload": "g1"}`},
		},
	}
}

// answer is a served request.
type answer struct {
	status int
	header http.Header
	body   string
}

func (a answer) json(t *testing.T) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal([]byte(a.body), &v); err != nil {
		t.Fatalf("answer body %q is not a JSON object: %v", a.body, err)
	}
	return v
}

func serve(t *testing.T, h *Handler, r *http.Request) (answer, *nextHandler) {
	t.Helper()
	next := &nextHandler{}
	w := httptest.NewRecorder()
	if err := h.ServeHTTP(w, r, next); err != nil {
		t.Fatalf("ServeHTTP: %v", err)
	}
	return answer{w.Code, w.Header(), w.Body.String()}, next
}

func TestServeHTTP(t *testing.T) {
	_, ctx := newTestApp(t, handlerTestConfig(t))
	h := newTestHandler(t, ctx, &Handler{})

	withBody := func(method, target, ctype, body string) *http.Request {
		r := httptest.NewRequest(method, target, strings.NewReader(body))
		if ctype != "" {
			r.Header.Set("Content-Type", ctype)
		}
		return r
	}
	withAuth := func(r *http.Request, auth string) *http.Request {
		r.Header.Set("Authorization", auth)
		return r
	}
	withHeader := func(r *http.Request, kv ...string) *http.Request {
		for i := 0; i < len(kv); i += 2 {
			r.Header.Set(kv[i], kv[i+1])
		}
		return r
	}
	get := func(target string) *http.Request { return httptest.NewRequest(http.MethodGet, target, nil) }

	tests := []struct {
		name       string
		req        *http.Request
		wantStatus int
		wantBody   map[string]any    // compared field by field when set
		wantError  string            // the {"error"} message when set
		wantHeader map[string]string // "" means absent
	}{
		// route
		{name: "unknown path", req: get("/nope"), wantStatus: 404, wantError: "not found",
			wantHeader: map[string]string{"Content-Type": "application/json"}},
		{name: "path below a route", req: get("/hello/x"), wantStatus: 404, wantError: "not found"},
		{name: "other route group is served by a handler of all groups", req: get("/grouped"), wantStatus: 200},

		// exec result
		{name: "public exec as user", req: get("/hello"), wantStatus: 200,
			wantBody:   map[string]any{"hello": "world", "user": "bot"},
			wantHeader: map[string]string{"Content-Type": "application/json"}},
		{name: "path parameter", req: withAuth(get("/items/42"), basicHeader("bob", "bob-pw")), wantStatus: 200,
			wantBody: map[string]any{"id": "42", "caller": "bob"}},
		{name: "rest parameter", req: get("/files/a/b/c.txt"), wantStatus: 200,
			wantBody: map[string]any{"rest": "a/b/c.txt"}},
		{name: "response with status and headers", req: withBody("PUT", "/text", "text/plain", "hello"), wantStatus: 202,
			wantHeader: map[string]string{"X-Len": "5", "Content-Length": "1"}},

		// method
		{name: "method not allowed", req: withBody("POST", "/hello", "application/json", "{}"), wantStatus: 405,
			wantError: "method not allowed", wantHeader: map[string]string{"Allow": "GET, HEAD"}},
		{name: "method not allowed lists every method", req: httptest.NewRequest("DELETE", "/orders", nil), wantStatus: 405,
			wantHeader: map[string]string{"Allow": "GET, HEAD, POST"}},
		{name: "OPTIONS without Origin", req: httptest.NewRequest("OPTIONS", "/cors", nil), wantStatus: 204,
			wantHeader: map[string]string{"Allow": "GET, HEAD, OPTIONS", "Access-Control-Allow-Origin": ""}},

		// CORS
		{name: "preflight", req: withHeader(httptest.NewRequest("OPTIONS", "/cors", nil),
			"Origin", "https://app.example", "Access-Control-Request-Method", "GET", "Access-Control-Request-Headers", "X-Thing"),
			wantStatus: 204, wantHeader: map[string]string{
				"Access-Control-Allow-Origin":  "https://app.example",
				"Access-Control-Allow-Methods": "GET",
				"Access-Control-Allow-Headers": "X-Thing",
				"Vary":                         "Origin",
			}},
		{name: "preflight from another origin", req: withHeader(httptest.NewRequest("OPTIONS", "/cors", nil), "Origin", "https://evil.example"),
			wantStatus: 204, wantHeader: map[string]string{"Access-Control-Allow-Origin": "", "Allow": "GET, HEAD, OPTIONS"}},
		{name: "preflight on an endpoint without CORS", req: withHeader(httptest.NewRequest("OPTIONS", "/hello", nil), "Origin", "https://app.example"),
			wantStatus: 405, wantHeader: map[string]string{"Access-Control-Allow-Origin": "", "Allow": "GET, HEAD"}},
		{name: "CORS on a simple request", req: withHeader(get("/cors"), "Origin", "https://app.example"), wantStatus: 200,
			wantHeader: map[string]string{"Access-Control-Allow-Origin": "https://app.example", "Access-Control-Allow-Credentials": "true"}},
		{name: "no CORS for another origin", req: withHeader(get("/cors"), "Origin", "https://evil.example"), wantStatus: 200,
			wantHeader: map[string]string{"Access-Control-Allow-Origin": ""}},

		// auth
		{name: "user endpoint without credentials", req: get("/items/1"), wantStatus: 401, wantError: "authentication required"},
		{name: "user endpoint wrong password", req: withAuth(get("/items/1"), basicHeader("bob", "alice-pw")), wantStatus: 401, wantError: "invalid credentials"},
		{name: "user endpoint unknown user", req: withAuth(get("/items/1"), basicHeader("mallory", "x")), wantStatus: 401},
		{name: "user endpoint by bearer", req: withAuth(get("/items/7"), "Bearer alice-token"), wantStatus: 200,
			wantBody: map[string]any{"id": "7", "caller": "alice"}},
		{name: "user endpoint wrong bearer", req: withAuth(get("/items/7"), "Bearer nope"), wantStatus: 401},
		{name: "unknown scheme is no credentials", req: withAuth(get("/items/7"), "Digest x"), wantStatus: 401, wantError: "authentication required"},
		{name: "bearer endpoint ignores Basic", req: withAuth(get("/tok"), basicHeader("alice", "alice-pw")), wantStatus: 401},
		{name: "bearer endpoint with token", req: withAuth(get("/tok"), "Bearer alice-token"), wantStatus: 200,
			wantBody: map[string]any{"caller": "alice"}},
		{name: "role missing", req: withAuth(get("/staff"), basicHeader("bob", "bob-pw")), wantStatus: 403, wantError: "forbidden: missing role"},
		{name: "role held", req: withAuth(get("/staff"), basicHeader("alice", "alice-pw")), wantStatus: 200,
			wantBody: map[string]any{"caller": "alice"}},
		{name: "wrong password before role", req: withAuth(get("/staff"), basicHeader("alice", "bob-pw")), wantStatus: 401},

		// content type
		{name: "missing content type", req: withBody("POST", "/orders", "", `{"qty": 1}`), wantStatus: 415},
		{name: "wrong content type", req: withBody("POST", "/orders", "text/plain", `{"qty": 1}`), wantStatus: 415,
			wantError: "unsupported media type: this endpoint accepts application/json"},
		{name: "malformed content type", req: withBody("POST", "/orders", "application/json; =", `{"qty": 1}`), wantStatus: 415},
		{name: "content type with parameters and case", req: withBody("POST", "/orders", "Application/JSON; charset=utf-8", `{"qty": 3}`),
			wantStatus: 201, wantBody: map[string]any{"qty": float64(3)}},

		// size
		{name: "body over max_body_size", req: withBody("PUT", "/text", "text/plain", strings.Repeat("x", 2049)), wantStatus: 413,
			wantError: "request body larger than 2048 bytes"},
		{name: "body at max_body_size", req: withBody("PUT", "/text", "text/plain", strings.Repeat("x", 2048)), wantStatus: 202,
			wantHeader: map[string]string{"X-Len": "2048"}},

		// snippet failures
		{name: "NotFound builtin", req: get("/fail/notfound"), wantStatus: 404, wantError: "no such order"},
		{name: "UserError builtin", req: get("/fail/user"), wantStatus: 400, wantError: "qty must be even"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, next := serve(t, h, tt.req)
			if next.called != 0 {
				t.Error("the next handler ran")
			}
			if a.status != tt.wantStatus {
				t.Fatalf("status %d, want %d; body %s", a.status, tt.wantStatus, a.body)
			}
			if tt.wantError != "" {
				if got := a.json(t)["error"]; got != tt.wantError {
					t.Errorf("error %q, want %q", got, tt.wantError)
				}
			}
			if tt.wantBody != nil {
				got := a.json(t)
				for k, v := range tt.wantBody {
					if got[k] != v {
						t.Errorf("body[%q] = %#v, want %#v (body %s)", k, got[k], v, a.body)
					}
				}
			}
			for k, v := range tt.wantHeader {
				if got := a.header.Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
			if cl := a.header.Get("Content-Length"); cl != "" && cl != strconv.Itoa(len(a.body)) {
				t.Errorf("Content-Length %s, body has %d bytes", cl, len(a.body))
			}
		})
	}
}

func TestServeUnauthorizedChallenge(t *testing.T) {
	_, ctx := newTestApp(t, handlerTestConfig(t))
	h := newTestHandler(t, ctx, &Handler{})
	tests := []struct {
		path string
		want []string
	}{
		{"/items/1", []string{`Basic realm="caddy-endpoint"`, `Bearer realm="caddy-endpoint"`}},
		{"/tok", []string{`Bearer realm="caddy-endpoint"`}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			a, _ := serve(t, h, httptest.NewRequest("GET", tt.path, nil))
			if a.status != 401 {
				t.Fatalf("status %d", a.status)
			}
			if got := a.header.Values("WWW-Authenticate"); strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("WWW-Authenticate %q, want %q", got, tt.want)
			}
		})
	}
}

// An identity set by an earlier Caddy auth handler counts for user
// endpoints, not for bearer ones.
func TestServeCaddyAuthIdentity(t *testing.T) {
	_, ctx := newTestApp(t, handlerTestConfig(t))
	h := newTestHandler(t, ctx, &Handler{})
	tests := []struct {
		name, path, id string
		wantStatus     int
		wantCaller     string
	}{
		{"configured user", "/staff", "alice", 200, "alice"},
		{"configured user without role", "/staff", "bob", 403, ""},
		{"outside identity", "/items/1", "ext-user", 200, "ext-user"},
		{"outside identity has no roles", "/staff", "ext-user", 403, ""},
		{"bearer endpoint needs a token", "/tok", "alice", 401, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", tt.path, nil)
			repl := caddy.NewReplacer()
			repl.Set("http.auth.user.id", tt.id)
			r = r.WithContext(context.WithValue(r.Context(), caddy.ReplacerCtxKey, repl))
			a, _ := serve(t, h, r)
			if a.status != tt.wantStatus {
				t.Fatalf("status %d, want %d; body %s", a.status, tt.wantStatus, a.body)
			}
			if tt.wantCaller != "" && a.json(t)["caller"] != tt.wantCaller {
				t.Errorf("caller %v, want %s", a.json(t)["caller"], tt.wantCaller)
			}
		})
	}
}

func TestServeHead(t *testing.T) {
	_, ctx := newTestApp(t, handlerTestConfig(t))
	h := newTestHandler(t, ctx, &Handler{})
	getAns, _ := serve(t, h, httptest.NewRequest("GET", "/hello", nil))
	headAns, _ := serve(t, h, httptest.NewRequest("HEAD", "/hello", nil))
	if headAns.status != 200 {
		t.Fatalf("HEAD status %d", headAns.status)
	}
	if headAns.body != "" {
		t.Errorf("HEAD wrote a body: %q", headAns.body)
	}
	if got, want := headAns.header.Get("Content-Length"), strconv.Itoa(len(getAns.body)); got != want {
		t.Errorf("HEAD Content-Length %s, want the GET body's %s", got, want)
	}
	if headAns.header.Get("Content-Type") != "application/json" {
		t.Errorf("HEAD Content-Type %q", headAns.header.Get("Content-Type"))
	}
}

func TestServePassThruAndGroups(t *testing.T) {
	_, ctx := newTestApp(t, handlerTestConfig(t))
	tests := []struct {
		name       string
		handler    *Handler
		path       string
		wantStatus int
		wantNext   bool
	}{
		{"pass_thru on unknown path", &Handler{PassThru: true}, "/nope", http.StatusTeapot, true},
		{"pass_thru on known path", &Handler{PassThru: true}, "/hello", 200, false},
		{"no pass_thru", &Handler{}, "/nope", 404, false},
		{"group served", &Handler{RouteGroups: []string{"g1"}}, "/grouped", 200, false},
		{"group hides the others", &Handler{RouteGroups: []string{"g1"}}, "/hello", 404, false},
		{"other group", &Handler{RouteGroups: []string{"g2"}}, "/grouped", 404, false},
		{"other group pass_thru", &Handler{RouteGroups: []string{"g2"}, PassThru: true}, "/grouped", http.StatusTeapot, true},
		{"empty group is the ungrouped records", &Handler{RouteGroups: []string{""}}, "/hello", 200, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newTestHandler(t, ctx, tt.handler)
			a, next := serve(t, h, httptest.NewRequest("GET", tt.path, nil))
			if a.status != tt.wantStatus {
				t.Errorf("status %d, want %d", a.status, tt.wantStatus)
			}
			if (next.called == 1) != tt.wantNext {
				t.Errorf("next handler called %d times, want called=%v", next.called, tt.wantNext)
			}
		})
	}
}

func TestServeSchemaViolations(t *testing.T) {
	_, ctx := newTestApp(t, handlerTestConfig(t))
	h := newTestHandler(t, ctx, &Handler{})
	tests := []struct {
		name     string
		body     string
		wantLocs []string // each violation's loc, JSON-encoded
		wantType []string
	}{
		{"wrong type", `{"qty": "two"}`, []string{`["body","qty"]`}, []string{"type"}},
		{"missing property", `{"note": "x"}`, []string{`["body"]`}, []string{"required"}},
		{"two violations", `{"qty": 0, "note": 5}`, []string{`["body","note"]`, `["body","qty"]`}, []string{"type", "minimum"}},
		{"not JSON", `{"qty": `, []string{`["body"]`}, []string{"json_invalid"}},
		{"empty body", ``, []string{`["body"]`}, []string{"json_invalid"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/orders", strings.NewReader(tt.body))
			r.Header.Set("Content-Type", "application/json")
			r.Header.Set("Origin", "https://app.example")
			a, _ := serve(t, h, r)
			if a.status != 400 {
				t.Fatalf("status %d, want 400; body %s", a.status, a.body)
			}
			if a.header.Get("Content-Type") != "application/json" {
				t.Errorf("Content-Type %q", a.header.Get("Content-Type"))
			}
			var got struct {
				Detail []struct {
					Loc  []any  `json:"loc"`
					Msg  string `json:"msg"`
					Type string `json:"type"`
				} `json:"detail"`
			}
			dec := json.NewDecoder(strings.NewReader(a.body))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&got); err != nil {
				t.Fatalf("body %s: %v", a.body, err)
			}
			if len(got.Detail) != len(tt.wantLocs) {
				t.Fatalf("%d violations, want %d: %s", len(got.Detail), len(tt.wantLocs), a.body)
			}
			// violations may come in any order: match them as a set
			want := map[string]bool{}
			for i := range tt.wantLocs {
				want[tt.wantLocs[i]+" "+tt.wantType[i]] = true
			}
			for _, d := range got.Detail {
				loc, _ := json.Marshal(d.Loc)
				if !want[string(loc)+" "+d.Type] {
					t.Errorf("unexpected violation %s %s (%s); want %v", loc, d.Type, d.Msg, want)
				}
				if d.Msg == "" {
					t.Errorf("violation %s has no msg", loc)
				}
			}
		})
	}
}

func TestServeExecFailures(t *testing.T) {
	_, ctx := newTestApp(t, handlerTestConfig(t))
	h := newTestHandler(t, ctx, &Handler{})
	tests := []struct {
		path       string
		wantStatus int
	}{
		{"/fail/crash", 500},
		{"/fail/loop", 500},
		{"/fail/notdict", 500},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			a, _ := serve(t, h, httptest.NewRequest("GET", tt.path, nil))
			if a.status != tt.wantStatus {
				t.Fatalf("status %d, want %d; body %s", a.status, tt.wantStatus, a.body)
			}
			msg, _ := a.json(t)["error"].(string)
			if msg == "" {
				t.Fatalf("no error message: %s", a.body)
			}
			for _, leak := range []string{"secret_marker", "while", "line", ".star", "Traceback"} {
				if strings.Contains(msg, leak) {
					t.Errorf("error %q shows %q", msg, leak)
				}
			}
		})
	}
}

// Snippet log() lines reach the app's log buffer with endpoint and revision.
func TestServeLogLines(t *testing.T) {
	app, ctx := newTestApp(t, map[string]any{
		"users": map[string]any{"bot": map[string]any{}},
		"endpoints": []rec{{"name": "logger", "route": "/log", "auth_type": "public", "exec_as_user": "bot",
			"code_snippet": "log(\"first\")\nlog(\"second\", level=\"warn\")\nresult = {}"}},
	})
	h := newTestHandler(t, ctx, &Handler{})
	if a, _ := serve(t, h, httptest.NewRequest("GET", "/log", nil)); a.status != 200 {
		t.Fatalf("status %d: %s", a.status, a.body)
	}
	lines := app.state.logs.Lines("logger")
	if len(lines) != 2 || lines[0].Message != "first" || lines[1].Message != "second" || lines[1].Level != "warn" {
		t.Fatalf("lines %+v", lines)
	}
	if lines[0].Endpoint != "logger" || lines[0].Time.IsZero() {
		t.Errorf("line %+v lacks endpoint or time", lines[0])
	}
	if got := app.state.logs.Lines("other"); len(got) != 0 {
		t.Errorf("filter other: %+v", got)
	}
}

// benchWriter is a reusable ResponseWriter: httptest.NewRecorder allocates a
// recorder, a header map and a buffer per request, which would be counted
// against the handler.
type benchWriter struct {
	h      http.Header
	status int
	n      int
}

func (w *benchWriter) Header() http.Header { return w.h }
func (w *benchWriter) Write(p []byte) (int, error) {
	w.n += len(p)
	return len(p), nil
}
func (w *benchWriter) WriteHeader(status int) { w.status = status }

// SetReadDeadline is what http.ResponseController finds on the server's
// writer (through Caddy's wrappers): without it every body read would
// count the controller's "not supported" error.
func (w *benchWriter) SetReadDeadline(time.Time) error { return nil }
func (w *benchWriter) reset() {
	clear(w.h)
	w.status, w.n = 0, 0
}

// bodyReader is a request body that can be rewound without allocating.
type bodyReader struct{ bytes.Reader }

func (*bodyReader) Close() error { return nil }

// benchServe serves the same request b.N times and checks every answer.
func benchServe(b *testing.B, endpoint rec, method, target, ctype string, body []byte, wantStatus int) {
	b.Helper()
	endpoint["name"], endpoint["route"], endpoint["auth_type"], endpoint["exec_as_user"] = "bench", "/bench", "public", "bench"
	_, ctx := newTestApp(b, map[string]any{
		"users":     map[string]any{"bench": map[string]any{"roles": []string{"bench"}}},
		"endpoints": []rec{endpoint},
	})
	h := newTestHandler(b, ctx, &Handler{})
	next := &nextHandler{}
	r := httptest.NewRequest(method, target, nil)
	if ctype != "" {
		r.Header.Set("Content-Type", ctype)
	}
	rd := &bodyReader{}
	w := &benchWriter{h: http.Header{}}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w.reset()
		if body != nil {
			rd.Reset(body)
			r.Body, r.ContentLength = rd, int64(len(body))
		}
		if err := h.ServeHTTP(w, r, next); err != nil {
			b.Fatal(err)
		}
		if w.status != wantStatus {
			b.Fatalf("status %d, want %d", w.status, wantStatus)
		}
	}
}

func readBench(b *testing.B, name string) []byte {
	b.Helper()
	data, err := os.ReadFile(filepath.Join("bench", name))
	if err != nil {
		b.Fatal(err)
	}
	return data
}

func BenchmarkServeTrivialSnippet(b *testing.B) {
	benchServe(b, rec{"code_snippet": `result = {"payload": {"hello": "world"}}`},
		"GET", "/bench", "", nil, 200)
}

func BenchmarkServeReadJSONField(b *testing.B) {
	benchServe(b, rec{
		"request_method":       "POST",
		"request_content_type": "application/json",
		"code_snippet":         `result = {"payload": {"name": request.json()["name"]}}`,
	}, "POST", "/bench", "application/json", readBench(b, "small.json"), 200)
}

func BenchmarkServeSchema1KB(b *testing.B) {
	benchServe(b, rec{
		"request_method":         "POST",
		"request_content_type":   "application/json",
		"request_content_schema": string(readBench(b, "schema10.json")),
		"code_snippet":           `result = {"payload": {"id": request.json()["id"]}}`,
	}, "POST", "/bench", "application/json", readBench(b, "body1k.json"), 200)
}

func BenchmarkServeXSD(b *testing.B) {
	benchServe(b, rec{
		"request_method":         "POST",
		"request_content_type":   "application/xml",
		"request_content_schema": string(readBench(b, "note.xsd")),
		"code_snippet":           `result = {"payload": {"ok": True}}`,
	}, "POST", "/bench", "application/xml", readBench(b, "note.xml"), 200)
}

// bcryptHash hashes a password at the lowest cost, to keep tests fast.
func bcryptHash(t testing.TB, password string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

// tokenHash is the token_hash config value of a Bearer token.
func tokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return "sha256:" + hex.EncodeToString(sum[:])
}

func basicHeader(user, password string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
}
