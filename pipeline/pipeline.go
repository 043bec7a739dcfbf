// Package pipeline serves a request to an endpoint through its rules, in
// this order: route, method, auth, content type, size, schema, exec. The
// first rule that fails answers. A live request and a dry run take the
// same rules; they differ only by their Sink.
package pipeline

import (
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/caddy-endpoint/endpoint/env"
	"github.com/caddy-endpoint/endpoint/execmode"
	"github.com/caddy-endpoint/endpoint/registry"
)

// Config is what a pipeline serves with: the limits, users and outside
// world of one app config.
type Config struct {
	// MaxBodySize is the largest request body in bytes (413 beyond).
	MaxBodySize int64
	// MaxSteps is the step budget of one run.
	MaxSteps uint64
	// MaxMemory is the memory budget of one run in bytes (0: none).
	MaxMemory int64
	// MaxConcurrency is how many runs of one endpoint may execute at
	// once; beyond it a request is answered 503 without running (0: no
	// bound).
	MaxConcurrency int
	// Timeout is the time limit of one run.
	Timeout time.Duration
	// Users are the configured identities by name.
	Users map[string]*User
	// Env is the outside world programs reach under their user's grants.
	Env *env.Service
	// Logs is the admin buffer of log() lines; default a buffer of its own.
	Logs *LogRing
	// Metrics are the per-endpoint series; default series registered
	// nowhere.
	Metrics *Metrics
	// Logger receives failed runs; SnippetLogger the programs' log() lines.
	Logger, SnippetLogger *zap.Logger
	// Secrets are values kept out of failure logs.
	Secrets []string
	// Scope names the app's storage: endpoints' circuits and runs in
	// flight are kept across reloads for the same scope.
	Scope string
}

// Pipeline applies the request rules of one app config.
type Pipeline struct {
	cfg  Config
	auth *authenticator
	live *liveSink
	// secrets redacts the secret values, nil when there are none.
	secrets *strings.Replacer
	// gates hold each endpoint's runs in flight and its circuit.
	gates *gates
}

// New prepares the rules of cfg; it fails on an invalid user.
func New(cfg Config) (*Pipeline, error) {
	auth, err := newAuthenticator(cfg.Users)
	if err != nil {
		return nil, err
	}
	if cfg.Logs == nil {
		cfg.Logs = NewLogRing(LogRingSize)
	}
	if cfg.Metrics == nil {
		if cfg.Metrics, err = NewMetrics(prometheus.NewRegistry(), nil); err != nil {
			return nil, err
		}
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.SnippetLogger == nil {
		cfg.SnippetLogger = zap.NewNop()
	}
	p := &Pipeline{cfg: cfg, auth: auth, secrets: newSecretRedactor(cfg.Secrets), gates: newGates(cfg.Scope)}
	p.live = &liveSink{p: p}
	return p, nil
}

// call is one request on its way through the rules.
type call struct {
	w        http.ResponseWriter
	r        *http.Request
	route    *registry.Route
	params   map[string]string
	revision int64
	sink     Sink

	entry *registry.Entry
	// notAllowed is, on a 405, the entry the answer is counted for.
	notAllowed *registry.Entry
	caller     *authUser
	body       []byte
	// parsed is the body as the schema validator parsed it.
	parsed  any
	hasJSON bool
	// ran says the program was started.
	ran bool
	// unread says the request's body is not read yet; early is w while
	// it is, which adds Connection: close to an answer written then.
	unread bool
	early  earlyWriter
	// gate is the endpoint's gate while the call holds a place in it.
	gate *gate
	// deadline is the request's time limit: the body read, the schema
	// validation and the run all end by it.
	deadline time.Time
	// inv is what the program sees of the request (invocation); its Shape
	// is set by the schema rule, before the rest.
	inv execmode.Invocation
	// start is when the pipeline took the request.
	start time.Time
}

// Serve answers r from the routes of m, a live table's matcher. It
// returns false, having written nothing, when no route matches and
// passThru is set: the next handler answers then.
func (p *Pipeline) Serve(w http.ResponseWriter, r *http.Request, m *registry.Matcher, revision int64, passThru bool) bool {
	route, params, ok := routeOf(r, m)
	if !ok {
		if passThru {
			return false
		}
		writeError(w, http.StatusNotFound, "not found")
		return true
	}
	p.serve(&call{w: w, r: r, route: route, params: params, revision: revision, sink: p.live})
	return true
}

// serve runs every rule after the route; the first that answers ends it.
func (p *Pipeline) serve(c *call) {
	c.start = time.Now()
	if c.sink == p.live && hasBody(c.r) {
		c.unread = true
		c.early = earlyWriter{ResponseWriter: c.w, c: c}
		c.w = &c.early
		defer c.dropUnread()
	}
	if p.method(c) {
		if c.notAllowed != nil {
			c.sink.Served(c.notAllowed.Record.Name, http.StatusMethodNotAllowed, time.Since(c.start))
		}
		return
	}
	status := p.answer(c)
	c.sink.Served(c.entry.Record.Name, status, time.Since(c.start))
}

// earlyWriter is the ResponseWriter of a call whose body is not read yet:
// an answer written before the read says Connection: close.
type earlyWriter struct {
	http.ResponseWriter
	c *call
}

func (w *earlyWriter) WriteHeader(status int) {
	if w.c.unread {
		w.Header().Set("Connection", "close")
	}
	w.ResponseWriter.WriteHeader(status)
}

// Unwrap lets http.ResponseController reach the server's writer.
func (w *earlyWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// dropUnread ends the connection of a request answered before its body
// was read whole: the server would otherwise read what is left of it
// (up to 256 KiB, however slowly it comes) before the next request, so
// the answer says Connection: close and the read is cut at once.
func (c *call) dropUnread() {
	if c.unread {
		_ = http.NewResponseController(c.w).SetReadDeadline(time.Now())
	}
}

// answer runs auth, content type, size, schema and exec, and returns the
// status it answered with.
func (p *Pipeline) answer(c *call) int {
	defer p.leave(c, nil)
	c.deadline = c.start.Add(p.cfg.Timeout)
	if d, ok := c.r.Context().Deadline(); ok && d.Before(c.deadline) {
		c.deadline = d
	}
	for _, rule := range []func(*call) int{p.authenticate, contentType, p.admit, p.size, p.schemaCheck} {
		if status := rule(c); status != 0 {
			return status
		}
	}
	return p.exec(c)
}
