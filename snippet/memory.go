package snippet

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"time"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// A run's memory budget (Invocation.MaxMemory) is held two ways, because
// the Starlark interpreter does not account for what it allocates:
//
//   - Ahead of the allocation, where this package computes a value: the
//     operators + and * (and += and *= on a name) are compiled as calls to
//     checked builtins that refuse a string, bytes, list or tuple result
//     larger than the budget, and json.encode stops when its output
//     passes it. `"x" * (1 << 29)`, `[0] * (1 << 27)` and a doubling loop
//     `x = x + x` fail before the memory is taken.
//   - After it, for what the interpreter builds on its own (list.append
//     in a loop, str.join, str.replace, list(range(n)), comprehensions):
//     a watchdog samples the heap every watchInterval while runs older
//     than one interval are active. When the heap holds more than the
//     idle heap plus the budgets of those runs, it collects garbage (at
//     most every ten intervals, at once when the heap is past twice
//     them) and, only if the heap is still over after the collection,
//     stops the run that grew most (else the oldest) among those active
//     when the collection began, at its next step: the memory a run held
//     or left as garbage when it ended is never charged to the next. A
//     single builtin call can still allocate before it is stopped: the
//     watchdog bounds how long a run keeps growing, not the size of one
//     allocation it did not check.

// runKey is the thread-local slot of the run a thread executes.
const runKey = "endpoint.run"

func runOf(t *starlark.Thread) *run {
	r, _ := t.Local(runKey).(*run)
	return r
}

// memoryError is a value that would exceed the run's memory budget.
type memoryError struct {
	what        string
	size, limit int64
}

func (e *memoryError) Error() string {
	return fmt.Sprintf("%s would take %d bytes, more than the memory budget of %d bytes", e.what, e.size, e.limit)
}

// reserve checks a value of size bytes about to be built against the
// budget of t's run (none outside a run or without max_memory).
func reserve(t *starlark.Thread, size int64, what string) error {
	r := runOf(t)
	if r == nil || r.inv == nil || r.inv.MaxMemory <= 0 {
		return nil
	}
	if size < 0 || size > r.inv.MaxMemory {
		// the run fails on its budget: Run gives its memory back
		return &memoryError{what: what, size: size, limit: r.inv.MaxMemory}
	}
	r.grown.Add(size)
	return nil
}

// memoryLimit is the budget of t's run, 0 for none.
func memoryLimit(t *starlark.Thread) int64 {
	if r := runOf(t); r != nil && r.inv != nil {
		return r.inv.MaxMemory
	}
	return 0
}

// valueWords is what one element of a list or tuple costs (an interface).
const valueWords = 16

// sizeOf estimates the bytes of a sequence value.
func sizeOf(v starlark.Value) (int64, bool) {
	switch x := v.(type) {
	case starlark.String:
		return int64(len(x)), true
	case starlark.Bytes:
		return int64(len(x)), true
	case *starlark.List:
		return int64(x.Len()) * valueWords, true
	case starlark.Tuple:
		return int64(len(x)) * valueWords, true
	}
	return 0, false
}

// Names of the checked operators. They cannot be written in a snippet,
// so a snippet cannot rebind them.
const (
	opAdd    = "$add"
	opMul    = "$mul"
	opAddSet = "$iadd"
)

// checkedOps are the predeclared names every run has besides the table:
// the checked operators, the checked method calls and the checked
// universal functions (checked.go), and the field reads (jsonfield.go).
var checkedOps = func() map[string]*starlark.Builtin {
	ops := map[string]*starlark.Builtin{
		opAdd:    starlark.NewBuiltin("+", checkedAdd),
		opMul:    starlark.NewBuiltin("*", checkedMul),
		opAddSet: starlark.NewBuiltin("+=", checkedAddSet),
	}
	for name := range checkedMethods {
		ops[methodOp(name)] = methodCall(name)
	}
	for name, b := range checkedBuiltins {
		ops[name] = b
	}
	for name, b := range jsonFieldOps {
		ops[name] = b
	}
	return ops
}()

func twoArgs(args starlark.Tuple) (starlark.Value, starlark.Value) {
	return args[0], args[1]
}

func checkedAdd(t *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
	x, y := twoArgs(args)
	if sx, ok := sizeOf(x); ok {
		if sy, ok := sizeOf(y); ok {
			if err := reserve(t, sx+sy, "the result of +"); err != nil {
				return nil, err
			}
		}
	}
	return starlark.Binary(syntax.PLUS, x, y)
}

func checkedMul(t *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
	x, y := twoArgs(args)
	seq, n := x, y
	if _, ok := y.(starlark.Int); !ok {
		seq, n = y, x
	}
	if size, ok := sizeOf(seq); ok {
		if k, ok := n.(starlark.Int); ok {
			times, exact := k.Int64()
			if !exact || (times > 0 && size > 0 && times > (1<<62)/size) {
				return nil, &memoryError{what: "the result of *", size: -1, limit: memoryLimit(t)}
			}
			if times > 0 {
				if err := reserve(t, size*times, "the result of *"); err != nil {
					return nil, err
				}
			}
		}
	}
	return starlark.Binary(syntax.STAR, x, y)
}

// checkedAddSet is x += y: a list grows in place, anything else is x + y.
func checkedAddSet(t *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kw []starlark.Tuple) (starlark.Value, error) {
	x, y := twoArgs(args)
	l, ok := x.(*starlark.List)
	if !ok {
		return checkedAdd(t, b, args, kw)
	}
	if sy, ok := sizeOf(y); ok {
		if err := reserve(t, int64(l.Len())*valueWords+sy, "the result of +="); err != nil {
			return nil, err
		}
	}
	if _, ok := y.(starlark.Iterable); !ok {
		return nil, fmt.Errorf("unknown binary op: list += %s", y.Type())
	}
	extend, err := l.Attr("extend")
	if err != nil {
		return nil, err
	}
	if _, err := starlark.Call(t, extend, starlark.Tuple{y}, nil); err != nil {
		return nil, err
	}
	return l, nil
}

// watchInterval is how often the watchdog samples the heap while runs
// with a memory budget are active.
const watchInterval = 10 * time.Millisecond

// watchdog stops runs while the heap holds more than their budgets.
type watchdog struct {
	mu   sync.Mutex
	runs map[*run]struct{}
	on   bool
	// idle is the live heap last seen with no long run active.
	idle   uint64
	lastGC time.Time
	// release asks for the memory to go back to the system once no run
	// is active, after a run was stopped.
	release bool
	// stopped counts runs the watchdog stopped (for tests).
	stopped int
	// readHeap is heapBytes when nil; tests set it on a watchdog of their
	// own to drive check with a heap they choose.
	readHeap func() (objects, live uint64)
}

var watch = &watchdog{runs: make(map[*run]struct{})}

func (w *watchdog) add(r *run) {
	w.mu.Lock()
	w.runs[r] = struct{}{}
	if !w.on {
		w.on = true
		go w.loop()
	}
	w.mu.Unlock()
}

// releaseLater asks for the memory to go back to the system once no run
// is active.
func (w *watchdog) releaseLater() {
	w.mu.Lock()
	w.release = true
	w.mu.Unlock()
}

func (w *watchdog) remove(r *run) {
	w.mu.Lock()
	delete(w.runs, r)
	w.mu.Unlock()
}

// heapSamples are the heap's objects (live and not yet collected) and the
// live heap as the last collection found it.
var heapSamples = []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/gc/heap/live:bytes"}}

func heapBytes() (objects, live uint64) {
	metrics.Read(heapSamples)
	for i, s := range heapSamples {
		if s.Value.Kind() != metrics.KindUint64 {
			continue
		}
		if i == 0 {
			objects = s.Value.Uint64()
		} else {
			live = s.Value.Uint64()
		}
	}
	return objects, live
}

// loop runs while runs are registered, and a second more.
func (w *watchdog) loop() {
	tick := time.NewTicker(watchInterval)
	defer tick.Stop()
	quiet := 0
	for range tick.C {
		w.mu.Lock()
		if len(w.runs) == 0 {
			if quiet++; quiet > int(time.Second/watchInterval) {
				w.on = false
				w.mu.Unlock()
				return
			}
		} else {
			quiet = 0
		}
		collect := w.check(time.Time{})
		release := w.release && len(w.runs) == 0
		if release {
			w.release = false
		}
		w.mu.Unlock()
		if release {
			// give the memory of stopped runs back to the system now
			// rather than over the next minutes
			debug.FreeOSMemory()
		}
		if collect {
			// garbage counts until it is collected: only live memory is
			// held against the runs (collected without the lock, so runs
			// start and end meanwhile)
			began := time.Now()
			runtime.GC()
			w.mu.Lock()
			w.check(began)
			w.mu.Unlock()
		}
	}
}

// check runs with w.mu held. Over the budgets, it asks for a collection
// first (collected zero, at most every ten intervals, at once past
// twice the budgets) and stops a run only when the heap is still over
// after one; collected is when that collection began.
func (w *watchdog) check(collected time.Time) (collect bool) {
	now := time.Now()
	var budget uint64
	var long []*run
	for r := range w.runs {
		if now.Sub(r.started) >= watchInterval && r.stop.Load() == stopNone {
			long = append(long, r)
			budget += uint64(r.inv.MaxMemory)
		}
	}
	read := w.readHeap
	if read == nil {
		read = heapBytes
	}
	heap, live := read()
	if len(long) == 0 {
		// the idle heap follows a shrinking heap at once and a growing
		// one slowly, so the memory a stopped run left for the collector
		// does not count as idle
		if live < w.idle || w.idle == 0 {
			w.idle = live
		} else {
			w.idle += (live - w.idle) / 64
		}
		return false
	}
	if heap <= w.idle+budget {
		return false
	}
	// Only a collection tells live memory from garbage: a run that ended
	// (stopped over its budget, say) leaves its garbage counted in the
	// heap until the next one, and stopping on that would charge the runs
	// active now for it. A heap past twice the budgets is collected at
	// once, whatever the rate limit, so that a run growing fast is still
	// stopped within an interval.
	if collected.IsZero() {
		if heap <= 2*(w.idle+budget) && now.Sub(w.lastGC) < 10*watchInterval {
			return false
		}
		w.lastGC = now
		return true
	}
	victim := pickVictim(long, collected)
	if victim == nil {
		return false
	}
	w.stopped++
	// the victim fails on its budget: Run gives its memory back
	victim.halt(stopMemory, "memory budget exceeded")
	return false
}

// pickVictim is the run of long that grew most (else the oldest) among
// those active when the collection began, nil if none was. The
// collection marks live what was reachable while it ran, and a run that
// ended meanwhile (stopped over its budget, say) held that memory: the
// runs started after it began cannot have taken it.
func pickVictim(long []*run, collected time.Time) *run {
	var victim *run
	for _, r := range long {
		if !r.started.Before(collected) {
			continue
		}
		if victim == nil {
			victim = r
			continue
		}
		g, vg := r.grown.Load(), victim.grown.Load()
		if g > vg || (g == vg && r.started.Before(victim.started)) {
			victim = r
		}
	}
	return victim
}
