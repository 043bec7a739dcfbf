package pipeline

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/caddy-endpoint/endpoint/execmode"
	"github.com/caddy-endpoint/endpoint/registry"
)

// Circuit breaker settings: after tripAfter limit failures in a row (step
// budget, time limit, memory budget), an endpoint's circuit opens for a
// cool-down that starts at firstCooldown and doubles each time a trial
// run after it fails too, up to maxCooldown. After the cool-down one
// trial run is let through (half open): a run that does not fail on a
// limit closes the circuit again.
const (
	tripAfter     = 5
	firstCooldown = time.Second
	maxCooldown   = time.Minute
)

// Circuit states, as CircuitState reports them.
const (
	CircuitClosed   = "closed"
	CircuitOpen     = "open"
	CircuitHalfOpen = "half_open"
)

// circuits holds the gates of every pipeline across config reloads, so
// that a reload neither closes an open circuit nor forgets the runs in
// flight. A gate is keyed by the app's scope (its storage), the
// endpoint's name and a fingerprint of its record: a changed record
// (a new version, or a declared one with other code) gets a new gate,
// closed.
var circuits = caddy.NewUsagePool()

// gates holds the gate of each endpoint of one pipeline by name, each
// held in circuits until the pipeline is closed or the endpoint changes.
type gates struct {
	scope  string
	mu     sync.Mutex
	byName sync.Map // string -> *held
}

// held is the gate of one entry, under its key in circuits.
type held struct {
	entry *registry.Entry
	key   string
	g     *gate
}

func newGates(scope string) *gates { return &gates{scope: scope} }

// of is the gate of e; switched says it was not the gate held for e's
// name until now.
func (gs *gates) of(e *registry.Entry) (g *gate, switched bool) {
	if h, ok := gs.byName.Load(e.Record.Name); ok && h.(*held).entry == e {
		return h.(*held).g, false
	}
	return gs.hold(e)
}

// hold finds e's gate in circuits (or makes it) and holds it instead of
// the gate of the record the name had before; switched says it was not
// the gate held for the name.
func (gs *gates) hold(e *registry.Entry) (g *gate, switched bool) {
	gs.mu.Lock()
	defer gs.mu.Unlock()
	name := e.Record.Name
	var prev *held
	if v, ok := gs.byName.Load(name); ok {
		if prev = v.(*held); prev.entry == e {
			return prev.g, false
		}
	}
	key := gs.scope + "\x00" + name + "\x00" + fingerprint(e.Record)
	v, _ := circuits.LoadOrStore(key, &gate{})
	g = v.(*gate)
	gs.byName.Store(name, &held{entry: e, key: key, g: g})
	if prev != nil {
		_, _ = circuits.Delete(prev.key)
	}
	return g, prev == nil || prev.g != g
}

// byNameOf is the gate last held for the endpoint name, nil for none.
func (gs *gates) byNameOf(name string) *gate {
	if v, ok := gs.byName.Load(name); ok {
		return v.(*held).g
	}
	return nil
}

// release gives back every gate held.
func (gs *gates) release() {
	gs.mu.Lock()
	defer gs.mu.Unlock()
	gs.byName.Range(func(k, v any) bool {
		_, _ = circuits.Delete(v.(*held).key)
		gs.byName.Delete(k)
		return true
	})
}

// fingerprint tells two versions of a record apart: its JSON form, hashed.
func fingerprint(rec *registry.Record) string {
	b, err := json.Marshal(rec)
	if err != nil {
		return strconv.FormatInt(rec.Version, 10)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

// Hold takes, at provision, the gates of the entries the config starts
// serving, so that the circuits of endpoints the old config served
// outlive its cleanup even if no request reaches them in between.
func (p *Pipeline) Hold(entries []*registry.Entry) {
	for _, e := range entries {
		if g, _ := p.gates.hold(e); g.open() {
			p.cfg.Metrics.circuit.WithLabelValues(e.Record.Name).Set(1)
		}
	}
}

// gateOf is e's gate; the circuit gauge follows when the name changes
// gates (a changed record starts closed).
func (p *Pipeline) gateOf(e *registry.Entry) *gate {
	g, switched := p.gates.of(e)
	if switched {
		v := 0.0
		if g.open() {
			v = 1
		}
		p.cfg.Metrics.circuit.WithLabelValues(e.Record.Name).Set(v)
	}
	return g
}

// Close gives back what the pipeline holds across reloads.
func (p *Pipeline) Close() { p.gates.release() }

// gate is one endpoint's runs in flight and its circuit.
type gate struct {
	inFlight atomic.Int64
	// busy says the circuit holds state (failures, open, a trial): while
	// it does not, a request enters and a good run leaves without the
	// lock or the clock. Written under mu.
	busy atomic.Bool

	mu        sync.Mutex
	failures  int
	openUntil time.Time
	cooldown  time.Duration
	trial     bool // a half-open trial run is in flight
	tripped   bool // the circuit opened and has not closed since
}

// Destruct is for circuits: a gate holds nothing to release.
func (*gate) Destruct() error { return nil }

// CircuitStatus is what GET /endpoint/endpoints/{name} shows of a circuit.
type CircuitStatus struct {
	// State is closed, open or half_open.
	State string `json:"state"`
	// Failures is the number of limit failures in a row.
	Failures int `json:"failures"`
	// RetryAfter is the time left of the cool-down, in seconds, when open.
	RetryAfter int `json:"retry_after,omitempty"`
}

// Circuit reports the circuit of the endpoint name.
func (p *Pipeline) Circuit(name string) CircuitStatus {
	g := p.gates.byNameOf(name)
	if g == nil {
		return CircuitStatus{State: CircuitClosed}
	}
	return g.status(time.Now())
}

func (g *gate) status(now time.Time) CircuitStatus {
	g.mu.Lock()
	defer g.mu.Unlock()
	st := CircuitStatus{State: CircuitClosed, Failures: g.failures}
	switch {
	case g.tripped && now.Before(g.openUntil):
		st.State, st.RetryAfter = CircuitOpen, retryAfter(g.openUntil.Sub(now))
	case g.tripped:
		st.State = CircuitHalfOpen
	}
	return st
}

// open says the circuit has opened and not closed since (open or half
// open), as the gauge counts it.
func (g *gate) open() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.tripped
}

func retryAfter(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}

// admit is the admission rule of a live request, before its body is
// read: with the endpoint's circuit open or max_concurrency runs in
// flight, 503 with Retry-After at once (an open circuit's also closes an
// HTTP/1 connection). An admitted call holds a place until done.
func (p *Pipeline) admit(c *call) int {
	if c.sink != p.live {
		return 0
	}
	name := c.entry.Record.Name
	g := p.gateOf(c.entry)
	if wait, ok := g.enter(); !ok {
		p.cfg.Metrics.refused.WithLabelValues(name, "circuit").Inc()
		c.w.Header().Set("Retry-After", strconv.Itoa(retryAfter(wait)))
		if c.r.ProtoMajor == 1 {
			// a client that calls again at once, Retry-After unread, pays
			// a new connection for it: a closed loop of instant 503s on
			// kept-alive connections would take the CPU from the other
			// endpoints (HTTP/2 keeps its connection: closing it would
			// cut the client's other streams)
			c.w.Header().Set("Connection", "close")
		}
		return writeError(c.w, http.StatusServiceUnavailable, "endpoint temporarily unavailable after repeated limit failures")
	}
	if limit := p.cfg.MaxConcurrency; limit > 0 && g.inFlight.Add(1) > int64(limit) {
		g.inFlight.Add(-1)
		g.leaveTrial()
		p.cfg.Metrics.refused.WithLabelValues(name, "concurrency").Inc()
		c.w.Header().Set("Retry-After", "1")
		return writeError(c.w, http.StatusServiceUnavailable, "endpoint busy: too many requests at once")
	}
	c.gate = g
	return 0
}

// leave ends an admitted call; failed is its run's failure, if any.
func (p *Pipeline) leave(c *call, failed *execmode.ExecError) {
	g := c.gate
	if g == nil {
		return
	}
	c.gate = nil
	if p.cfg.MaxConcurrency > 0 {
		g.inFlight.Add(-1)
	}
	if !c.ran {
		g.leaveTrial()
		return
	}
	limit := failed != nil && (failed.Kind == execmode.FailSteps || failed.Kind == execmode.FailTimeout || failed.Kind == execmode.FailMemory)
	if failed != nil && failed.Kind == execmode.FailCancelled {
		g.leaveTrial()
		return
	}
	if !limit && !g.busy.Load() {
		return
	}
	if state, changed := g.done(time.Now(), limit); changed {
		v := 0.0
		switch state {
		case CircuitOpen:
			v = 1
		}
		p.cfg.Metrics.circuit.WithLabelValues(c.entry.Record.Name).Set(v)
	}
}

// enter lets a request through unless the circuit is open; after the
// cool-down it lets one trial through at a time. wait is the time left
// of the cool-down.
func (g *gate) enter() (wait time.Duration, ok bool) {
	if !g.busy.Load() {
		return 0, true
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.tripped {
		return 0, true
	}
	now := time.Now()
	if now.Before(g.openUntil) {
		return g.openUntil.Sub(now), false
	}
	if g.trial {
		return time.Second, false
	}
	g.trial = true
	return 0, true
}

// leaveTrial gives back a trial that did not run.
func (g *gate) leaveTrial() {
	if !g.busy.Load() {
		return
	}
	g.mu.Lock()
	g.trial = false
	g.settle()
	g.mu.Unlock()
}

// settle records in busy whether the circuit holds state; under mu.
func (g *gate) settle() {
	g.busy.Store(g.failures > 0 || g.tripped || g.trial)
}

// done takes a run's outcome; changed says whether the circuit opened or
// closed.
func (g *gate) done(now time.Time, limitFailure bool) (state string, changed bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	defer g.settle()
	wasTrial := g.trial
	g.trial = false
	if !limitFailure {
		g.failures = 0
		if g.tripped {
			g.tripped, g.cooldown = false, 0
			return CircuitClosed, true
		}
		return CircuitClosed, false
	}
	g.failures++
	switch {
	case g.tripped && wasTrial:
		g.cooldown = min(2*g.cooldown, maxCooldown)
	case !g.tripped && g.failures >= tripAfter:
		g.tripped, g.cooldown = true, firstCooldown
	default:
		return CircuitClosed, false
	}
	g.openUntil = now.Add(g.cooldown)
	return CircuitOpen, true
}
