package pipeline

import (
	"math"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddy-endpoint/endpoint/execmode"
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

// gates holds the gate of each endpoint by name.
type gates struct {
	byName sync.Map // string -> *gate
}

func newGates() *gates { return &gates{} }

func (g *gates) of(name string) *gate {
	if v, ok := g.byName.Load(name); ok {
		return v.(*gate)
	}
	v, _ := g.byName.LoadOrStore(name, &gate{})
	return v.(*gate)
}

// gate is one endpoint's runs in flight and its circuit.
type gate struct {
	inFlight atomic.Int64

	mu        sync.Mutex
	failures  int
	openUntil time.Time
	cooldown  time.Duration
	trial     bool // a half-open trial run is in flight
	tripped   bool // the circuit opened and has not closed since
}

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
	return p.gates.of(name).status(time.Now())
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

func retryAfter(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}

// admit is the admission rule of a live request, before its body is
// read: with the endpoint's circuit open or max_concurrency runs in
// flight, 503 with Retry-After at once. An admitted call holds a place
// until done.
func (p *Pipeline) admit(c *call) int {
	if c.sink != p.live {
		return 0
	}
	name := c.entry.Record.Name
	g := p.gates.of(name)
	if wait, ok := g.enter(time.Now()); !ok {
		p.cfg.Metrics.refused.WithLabelValues(name, "circuit").Inc()
		c.w.Header().Set("Retry-After", strconv.Itoa(retryAfter(wait)))
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
func (g *gate) enter(now time.Time) (wait time.Duration, ok bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.tripped {
		return 0, true
	}
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
	g.mu.Lock()
	g.trial = false
	g.mu.Unlock()
}

// done takes a run's outcome; changed says whether the circuit opened or
// closed.
func (g *gate) done(now time.Time, limitFailure bool) (state string, changed bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
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
