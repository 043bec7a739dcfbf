package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/caddy-endpoint/endpoint/env"
	"github.com/caddy-endpoint/endpoint/execmode"
	"github.com/caddy-endpoint/endpoint/registry"
)

// dryRunMethods are the methods a dry run may use.
var dryRunMethods = map[string]bool{
	http.MethodGet: true, http.MethodHead: true, http.MethodPost: true,
	http.MethodPut: true, http.MethodPatch: true, http.MethodDelete: true, http.MethodOptions: true,
}

// dryRunMaxLogs bounds the log() lines a dry run returns.
const dryRunMaxLogs = LogRingSize

// DryRunRequest is the body of POST /endpoint/endpoints/{name}/test.
type DryRunRequest struct {
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

// DryRunAnswer is what a dry run returns.
type DryRunAnswer struct {
	Status int `json:"status"`
	// Headers are the answer's header fields, each with all its values in
	// order (two WWW-Authenticate challenges stay two).
	Headers http.Header `json:"headers"`
	Body    string      `json:"body"`
	Logs    []LogLine   `json:"logs"`
	Steps   uint64      `json:"steps"`
	// Error is the full error of a failed run, with the snippet line: the
	// dry run is for the endpoint's author, who may see it.
	Error string `json:"error,omitempty"`
	// LogsDropped counts log() lines past the first dryRunMaxLogs.
	LogsDropped  int          `json:"logs_dropped,omitempty"`
	StoreChanges []env.Change `json:"store_changes"`
}

// DryRun runs entry, a compiled draft, against req through the same rules
// as a live request, with store writes kept in a scratch overlay, no
// outbound HTTP unless req asks, and log lines returned instead of logged.
func (p *Pipeline) DryRun(ctx context.Context, entry *registry.Entry, req DryRunRequest) (*DryRunAnswer, error) {
	rec, sink, err := p.dryRun(ctx, entry, req)
	if err != nil {
		return nil, err
	}
	ans := &DryRunAnswer{
		Status:       rec.status,
		Headers:      rec.header.Clone(),
		Body:         rec.body.String(),
		Logs:         sink.logs,
		Steps:        sink.steps,
		Error:        sink.err,
		LogsDropped:  sink.logsDropped,
		StoreChanges: []env.Change{},
	}
	if ans.Logs == nil {
		ans.Logs = []LogLine{}
	}
	if sink.overlay != nil {
		ans.StoreChanges = sink.overlay.Changes()
	}
	return ans, nil
}

// dryRun serves req to entry with a dry-run sink.
func (p *Pipeline) dryRun(ctx context.Context, entry *registry.Entry, req DryRunRequest) (*recorder, *dryRunSink, error) {
	rec := entry.Record
	if req.Method == "" && len(rec.RequestMethods) > 0 {
		req.Method = rec.RequestMethods[0]
	}
	if req.Path == "" && len(rec.Routes) > 0 {
		req.Path = rec.Routes[0]
	}
	req.Method = strings.ToUpper(req.Method)
	if !dryRunMethods[req.Method] {
		return nil, nil, &registry.Error{Kind: registry.KindInvalid, Message: fmt.Sprintf("method %q: want GET, HEAD, POST, PUT, PATCH, DELETE or OPTIONS", req.Method)}
	}
	route, params, ok := entry.Match(req.Path)
	if !ok {
		return nil, nil, &registry.Error{Kind: registry.KindInvalid, Message: fmt.Sprintf("path %q does not match the routes %s", req.Path, strings.Join(rec.Routes, ", "))}
	}
	r, err := req.httpRequest(ctx)
	if err != nil {
		return nil, nil, &registry.Error{Kind: registry.KindInvalid, Message: fmt.Sprintf("building the test request: %v", err)}
	}
	sink := &dryRunSink{p: p, liveHTTP: req.LiveHTTP}
	w := newRecorder()
	p.serve(&call{w: w, r: r, route: route, params: params, sink: sink})
	return w, sink, nil
}

// httpRequest builds the request the dry run serves.
func (req *DryRunRequest) httpRequest(ctx context.Context) (*http.Request, error) {
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
	r, err := http.NewRequestWithContext(ctx, req.Method, u.String(), bytes.NewReader(payload))
	if err != nil {
		return nil, err
	}
	r.RequestURI = u.RequestURI()
	r.RemoteAddr = "192.0.2.1:1234"
	r.Host = "example.com"
	for k, v := range req.Headers {
		r.Header.Set(k, v)
	}
	return r, nil
}

// recorder keeps the answer of a dry run.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func newRecorder() *recorder { return &recorder{header: http.Header{}} }

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return r.body.Write(b)
}

// dryRunSink is the sink of a dry run: store writes in an overlay, log
// lines and the run's outcome kept for the answer, no metrics.
type dryRunSink struct {
	p           *Pipeline
	liveHTTP    bool
	overlay     *env.Overlay
	logs        []LogLine
	logsDropped int
	steps       uint64
	err         string
}

func (s *dryRunSink) Env(user string, grants *env.Grants) execmode.Env {
	e, overlay := s.p.cfg.Env.DryRun(user, grants, s.liveHTTP)
	s.overlay = overlay
	return e
}

func (s *dryRunSink) Log(line LogLine) {
	if len(s.logs) < dryRunMaxLogs {
		s.logs = append(s.logs, line)
		return
	}
	s.logsDropped++
}

func (s *dryRunSink) Rejected(string) {}

func (s *dryRunSink) Ran(_ string, steps uint64) { s.steps = steps }

func (s *dryRunSink) Failed(_ *call, ee *execmode.ExecError) {
	s.steps = ee.Steps
	s.err = s.p.redactSecrets(ee.Error())
}

func (s *dryRunSink) Served(string, int, time.Duration) {}
