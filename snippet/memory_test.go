package snippet

import (
	"encoding/json"
	"testing"

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
