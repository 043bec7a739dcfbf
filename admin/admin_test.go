package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/certmagic"

	"github.com/caddy-endpoint/endpoint/env"
	"github.com/caddy-endpoint/endpoint/execmode"
	"github.com/caddy-endpoint/endpoint/pipeline"
	"github.com/caddy-endpoint/endpoint/registry"
	"github.com/caddy-endpoint/endpoint/schema"
	"github.com/caddy-endpoint/endpoint/snippet"
)

// statusOf returns the status of an error the admin handlers return; 0
// when err is nil (the handler wrote the answer itself).
func statusOf(t *testing.T, err error) int {
	t.Helper()
	if err == nil {
		return 0
	}
	var ae caddy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v (%T) is not a caddy.APIError", err, err)
	}
	return ae.HTTPStatus
}

func TestRegistryErr(t *testing.T) {
	details := []registry.Detail{
		{Field: "route", Message: "must be absolute"},
		{Name: "orders", Field: "code_snippet", Message: "1:5: undefined: x"},
	}
	tests := []struct {
		name        string
		err         error
		wantStatus  int
		wantWritten bool // answered with details in the body
	}{
		{"invalid", &registry.Error{Kind: registry.KindInvalid, Message: "bad record"}, 400, false},
		{"not found", &registry.Error{Kind: registry.KindNotFound, Message: "no endpoint x"}, 404, false},
		{"exists", &registry.Error{Kind: registry.KindExists, Message: "x exists"}, 409, false},
		{"read only", &registry.Error{Kind: registry.KindReadOnly, Message: "x is declared"}, 409, false},
		{"stale", &registry.Error{Kind: registry.KindStale, Message: "etag mismatch"}, 412, false},
		{"unknown kind", &registry.Error{Kind: registry.Kind(99), Message: "odd"}, 500, false},
		{"wrapped", errorsJoin(&registry.Error{Kind: registry.KindNotFound, Message: "gone"}), 404, false},
		{"plain error", errors.New("disk full"), 500, false},
		{"invalid with details", &registry.Error{Kind: registry.KindInvalid, Message: "sync refused", Details: details}, 400, true},
		{"stale with details", &registry.Error{Kind: registry.KindStale, Message: "stale", Details: details[:1]}, 412, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			err := registryErr(w, tt.err)
			if !tt.wantWritten {
				if got := statusOf(t, err); got != tt.wantStatus {
					t.Fatalf("status %d, want %d", got, tt.wantStatus)
				}
				if w.Body.Len() != 0 {
					t.Errorf("wrote a body %q; Caddy writes the APIError", w.Body.String())
				}
				var re *registry.Error
				if errors.As(tt.err, &re) && re.Kind >= registry.KindInvalid && re.Kind <= registry.KindStale {
					var ae caddy.APIError
					errors.As(err, &ae)
					if ae.Message != re.Message {
						t.Errorf("message %q, want %q", ae.Message, re.Message)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("returned %v after writing the answer", err)
			}
			if w.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d", w.Code, tt.wantStatus)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			var body struct {
				Error   string            `json:"error"`
				Details []registry.Detail `json:"details"`
			}
			dec := json.NewDecoder(w.Body)
			dec.DisallowUnknownFields()
			if err := dec.Decode(&body); err != nil {
				t.Fatal(err)
			}
			re := tt.err.(*registry.Error)
			if body.Error != re.Message || len(body.Details) != len(re.Details) {
				t.Fatalf("body %+v, want %+v", body, re)
			}
			for i := range body.Details {
				if body.Details[i] != re.Details[i] {
					t.Errorf("detail %d: %+v, want %+v", i, body.Details[i], re.Details[i])
				}
			}
		})
	}
}

// errorsJoin wraps err the way a caller might.
func errorsJoin(err error) error { return errors.Join(errors.New("context"), err) }

// failingReader fails after its data.
type failingReader struct{ r io.Reader }

func (f failingReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		return n, errors.New("connection reset")
	}
	return n, err
}

func TestReadJSON(t *testing.T) {
	tests := []struct {
		name       string
		ctype      string
		also       []string
		body       io.Reader
		wantStatus int // 0: accepted
		wantLen    int
	}{
		{"json", "application/json", nil, strings.NewReader(`{"a":1}`), 0, 7},
		{"json with charset", "application/json; charset=utf-8", nil, strings.NewReader(`{}`), 0, 2},
		{"json upper case", "Application/JSON", nil, strings.NewReader(`{}`), 0, 2},
		{"empty json body", "application/json", nil, strings.NewReader(``), 0, 0},
		{"no content type", "", nil, strings.NewReader(`{}`), 415, 0},
		{"text plain", "text/plain", nil, strings.NewReader(`{}`), 415, 0},
		{"form (CSRF)", "application/x-www-form-urlencoded", nil, strings.NewReader(`a=1`), 415, 0},
		{"malformed type", "application/", nil, strings.NewReader(`{}`), 415, 0},
		{"merge patch refused by default", "application/merge-patch+json", nil, strings.NewReader(`{}`), 415, 0},
		{"merge patch when accepted", "application/merge-patch+json", []string{"application/merge-patch+json"}, strings.NewReader(`{}`), 0, 2},
		{"json still accepted with extras", "application/json", []string{"application/merge-patch+json"}, strings.NewReader(`{}`), 0, 2},
		{"at MaxPayload", "application/json", nil, bytes.NewReader(make([]byte, MaxPayload)), 0, MaxPayload},
		{"over MaxPayload", "application/json", nil, bytes.NewReader(make([]byte, MaxPayload+1)), 413, 0},
		{"read failure", "application/json", nil, failingReader{strings.NewReader(`{"a"`)}, 400, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/endpoint/endpoints", tt.body)
			if tt.ctype != "" {
				r.Header.Set("Content-Type", tt.ctype)
			}
			body, err := readJSON(r, tt.also...)
			if got := statusOf(t, err); got != tt.wantStatus {
				t.Fatalf("status %d, want %d (err %v)", got, tt.wantStatus, err)
			}
			if err == nil && len(body) != tt.wantLen {
				t.Errorf("read %d bytes, want %d", len(body), tt.wantLen)
			}
		})
	}
}

// newBackend is a real backend over a scratch storage, holding one draft
// "orders" and one log line of it.
func newBackend(t *testing.T) *Backend {
	t.Helper()
	storage := &certmagic.FileStorage{Path: t.TempDir()}
	modes := map[string]execmode.ExecMode{"code": snippet.CodeMode{}}
	reg, err := registry.New(context.Background(), registry.Options{
		Storage: storage, Prefix: "endpoint", ExecModes: modes, CompileSchema: schema.Compile,
		UserExists: func(string) bool { return false },
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Create(context.Background(), []byte(`{"name": "orders", "route": "/orders", "code_snippet": "result = {\"payload\": 1}"}`)); err != nil {
		t.Fatal(err)
	}
	service, err := env.New(env.Config{Storage: storage})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(service.Close)
	logs := pipeline.NewLogRing(8)
	logs.Add(pipeline.LogLine{Endpoint: "orders", Message: "line of orders"})
	p, err := pipeline.New(pipeline.Config{MaxBodySize: 1 << 20, MaxSteps: 1e6, Timeout: time.Second, Env: service, Logs: logs})
	if err != nil {
		t.Fatal(err)
	}
	return &Backend{Registry: reg, Pipeline: p, Logs: logs, Live: reg.Live, ExecModes: modes}
}

func TestRoutes(t *testing.T) {
	jsonReq := func(method, target, body string) *http.Request {
		r := httptest.NewRequest(method, target, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		return r
	}
	tests := []struct {
		name       string
		req        *http.Request
		wantStatus int
		wantAllow  string // "" means absent
		wantBody   string // substring of the written body
	}{
		{name: "help", req: httptest.NewRequest("GET", "/endpoint/help", nil), wantStatus: 200, wantBody: "{"},
		{name: "openapi", req: httptest.NewRequest("GET", "/endpoint/openapi.json", nil), wantStatus: 200, wantBody: `"openapi":"3.1.0"`},
		{name: "help of an exec mode without any", req: httptest.NewRequest("GET", "/endpoint/help?exec_mode=echo", nil), wantStatus: 404},
		{name: "logs all", req: httptest.NewRequest("GET", "/endpoint/logs", nil), wantStatus: 200, wantBody: `"message":"line of orders"`},
		{name: "logs filtered", req: httptest.NewRequest("GET", "/endpoint/logs?endpoint=other", nil), wantStatus: 200, wantBody: `[]`},
		{name: "HEAD is served as GET", req: httptest.NewRequest("HEAD", "/endpoint/help", nil), wantStatus: 200},
		{name: "unknown admin path", req: httptest.NewRequest("GET", "/endpoint/nope", nil), wantStatus: 404},
		{name: "405 on logs", req: httptest.NewRequest("POST", "/endpoint/logs", nil), wantStatus: 405, wantAllow: "HEAD, GET"},
		{name: "405 on sync", req: httptest.NewRequest("PUT", "/endpoint/sync", nil), wantStatus: 405, wantAllow: "HEAD, GET, POST"},
		{name: "405 on the collection", req: httptest.NewRequest("DELETE", "/endpoint/endpoints", nil), wantStatus: 405, wantAllow: "HEAD, GET, POST"},
		{name: "405 on a record", req: httptest.NewRequest("POST", "/endpoint/endpoints/x", nil), wantStatus: 405, wantAllow: "HEAD, GET, PUT, PATCH, DELETE"},
		{name: "405 on rollback", req: httptest.NewRequest("GET", "/endpoint/rollback", nil), wantStatus: 405, wantAllow: "POST"},
		{name: "405 on test", req: httptest.NewRequest("GET", "/endpoint/endpoints/x/test", nil), wantStatus: 405, wantAllow: "POST"},
		{name: "test needs JSON", req: httptest.NewRequest("POST", "/endpoint/endpoints/x/test", strings.NewReader(`{}`)), wantStatus: 415},
		{name: "test runs the dry run", req: jsonReq("POST", "/endpoint/endpoints/orders/test", `{"method":"GET"}`),
			wantStatus: 200, wantBody: `"status":401`},
		{name: "test of an unknown draft", req: jsonReq("POST", "/endpoint/endpoints/x/test", `{}`), wantStatus: 404},
		{name: "test with a bad method", req: jsonReq("POST", "/endpoint/endpoints/orders/test", `{"method":"TRACE"}`), wantStatus: 400},
		{name: "test with an unknown field", req: jsonReq("POST", "/endpoint/endpoints/orders/test", `{"verb":"GET"}`), wantStatus: 400},
		{name: "rollback needs JSON", req: httptest.NewRequest("POST", "/endpoint/rollback", strings.NewReader(`{"revision":1}`)), wantStatus: 415},
		{name: "rollback unknown field", req: jsonReq("POST", "/endpoint/rollback", `{"rev":1}`), wantStatus: 400},
		{name: "rollback revision 0", req: jsonReq("POST", "/endpoint/rollback", `{"revision":0}`), wantStatus: 400},
		{name: "rollback not JSON", req: jsonReq("POST", "/endpoint/rollback", `revision=1`), wantStatus: 400},
		{name: "sync needs JSON", req: httptest.NewRequest("POST", "/endpoint/sync", nil), wantStatus: 415},
		{name: "list bad active", req: httptest.NewRequest("GET", "/endpoint/endpoints?active=maybe", nil), wantStatus: 400},
		{name: "create needs JSON", req: httptest.NewRequest("POST", "/endpoint/endpoints", strings.NewReader(`{}`)), wantStatus: 415},
		{name: "patch refuses text", req: httptest.NewRequest("PATCH", "/endpoint/endpoints/x", strings.NewReader(`{}`)), wantStatus: 415},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBackend(t)
			calls := newCalls(func(*http.Request) (*Backend, error) { return b, nil }, writeAPIError)
			w := httptest.NewRecorder()
			calls.ServeHTTP(w, tt.req)
			if w.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d (body %s)", w.Code, tt.wantStatus, w.Body.String())
			}
			if w.Code >= 400 && !strings.HasPrefix(w.Body.String(), `{"error":`) {
				t.Errorf("error body %s is not in the admin listener's shape", w.Body.String())
			}
			if got := w.Header().Get("Allow"); got != tt.wantAllow {
				t.Errorf("Allow %q, want %q", got, tt.wantAllow)
			}
			if tt.wantBody != "" && !strings.Contains(w.Body.String(), tt.wantBody) {
				t.Errorf("body %s, want it to contain %s", w.Body.String(), tt.wantBody)
			}
		})
	}
}

// Without a configured app the admin routes answer 503.
func TestServeWithoutApp(t *testing.T) {
	a := &API{}
	if err := a.Provision(caddy.Context{}); err != nil {
		t.Fatal(err)
	}
	routes := a.Routes()
	if len(routes) != 1 || routes[0].Pattern != "/endpoint/" {
		t.Fatalf("routes %+v", routes)
	}
	for _, path := range []string{"/endpoint/help", "/endpoint/nope"} {
		w := httptest.NewRecorder()
		if err := routes[0].Handler.ServeHTTP(w, httptest.NewRequest("GET", path, nil)); err != nil {
			t.Fatalf("%s: the error %v went back to Caddy", path, err)
		}
		if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), "not configured") {
			t.Errorf("%s: %d %s, want 503", path, w.Code, w.Body.String())
		}
	}
}
