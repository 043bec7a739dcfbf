package snippet

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.starlark.net/starlark"

	"github.com/caddy-endpoint/endpoint/execmode"
)

// Why a run was stopped from outside the interpreter.
const (
	stopNone int32 = iota
	stopSteps
	stopTimeout
	stopCancelled
	stopMemory
)

// Fixed client messages of the failures that are not the snippet's own.
const (
	msgSteps   = "snippet exceeded its step budget"
	msgTimeout = "snippet timed out"
	msgRuntime = "snippet failed"
	msgResult  = "snippet result is invalid"
	msgMemory  = "snippet exceeded its memory budget"
	msgGone    = "request cancelled by the client"
)

// run is the state of one request's execution. Runs are pooled per
// Program: the thread (and its frame free list), the per-request
// predeclared dict and the values bound to the invocation are reused.
type run struct {
	thread starlark.Thread
	prog   *Program
	ctx    context.Context
	inv    *execmode.Invocation
	// args are the values of the Program's params for this request.
	args starlark.Tuple
	// jsonChecked is 0 until jsonConverts looked at the parsed body, then
	// 1 when it converts, 2 when not.
	jsonChecked int8
	// raw reads fields of a body nothing parsed (jsonraw.go).
	raw rawCheck

	stop   atomic.Int32
	budget uint64
	// grown is what the run's checked operations produced, in bytes: the
	// memory watchdog stops the run that grew most first.
	grown   atomic.Int64
	started time.Time
	// timer checks the run's deadline and its request's context while it
	// runs (check); it is kept with the run and reset for each request.
	// checkMu orders the timer's reads of ctx and inv with end.
	timer    *time.Timer
	armed    bool
	checkMu  sync.Mutex
	envCtx   context.Context
	envClose context.CancelFunc

	req      request
	user     identity
	caller   identity
	endpoint endpointView
	envValue envValue
	store    storeValue
	http     httpValue
	log      logFunc
}

func newRun(p *Program) any {
	r := &run{prog: p}
	r.thread.Name = "snippet"
	r.thread.OnMaxSteps = r.checkpoint
	r.thread.Print = r.print
	r.thread.Load = refuseLoadAtRun
	r.thread.SetLocal(runKey, r)
	r.envValue = envValue{object: object{"env"}, r: r}
	r.store = storeValue{object: object{"store"}, r: r}
	r.http = httpValue{object: object{"http"}, r: r}
	r.log = logFunc{r: r}
	r.args = make(starlark.Tuple, len(p.params))
	return r
}

func refuseLoadAtRun(*starlark.Thread, string) (starlark.StringDict, error) {
	return nil, errors.New("load() is not allowed in snippets")
}

// Run executes the snippet for one request and reads its result.
//
// The top-level `result` must be a dict, in one of two forms:
//
//   - {"response": Response(...)}: the response is sent as built;
//   - {"payload": v, "headers": {...}, "status_code": 200}: v is encoded as
//     JSON and sent with Content-Type application/json (the snippet's
//     headers may override it). Every key is optional: a missing payload
//     is sent as the JSON `null`, a missing status_code is 200. With status
//     204 or 304 the body is empty.
//
// Failures are *execmode.ExecError values: the error builtins give
// FailUser with the snippet's status and message; the step budget
// FailSteps (500); the deadline or a cancelled ctx FailTimeout (503); a
// missing or malformed result FailResult (500); anything else FailRuntime
// (500). Only FailUser carries text from the snippet; Err always holds the
// full error with the snippet's line and column.
//
// Limits: the step budget is inv.MaxSteps (0: none); the time limit is
// inv.Deadline: a timer cancels the thread when it passes, whatever the
// step count, and a cancelled ctx (the client went away) stops it within
// checkEvery, as FailCancelled. hashlib, hmac, base64, json and env calls charge one
// step per 16 bytes they handle. The memory budget is inv.MaxMemory (see
// memory.go): a result of +, * or a project builtin larger than the
// budget fails at once, and a watchdog stops runs while the heap holds
// more than their budgets; both fail as FailMemory.
//
// The Result's Header and Body may be shared with other results: callers
// read them and never write to them.
func (p *Program) Run(ctx context.Context, inv *execmode.Invocation) (res *execmode.Result, err error) {
	r := p.runs.Get().(*run)
	reusable := false
	defer func() {
		if v := recover(); v != nil {
			res = nil
			err = &execmode.ExecError{
				Kind: execmode.FailRuntime, Status: 500, Message: msgRuntime,
				Err: fmt.Errorf("snippet panicked: %v", v), Steps: r.thread.Steps,
			}
			if r.inv != nil {
				r.end()
			}
			reusable = false
		}
		if reusable {
			p.runs.Put(r)
		}
	}()

	r.begin(ctx, inv)
	result, runErr := starlark.Call(&r.thread, p.fn, r.args, nil)
	if runErr != nil && r.stop.Load() == stopNone && p.resultUnbound(runErr) {
		result, runErr = unsetResult{}, nil
	}
	if runErr == nil {
		if _, unset := result.(unsetResult); unset {
			result = nil
		}
		res, err = makeResult(result, inv.MaxMemory)
	}
	steps := r.thread.Steps
	if runErr != nil {
		err = r.classify(runErr, steps)
	} else if err != nil {
		err = resultFailure(err, steps)
	} else {
		res.Steps = steps
	}
	if ee, ok := err.(*execmode.ExecError); ok && ee.Kind == execmode.FailMemory {
		// whatever refused it (a check ahead, json.encode, the watchdog),
		// what the run built is garbage: back to the system once no run
		// is active
		watch.releaseLater()
	}
	reusable = r.end()
	return res, err
}

// resultFailure is the ExecError of a result makeResult refused: over
// the memory budget, or malformed.
func resultFailure(err error, steps uint64) error {
	if me := (*memoryError)(nil); errors.As(err, &me) {
		return &execmode.ExecError{Kind: execmode.FailMemory, Status: 500, Message: msgMemory, Err: err, Steps: steps}
	}
	return &execmode.ExecError{Kind: execmode.FailResult, Status: 500, Message: msgResult, Err: err, Steps: steps}
}

func (r *run) begin(ctx context.Context, inv *execmode.Invocation) {
	r.ctx = ctx
	r.inv = inv
	r.budget = inv.MaxSteps
	r.stop.Store(stopNone)
	r.grown.Store(0)
	r.jsonChecked = 0
	r.raw.reset()
	now := time.Now()
	r.started = now
	r.thread.Uncancel()
	r.thread.Steps = 0
	if r.budget != 0 {
		r.thread.SetMaxExecutionSteps(r.budget)
	} else {
		r.thread.SetMaxExecutionSteps(math.MaxUint64)
	}
	if why := r.expiryAt(now); why != stopNone {
		r.halt(why, "stopped before it started")
	} else {
		r.arm(now)
	}
	if inv.MaxMemory > 0 {
		watch.add(r)
	}
	if len(r.args) > 0 {
		r.bind()
		for i, pa := range r.prog.params {
			r.args[i] = pa.e.perRun(r)
		}
	}
}

// end releases what the run acquired and reports whether r may be reused
// (no timer callback can still reach it).
func (r *run) end() bool {
	reusable := true
	if r.inv != nil && r.inv.MaxMemory > 0 {
		watch.remove(r)
	}
	if r.armed {
		if !r.timer.Stop() {
			// the watch is running or ran: it may still reach r
			reusable = false
		}
		r.armed = false
	}
	if r.envClose != nil {
		r.envClose()
		r.envCtx, r.envClose = nil, nil
	}
	r.checkMu.Lock()
	r.ctx, r.inv = nil, nil
	r.checkMu.Unlock()
	r.raw.reset()
	if len(r.args) > 0 {
		r.unbind()
		clear(r.args)
	}
	return reusable
}

// checkpoint runs on the interpreter's goroutine when the thread reaches
// its step budget.
func (r *run) checkpoint(t *starlark.Thread) {
	r.halt(stopSteps, "too many steps")
}

// expiry says whether the run must stop now: stopTimeout past the
// deadline, stopCancelled when the request was cancelled.
func (r *run) expiry() int32 { return r.expiryAt(time.Now()) }

func (r *run) expiryAt(now time.Time) int32 {
	switch err := r.ctx.Err(); {
	case errors.Is(err, context.DeadlineExceeded):
		return stopTimeout
	case err != nil:
		return stopCancelled
	case !r.inv.Deadline.IsZero() && !now.Before(r.inv.Deadline):
		return stopTimeout
	}
	return stopNone
}

// checkEvery is how often a run's request is checked for a client that
// went away; the deadline is also checked at its exact time.
const checkEvery = 50 * time.Millisecond

// arm starts the watch of a run that has a deadline or a cancellable ctx.
// One timer does both, without a goroutine or an allocation per request:
// a run that ends within checkEvery never sees it fire.
func (r *run) arm(now time.Time) {
	if r.inv.Deadline.IsZero() && r.ctx.Done() == nil {
		return
	}
	r.armed = true
	if r.timer == nil {
		r.timer = time.AfterFunc(r.nextCheck(now), r.check)
		return
	}
	r.timer.Reset(r.nextCheck(now))
}

// nextCheck is the time from now to the next check: the deadline if it
// comes first, else checkEvery (when ctx can be cancelled).
func (r *run) nextCheck(now time.Time) time.Duration {
	d := time.Duration(math.MaxInt64)
	if !r.inv.Deadline.IsZero() {
		d = r.inv.Deadline.Sub(now)
	}
	if r.ctx.Done() != nil {
		d = min(d, checkEvery)
	}
	return d
}

// check runs on the timer's goroutine: it stops the run past its deadline
// or when its request was cancelled, else checks again later.
func (r *run) check() {
	r.checkMu.Lock()
	defer r.checkMu.Unlock()
	if r.inv == nil {
		return
	}
	if why := r.expiry(); why != stopNone {
		reason := "timeout"
		if why == stopCancelled {
			reason = "cancelled"
		}
		r.halt(why, reason)
		return
	}
	r.timer.Reset(r.nextCheck(time.Now()))
}

// halt stops the thread at its next step; the first reason wins.
func (r *run) halt(why int32, reason string) {
	r.stop.CompareAndSwap(stopNone, why)
	r.thread.Cancel(reason)
}

// afterBlocking is called by builtins that waited on the outside world: a
// run past its deadline stops at the next step.
func (r *run) afterBlocking() {
	if why := r.expiry(); why != stopNone {
		r.halt(why, "stopped")
	}
}

// outsideCtx is the context of calls to the Env: the request's, bounded
// by the run's deadline.
func (r *run) outsideCtx() context.Context {
	if r.envCtx == nil {
		if r.inv.Deadline.IsZero() {
			r.envCtx, r.envClose = context.WithCancel(r.ctx)
		} else {
			r.envCtx, r.envClose = context.WithDeadline(r.ctx, r.inv.Deadline)
		}
	}
	return r.envCtx
}

func (r *run) print(_ *starlark.Thread, msg string) {
	r.inv.Log("debug", truncate(msg, MaxLogMessage))
}

// classify turns an interpreter error into an ExecError.
func (r *run) classify(err error, steps uint64) *execmode.ExecError {
	full := describe(err)
	switch r.stop.Load() {
	case stopSteps:
		return &execmode.ExecError{Kind: execmode.FailSteps, Status: 500, Message: msgSteps, Err: full, Steps: steps}
	case stopTimeout:
		return &execmode.ExecError{Kind: execmode.FailTimeout, Status: 503, Message: msgTimeout, Err: full, Steps: steps}
	case stopCancelled:
		return &execmode.ExecError{Kind: execmode.FailCancelled, Status: 503, Message: msgGone, Err: full, Steps: steps}
	case stopMemory:
		return &execmode.ExecError{Kind: execmode.FailMemory, Status: 500, Message: msgMemory, Err: full, Steps: steps}
	}
	var me *memoryError
	if errors.As(err, &me) {
		return &execmode.ExecError{Kind: execmode.FailMemory, Status: 500, Message: msgMemory, Err: full, Steps: steps}
	}
	var ue *userError
	if errors.As(err, &ue) {
		return &execmode.ExecError{Kind: execmode.FailUser, Status: ue.status, Message: ue.message, Err: full, Steps: steps}
	}
	var re *resultError
	if errors.As(err, &re) {
		return &execmode.ExecError{Kind: execmode.FailResult, Status: 500, Message: msgResult, Err: full, Steps: steps}
	}
	return &execmode.ExecError{Kind: execmode.FailRuntime, Status: 500, Message: msgRuntime, Err: full, Steps: steps}
}

// runError is an interpreter error with the snippet positions that led to
// it, for the log.
type runError struct {
	msg   string
	cause error
}

func (e *runError) Error() string { return e.msg }
func (e *runError) Unwrap() error { return e.cause }

// describe formats err as "3:7: message", naming the enclosing calls
// ("3:7 in f, 10:1: message") when there are several.
func describe(err error) error {
	var ee *starlark.EvalError
	if !errors.As(err, &ee) {
		return err
	}
	var frames []string
	for i := len(ee.CallStack) - 1; i >= 0; i-- {
		fr := ee.CallStack[i]
		if fr.Pos.Filename() != fileName {
			continue
		}
		s := position(fr.Pos)
		if fr.Name != snippetFunc {
			s += " in " + fr.Name
		}
		frames = append(frames, s)
	}
	msg := ee.Msg
	if len(frames) > 0 {
		msg = strings.Join(frames, ", ") + ": " + msg
	}
	return &runError{msg: msg, cause: err}
}
