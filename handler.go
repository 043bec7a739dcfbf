package endpoint

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	ecaddyfile "github.com/caddy-endpoint/endpoint/caddyfile"
	"github.com/caddy-endpoint/endpoint/env"
	"github.com/caddy-endpoint/endpoint/execmode"
	"github.com/caddy-endpoint/endpoint/registry"
	"github.com/caddy-endpoint/endpoint/schema"
)

func init() {
	caddy.RegisterModule(Handler{})
	httpcaddyfile.RegisterHandlerDirective("endpoint", parseCaddyfile)
	httpcaddyfile.RegisterDirectiveOrder("endpoint", httpcaddyfile.Before, "respond")
}

// Handler serves the live endpoints of the `endpoint` app (SPEC §5).
type Handler struct {
	// RouteGroups limits the handler to endpoints of these route groups.
	// Default: all groups.
	RouteGroups []string `json:"route_groups,omitempty"`

	// PassThru hands a request whose path matches no endpoint to the next
	// handler instead of answering 404. Default: false.
	PassThru bool `json:"pass_thru,omitempty"`

	app    *App
	logger *zap.Logger
	// matcher caches the group matcher of the live table it was made for.
	matcher *atomic.Pointer[tableMatcher]
}

type tableMatcher struct {
	table *registry.Table
	m     *registry.Matcher
}

// CaddyModule returns the Caddy module information.
func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.endpoint",
		New: func() caddy.Module { return new(Handler) },
	}
}

// Provision finds the `endpoint` app.
func (h *Handler) Provision(ctx caddy.Context) error {
	h.logger = ctx.Logger()
	h.matcher = new(atomic.Pointer[tableMatcher])
	app, err := ctx.App("endpoint")
	if err != nil {
		return fmt.Errorf("getting the endpoint app: %v", err)
	}
	h.app = app.(*App)
	return nil
}

func (h *Handler) matcherFor(t *registry.Table) *registry.Matcher {
	if c := h.matcher.Load(); c != nil && c.table == t {
		return c.m
	}
	c := &tableMatcher{table: t, m: t.Matcher(h.RouteGroups)}
	h.matcher.Store(c)
	return c.m
}

// ServeHTTP applies the request rules in the order of SPEC §5.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	table := h.app.state.reg.Live()
	method := r.Method
	switch method {
	case http.MethodHead:
		method = http.MethodGet
	case http.MethodOptions:
		method = ""
	}
	route, params, ok := h.matcherFor(table).MatchMethod(r.URL.EscapedPath(), method)
	if !ok {
		if h.PassThru {
			return next.ServeHTTP(w, r)
		}
		writeError(w, http.StatusNotFound, "not found")
		return nil
	}
	h.app.serve(w, r, route, params, table.Revision(), nil)
	return nil
}

// runHooks lets a dry run replace what a live request uses.
type runHooks struct {
	liveHTTP    bool
	overlay     *env.Overlay
	logs        []LogLine
	logsDropped int
	steps       uint64
	err         string
}

// serve runs the rules after routing: method, CORS, auth, content type,
// size, schema, exec.
func (a *App) serve(w http.ResponseWriter, r *http.Request, route *registry.Route, params map[string]string, revision int64, hooks *runHooks) {
	start := time.Now()
	method := r.Method
	if method == http.MethodHead {
		method = http.MethodGet
	}
	entry := route.Methods[method]
	origin := r.Header.Get("Origin")
	if r.Method == http.MethodOptions {
		if origin != "" && preflight(w, r, route, origin) {
			return
		}
		if route.CORS {
			// a plain OPTIONS on a CORS endpoint says what it allows
			w.Header().Set("Allow", route.Allow)
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
	if entry == nil {
		w.Header().Set("Allow", route.Allow)
		writeError(w, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	rec := entry.Record
	if entry.CORS {
		w.Header().Add("Vary", "Origin")
		if entry.AllowsOrigin(origin) {
			corsHeaders(w.Header(), entry, origin)
		}
	}
	status := a.serveEntry(w, r, entry, params, revision, hooks)
	if hooks == nil {
		m := a.metrics.of(rec.Name)
		m.requests(status).Inc()
		m.duration.Observe(time.Since(start).Seconds())
	}
}

func (a *App) serveEntry(w http.ResponseWriter, r *http.Request, entry *registry.Entry, params map[string]string, revision int64, hooks *runHooks) int {
	rec := entry.Record

	// auth
	caller, status, msg := a.authenticate(r, entry)
	if status != 0 {
		if status == http.StatusUnauthorized {
			challenge(w.Header(), rec.AuthType)
		}
		return writeError(w, status, msg)
	}

	// content type
	if entry.ContentType != "" {
		mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil || mt != entry.ContentType {
			return writeError(w, http.StatusUnsupportedMediaType, "unsupported media type: this endpoint accepts "+rec.RequestContentType)
		}
	}

	// size
	body, err := readBody(r, a.MaxBodySize)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return writeError(w, http.StatusRequestEntityTooLarge, "request body larger than "+strconv.FormatInt(a.MaxBodySize, 10)+" bytes")
		}
		return writeError(w, http.StatusBadRequest, "reading the request body failed")
	}

	// schema
	var parsed any
	hasJSON := false
	if entry.Schema != nil {
		p, violations := entry.Schema.Validate(body)
		if len(violations) > 0 {
			if hooks == nil {
				a.metrics.of(rec.Name).rejections.Inc()
			}
			return writeJSON(w, http.StatusBadRequest, struct {
				Detail []schema.Violation `json:"detail"`
			}{violations})
		}
		parsed, hasJSON = p, p != nil || strings.EqualFold(rec.RequestContentType, "application/json")
	}

	// exec
	inv := a.invocation(r, entry, params, revision, caller, body, hooks)
	inv.JSON, inv.HasJSON = parsed, hasJSON
	ctx := r.Context()
	res, err := entry.Program.Run(ctx, inv)
	if hooks != nil {
		if res != nil {
			hooks.steps = res.Steps
		} else {
			var ee *execmode.ExecError
			if errors.As(err, &ee) {
				hooks.steps = ee.Steps
			}
		}
	}
	if err != nil {
		return a.execFailed(w, r, rec, revision, body, err, hooks)
	}
	if hooks == nil {
		a.metrics.of(rec.Name).steps.Observe(float64(res.Steps))
	}
	for k, vs := range res.Header {
		// copied: a program may share one header map between its answers
		w.Header()[http.CanonicalHeaderKey(k)] = append([]string(nil), vs...)
	}
	status = res.Status
	if status == 0 {
		status = http.StatusOK
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(res.Body)))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(res.Body)
	}
	return status
}

// execFailed answers a failed run as SPEC §5 says and logs the full error.
func (a *App) execFailed(w http.ResponseWriter, r *http.Request, rec *registry.Record, revision int64, body []byte, err error, hooks *runHooks) int {
	var ee *execmode.ExecError
	if !errors.As(err, &ee) {
		ee = &execmode.ExecError{Kind: execmode.FailRuntime, Status: http.StatusInternalServerError, Message: "snippet failed", Err: err}
	}
	if hooks != nil {
		hooks.err = ee.Error()
	} else {
		if ee.Kind == execmode.FailSteps || ee.Kind == execmode.FailTimeout {
			a.metrics.limits.WithLabelValues(rec.Name, ee.Kind).Inc()
		}
		if ee.Kind != execmode.FailUser {
			a.logger.Error("snippet failed",
				zap.String("endpoint", rec.Name),
				zap.Int64("revision", revision),
				zap.String("kind", ee.Kind),
				zap.String("error", redact(ee.Error(), body,
					[]string{r.Header.Get("Authorization"), r.Header.Get("Cookie")}, a.secretValues)))
		}
	}
	status := ee.Status
	if status < 400 || status > 599 {
		status = http.StatusInternalServerError
	}
	return writeError(w, status, ee.Message)
}

// invocation copies what the program may see of the request.
func (a *App) invocation(r *http.Request, entry *registry.Entry, params map[string]string, revision int64, caller *authUser, body []byte, hooks *runHooks) *execmode.Invocation {
	rec := entry.Record
	inv := &execmode.Invocation{
		Method:     r.Method,
		Path:       r.URL.Path,
		Host:       r.Host,
		RemoteIP:   remoteIP(r),
		PathParams: params,

		Header:   r.Header,
		Body:     body,
		Endpoint: entry.Endpoint,
		Revision: revision,
		MaxSteps: a.MaxSteps,
	}
	if r.URL.RawQuery != "" {
		inv.Query = r.URL.Query()
	}
	deadline := time.Now().Add(time.Duration(a.Timeout))
	if d, ok := r.Context().Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	inv.Deadline = deadline

	// the executing user: exec_as_user if set, else the caller
	runAs := caller
	if rec.ExecAsUser != "" {
		runAs = a.auth.users[rec.ExecAsUser]
	}
	if caller != nil {
		id := caller.identity
		inv.Caller = &id
	}
	var name string
	grants := noGrants
	if runAs != nil {
		inv.User = runAs.identity
		name = runAs.name
		if runAs.grants != nil {
			grants = runAs.grants
		}
	} else {
		inv.User = execmode.Identity{Public: true}
	}
	if hooks != nil {
		inv.Env, hooks.overlay = a.env.DryRun(name, grants, hooks.liveHTTP)
	} else {
		inv.Env = a.env.For(name, grants)
	}
	inv.Log = a.logSink(rec.Name, revision, hooks)
	return inv
}

// logSink sends log() lines to the endpoint.snippet logger and the admin
// buffer (or, in a dry run, to the run's own list).
func (a *App) logSink(name string, revision int64, hooks *runHooks) func(level, msg string) {
	return func(level, msg string) {
		line := LogLine{Time: time.Now().UTC(), Endpoint: name, Revision: revision, Level: level, Message: msg}
		if hooks != nil {
			if len(hooks.logs) < dryRunMaxLogs {
				hooks.logs = append(hooks.logs, line)
			} else {
				hooks.logsDropped++
			}
			return
		}
		a.state.logs.add(line)
		lvl := zap.InfoLevel
		_ = lvl.Set(level)
		if ce := a.snipLog.Check(lvl, msg); ce != nil {
			ce.Write(zap.String("endpoint", name), zap.Int64("revision", revision))
		}
	}
}

// noGrants are the grants of a user who has none.
var noGrants = &env.Grants{}

// remoteIP is the client address Caddy determined (which honours the
// server's trusted_proxies), else the connection's peer.
func remoteIP(r *http.Request) string {
	if ip, ok := caddyhttp.GetVar(r.Context(), caddyhttp.ClientIPVarKey).(string); ok && ip != "" {
		return ip
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// presizeLimit is the largest body read into a buffer sized from
// Content-Length before it arrives; larger ones grow as they come, so a
// slow client cannot make the server hold max_body_size for nothing.
const presizeLimit = 64 << 10

// readBody reads at most limit bytes; more is a *http.MaxBytesError.
func readBody(r *http.Request, limit int64) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody || (r.ContentLength == 0 && len(r.TransferEncoding) == 0) {
		return nil, nil
	}
	if r.ContentLength > limit {
		return nil, &http.MaxBytesError{Limit: limit}
	}
	if r.ContentLength > 0 && r.ContentLength <= presizeLimit {
		// the server stops the body at Content-Length: read it in one piece
		body := make([]byte, r.ContentLength)
		if _, err := io.ReadFull(r.Body, body); err != nil {
			return nil, err
		}
		return body, nil
	}
	return io.ReadAll(http.MaxBytesReader(nil, r.Body, limit))
}

// preflight answers a CORS preflight; false when the route has no CORS.
func preflight(w http.ResponseWriter, r *http.Request, route *registry.Route, origin string) bool {
	var methods []string
	var allowed *registry.Entry
	for m, e := range route.Methods {
		if e.AllowsOrigin(origin) {
			allowed = e
			methods = append(methods, m)
		}
	}
	if allowed == nil {
		return false
	}
	h := w.Header()
	h.Add("Vary", "Origin")
	corsHeaders(h, allowed, origin)
	sort.Strings(methods)
	h.Set("Access-Control-Allow-Methods", strings.Join(methods, ", "))
	if reqHeaders := r.Header.Get("Access-Control-Request-Headers"); reqHeaders != "" {
		h.Set("Access-Control-Allow-Headers", reqHeaders)
	}
	h.Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
	return true
}

// corsHeaders adds the CORS answer for an allowed origin. An origin listed
// by name gets itself back and may send credentials; "*" lets any origin
// read the answer but never with the browser's credentials (cookies,
// cached Basic auth), so a logged-in user's answers stay private.
func corsHeaders(h http.Header, e *registry.Entry, origin string) {
	if e.AllowsNamedOrigin(origin) {
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Allow-Credentials", "true")
		return
	}
	h.Set("Access-Control-Allow-Origin", "*")
}

// writeError writes {"error": msg} and returns the status.
func writeError(w http.ResponseWriter, status int, msg string) int {
	return writeJSON(w, status, map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) int {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"encoding the answer failed"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
	return status
}

// parseCaddyfile sets up the handler from Caddyfile tokens:
//
//	endpoint [<route_group>...] {
//	    pass_thru
//	}
func parseCaddyfile(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	var hd Handler
	err := hd.UnmarshalCaddyfile(h.Dispenser)
	return &hd, err
}

// UnmarshalCaddyfile implements caddyfile.Unmarshaler.
func (h *Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	groups, passThru, err := ecaddyfile.ParseHandler(d)
	if err != nil {
		return err
	}
	h.RouteGroups, h.PassThru = groups, passThru
	return nil
}

// Interface guards
var (
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
	_ caddyfile.Unmarshaler       = (*Handler)(nil)
)
