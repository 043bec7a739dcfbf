package endpoint

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/caddy-endpoint/endpoint/env"
	"github.com/caddy-endpoint/endpoint/registry"
)

// dryRunMethods are the methods a dry run may use.
var dryRunMethods = map[string]bool{
	http.MethodGet: true, http.MethodHead: true, http.MethodPost: true,
	http.MethodPut: true, http.MethodDelete: true, http.MethodOptions: true,
}

// dryRunMaxLogs bounds the log() lines a dry run returns.
const dryRunMaxLogs = logRingSize

// dryRunRequest is the body of POST /endpoint/endpoints/{name}/test.
type dryRunRequest struct {
	Method  string            `json:"method"`
	Path    string            `json:"path"`
	Headers map[string]string `json:"headers"`
	Query   map[string]string `json:"query"`
	// Body is the request body: a JSON string is sent as its text, any
	// other JSON value as its JSON encoding.
	Body json.RawMessage `json:"body"`
	// LiveHTTP lets env.http reach the network during the dry run.
	LiveHTTP bool `json:"live_http"`
}

// dryRunAnswer is what a dry run returns.
type dryRunAnswer struct {
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers"`
	Body    string            `json:"body"`
	Logs    []LogLine         `json:"logs"`
	Steps   uint64            `json:"steps"`
	// Error is the full error of a failed run, with the snippet line: the
	// dry run is for the endpoint's author, who may see it.
	Error string `json:"error,omitempty"`
	// LogsDropped counts log() lines past the first dryRunMaxLogs.
	LogsDropped  int          `json:"logs_dropped,omitempty"`
	StoreChanges []env.Change `json:"store_changes"`
}

// DryRun runs the draft name against the described request through the
// same rules as a live request, with store writes kept in a scratch
// overlay and log lines returned instead of logged.
func (a *App) DryRun(ctx context.Context, name string, body []byte) (any, error) {
	var req dryRunRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return nil, &registry.Error{Kind: registry.KindInvalid, Message: fmt.Sprintf("decoding the test request: %v", err)}
	}
	entry, err := a.state.reg.CompileDraft(name)
	if err != nil {
		return nil, err
	}
	rec := entry.Record
	if req.Method == "" {
		req.Method = rec.RequestMethod
	}
	if req.Path == "" {
		req.Path = rec.Route
	}
	req.Method = strings.ToUpper(req.Method)
	if !dryRunMethods[req.Method] {
		return nil, &registry.Error{Kind: registry.KindInvalid, Message: fmt.Sprintf("method %q: want GET, HEAD, POST, PUT, DELETE or OPTIONS", req.Method)}
	}
	route, params, ok := entry.Match(req.Path)
	if !ok {
		return nil, &registry.Error{Kind: registry.KindInvalid, Message: fmt.Sprintf("path %q does not match the route %q", req.Path, rec.Route)}
	}
	var payload []byte
	if len(req.Body) > 0 && string(req.Body) != "null" {
		var s string
		if json.Unmarshal(req.Body, &s) == nil {
			payload = []byte(s)
		} else {
			payload = req.Body
		}
	}
	u := &url.URL{Path: req.Path}
	q := url.Values{}
	for k, v := range req.Query {
		q.Set(k, v)
	}
	u.RawQuery = q.Encode()
	r := httptest.NewRequestWithContext(ctx, req.Method, u.String(), bytes.NewReader(payload))
	for k, v := range req.Headers {
		r.Header.Set(k, v)
	}
	hooks := &runHooks{liveHTTP: req.LiveHTTP}
	rr := httptest.NewRecorder()
	a.serve(rr, r, route, params, 0, hooks)

	ans := dryRunAnswer{
		Status:       rr.Code,
		Headers:      make(map[string]string, len(rr.Header())),
		Body:         rr.Body.String(),
		Logs:         hooks.logs,
		Steps:        hooks.steps,
		Error:        hooks.err,
		LogsDropped:  hooks.logsDropped,
		StoreChanges: []env.Change{},
	}
	for k := range rr.Header() {
		ans.Headers[k] = rr.Header().Get(k)
	}
	if ans.Logs == nil {
		ans.Logs = []LogLine{}
	}
	if hooks.overlay != nil {
		ans.StoreChanges = hooks.overlay.Changes()
	}
	return ans, nil
}

// LogLines returns the buffered log() lines of one endpoint, oldest first.
func (a *App) LogLines(name string) any { return a.state.logs.Lines(name) }
