package snippet

import (
	"encoding/json"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/caddy-endpoint/endpoint/execmode"
)

// memorySnippets are the allocations the memory budget must stop; each
// would take far more than 64 MiB.
var memorySnippets = []struct{ name, src string }{
	{"list repetition", "l = [0] * (1 << 27)\nresult = {}"},
	{"string repetition", "x = \"x\" * (1 << 29)\ny = x + x + x + x\nresult = {}"},
	{"repetition on the left", "x = (1 << 27) * [0]\nresult = {}"},
	{"doubling loop", "x = \"x\"\nwhile True:\n    x = x + x\nresult = {}"},
	{"doubling in place", "x = [1]\nwhile True:\n    x += x\nresult = {}"},
	{"multiplying in place", "x = \"xx\"\nwhile True:\n    x *= 2\nresult = {}"},
	{"growing list", "l = []\nwhile True:\n    l.append(\"y\" * 4096)\nresult = {}"},
	{"growing by join", "s = \"ab\"\nwhile True:\n    s = \"\".join([s, s])\nresult = {}"},
	{"huge json.encode", "s = \"x\" * (1 << 20)\nl = [s] * 200\nresult = {\"payload\": len(json.encode(l))}"},
	{"huge payload", "s = \"x\" * (1 << 20)\nresult = {\"payload\": [s] * 200}"},
}

func TestMemoryBudget(t *testing.T) {
	for _, tc := range memorySnippets {
		t.Run(tc.name, func(t *testing.T) {
			inv := testInvocation()
			inv.MaxSteps = 0
			inv.MaxMemory = 64 << 20
			_, ee := runSnippet(t, tc.src, inv)
			if ee == nil || ee.Kind != execmode.FailMemory || ee.Status != 500 || ee.Message != msgMemory {
				t.Fatalf("got %v, want a memory_limit failure", ee)
			}
		})
	}
	t.Run("inside the budget", func(t *testing.T) {
		inv := testInvocation()
		inv.MaxMemory = 64 << 20
		src := "x = \"ab\" * 1000 + \"c\"\nl = [1, 2] * 3\nl += [4]\nn = 2\nn += 3\nn *= 4\nresult = {\"payload\": [len(x), l, n, 1 + 2.5, \"%d\" % 3]}"
		got := payloadOf(t, src, inv)
		want := []any{float64(2001), []any{float64(1), float64(2), float64(1), float64(2), float64(1), float64(2), float64(4)}, float64(20), 3.5, "3"}
		if gotS, wantS := toJSON(t, got), toJSON(t, want); gotS != wantS {
			t.Fatalf("got %s, want %s", gotS, wantS)
		}
	})
	t.Run("list += keeps the list", func(t *testing.T) {
		inv := testInvocation()
		inv.MaxMemory = 64 << 20
		got := payloadOf(t, "a = [1]\nb = a\na += (2, 3)\nresult = {\"payload\": b}", inv)
		if s := toJSON(t, got); s != "[1,2,3]" {
			t.Fatalf("got %s", s)
		}
	})
}

func toJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestMemoryCheckedAhead: what Starlark's own builtins would build is
// refused before it is built (the error says what it would take), not
// stopped by the watchdog after the fact. A doubling loop is refused at
// the call whose result would pass the budget, unless the watchdog,
// seeing the operands and the garbage of the doublings before, stops it
// first.
func TestMemoryCheckedAhead(t *testing.T) {
	for _, src := range []string{
		"s = \"ab\"\nwhile True:\n    s = \"\".join([s, s])\nresult = {}",
		"s = \"ab\"\nwhile True:\n    s = \",\".join((s, s, \"\"))\nresult = {}",
		"s = \"ab\"\nwhile True:\n    s = s.replace(\"b\", s)\nresult = {}",
		"l = [1]\nwhile True:\n    l.extend(l)\nresult = {}",
	} {
		inv := testInvocation()
		inv.MaxSteps = 0
		inv.MaxMemory = 64 << 20
		if _, ee := runSnippet(t, src, inv); ee == nil || ee.Kind != execmode.FailMemory {
			t.Fatalf("%q: got %v, want a memory_limit failure", src, ee)
		}
	}
	for _, tc := range []struct{ name, src string }{
		{"one join", "s = \"x\" * (1 << 22)\nt = \"\".join([s] * 20)\nresult = {}"},
		{"one replace", "s = \"x\" * (1 << 22)\nt = s.replace(\"x\", \"y\" * 20)\nresult = {}"},
		{"one extend", "l = [0] * (1 << 20)\nl.extend(range(1 << 22))\nresult = {}"},
		{"split into pieces", "s = \",\" * (1 << 22)\nl = s.split(\",\")\nresult = {}"},
		{"split on spaces", "s = \"a \" * 3000000\nl = s.split()\nresult = {}"},
		{"splitlines", "s = \"\\n\" * (1 << 22)\nl = s.splitlines()\nresult = {}"},
		{"list of a range", "l = list(range(1 << 23))\nresult = {}"},
		{"sorted range", "l = sorted(range(1 << 23), reverse=True)\nresult = {}"},
		{"tuple of a range", "l = tuple(range(1 << 23))\nresult = {}"},
		{"enumerate", "l = enumerate(range(1 << 21))\nresult = {}"},
		{"zip", "l = zip(range(1 << 21), range(1 << 22))\nresult = {}"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inv := testInvocation()
			inv.MaxSteps = 0
			inv.MaxMemory = 64 << 20
			// the garbage of the runs before is no part of this one's
			runtime.GC()
			_, ee := runSnippet(t, tc.src, inv)
			if ee == nil || ee.Kind != execmode.FailMemory || !strings.Contains(ee.Err.Error(), "would take") {
				t.Fatalf("got %v, want a memory_limit failure before the allocation", ee)
			}
		})
	}
}

// TestCheckedBuiltinsAnswer: the checked methods and functions answer as
// Starlark's own, keyword arguments and errors included.
func TestCheckedBuiltinsAnswer(t *testing.T) {
	inv := testInvocation()
	inv.MaxMemory = 64 << 20
	src := `pairs = [("b", 2), ("a", 1), ("c", 2), ("d", 1)]
out = [
    "-".join(["a", "b", "c"]),
    "".join([]),
    "aXbX".replace("X", "YY"),
    "aXbX".replace("X", "YY", 1),
    "a,b,,c".split(","),
    "a,b,c".split(",", 1),
    "a,b,c".rsplit(",", 1),
    "  a b\tc ".split(),
    "x\ny\n".splitlines(),
    sorted([3, 1, 2]),
    sorted([3, 1, 2], reverse = True),
    sorted(pairs, key = lambda p: p[1]),
    sorted(pairs, key = lambda p: p[1], reverse = True),
    sorted({"z": 1, "y": 2}),
    list("ab".elems()),
    tuple([1, 2]),
    list(reversed([1, 2, 3])),
    list(enumerate(["a", "b"])),
    list(zip([1, 2, 3], "ab".elems())),
    dict([("k", 1)]),
    dict(a = 1),
    sorted(set([2, 1, 2])),
]
l = [1]
l.extend([2, 3])
out.append(l)
result = {"payload": out}`
	got := toJSON(t, payloadOf(t, src, inv))
	want := `["a-b-c","","aYYbYY","aYYbX",["a","b","","c"],["a","b,c"],["a,b","c"],["a","b","c"],["x","y"],[1,2,3],[3,2,1],` +
		`[["a",1],["d",1],["b",2],["c",2]],[["b",2],["c",2],["a",1],["d",1]],["y","z"],["a","b"],[1,2],[3,2,1],[[0,"a"],[1,"b"]],[[1,"a"],[2,"b"]],` +
		`{"k":1},{"a":1},[1,2],[1,2,3]]`
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	for src, msg := range map[string]string{
		"x = sorted([1, \"a\"])\nresult = {}":   "not implemented",
		"x = (1).join([])\nresult = {}":         "has no .join field or method",
		"x = \"a\".join([1])\nresult = {}":      "join: in list, want string, got int",
		"x = {}.extend([1])\nresult = {}":       "has no .extend field or method",
		"x = \"a\".replace(\"a\")\nresult = {}": "replace: got 1 arguments, want at least 2",
	} {
		_, ee := runSnippet(t, src, testInvocation())
		if ee == nil || !strings.Contains(ee.Err.Error(), msg) {
			t.Errorf("%q: got %v, want %q", src, ee, msg)
		}
	}
}

// TestSortedStopsAtDeadline: a sort of a large list stops when the run's
// deadline passes (Starlark's own sorted ran to its end first).
func TestSortedStopsAtDeadline(t *testing.T) {
	inv := testInvocation()
	inv.MaxSteps = 0
	inv.MaxMemory = 64 << 20
	inv.Deadline = time.Now().Add(50 * time.Millisecond)
	_, ee := runSnippet(t, "l = sorted(range(1 << 20), reverse = True)\nresult = {}", inv)
	if ee == nil || ee.Kind != execmode.FailTimeout {
		t.Fatalf("got %v, want a timeout", ee)
	}
	if !strings.Contains(ee.Err.Error(), "sorted: the run was stopped") {
		t.Fatalf("not stopped in sorted: %v", ee.Err)
	}
}

// fakeHeap makes check read objects and live bytes the test chooses, and
// returns a watchdog holding one run with a budget of budget bytes that
// has been active for a second.
func fakeHeap(t *testing.T, objects, live *uint64, idle, budget uint64) (*watchdog, *run) {
	t.Helper()
	r := &run{inv: &execmode.Invocation{MaxMemory: int64(budget)}, started: time.Now().Add(-time.Second)}
	w := &watchdog{runs: map[*run]struct{}{r: {}}, idle: idle}
	w.readHeap = func() (uint64, uint64) { return *objects, *live }
	return w, r
}

// TestWatchdogSparesTheNextRun: the garbage a run over its budget left
// when it ended is counted in the heap until the next collection; the
// run after it is not stopped for it, even when that heap is past twice
// the budgets. check is driven with a heap the test sets, so the result
// depends on no collection's timing.
func TestWatchdogSparesTheNextRun(t *testing.T) {
	const mib = 1 << 20
	objects, live := uint64(300*mib), uint64(70*mib)
	w, r := fakeHeap(t, &objects, &live, 4*mib, 64*mib)
	// the last collection was just now: only a heap past twice the
	// budgets asks for another at once
	w.lastGC = time.Now()
	collect := w.check(time.Time{})
	if w.stopped != 0 || r.stop.Load() != stopNone {
		t.Fatal("the run was stopped for the garbage of the run before it")
	}
	if !collect {
		t.Fatal("a heap past twice the budgets is not collected at once")
	}
	// the collection freed the hog's garbage
	objects, live = 6*mib, 6*mib
	if w.check(time.Now()) || w.stopped != 0 || r.stop.Load() != stopNone {
		t.Fatal("the run was stopped after the collection freed the heap")
	}
}

// TestWatchdogStopsAHog: a heap still over the budgets after the
// collection stops the run; one past twice them is collected at once.
func TestWatchdogStopsAHog(t *testing.T) {
	const mib = 1 << 20
	for _, tc := range []struct {
		name  string
		heap  uint64
		hurry bool
	}{
		{"over the budgets", 100 * mib, false},
		{"past twice the budgets", 300 * mib, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objects, live := tc.heap, tc.heap
			w, r := fakeHeap(t, &objects, &live, 4*mib, 64*mib)
			w.lastGC = time.Now()
			if got := w.check(time.Time{}); got != tc.hurry {
				t.Fatalf("collection asked within the rate limit: %v, want %v", got, tc.hurry)
			}
			w.lastGC = time.Time{}
			if !w.check(time.Time{}) || r.stop.Load() != stopNone {
				t.Fatal("no collection asked before the stop")
			}
			if w.check(time.Now()); w.stopped != 1 || r.stop.Load() != stopMemory {
				t.Fatal("a run still over its budget after the collection was not stopped")
			}
		})
	}
}

// TestWatchdogSparesARunStartedDuringTheCollection: what a collection
// found live may be the memory of a run that ended while it ran; a run
// started after the collection began is not stopped for it.
func TestWatchdogSparesARunStartedDuringTheCollection(t *testing.T) {
	const mib = 1 << 20
	objects, live := uint64(72*mib), uint64(71*mib)
	w, r := fakeHeap(t, &objects, &live, 1*mib, 64*mib)
	began := r.started.Add(-time.Millisecond)
	if w.check(began); w.stopped != 0 || r.stop.Load() != stopNone {
		t.Fatal("a run started during the collection was stopped for what it found live")
	}
	if w.check(r.started.Add(time.Millisecond)); w.stopped != 1 || r.stop.Load() != stopMemory {
		t.Fatal("a run active when the collection began and still over was not stopped")
	}
}
