package tests

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestBoundedNumbers: a body number beyond the digit or exponent bound is
// json_invalid before the schema checks it (1e999999 used to be checked
// as a million-digit rational, and passed), and a number the schema
// accepts but a snippet cannot hold (1e400) is a 400, not a 500.
func TestBoundedNumbers(t *testing.T) {
	c := startCaddy(t, config{App: appUsers})
	c.create(schemaRecord("ints", "/ints", "application/json",
		`{"type": "array", "items": {"type": "integer", "minimum": 0}}`,
		`result = {"payload": len(request.json())}`))
	c.create(schemaRecord("nums", "/nums", "application/json",
		`{"type": "object", "properties": {"a": {"type": "number"}}}`,
		`result = {"payload": request.json()["a"]}`))
	c.sync()
	post := func(path, body string) answer {
		return do(t, "POST", c.HTTP+path, body, "Content-Type", "application/json")
	}

	a := expect(t, post("/ints", "[1, 1e999999]"), 400)
	detail := a.JSON(t)["detail"].([]any)
	first := detail[0].(map[string]any)
	if len(detail) != 1 || first["type"] != "json_invalid" || !strings.Contains(first["msg"].(string), "exponent") ||
		len(first["loc"].([]any)) != 2 || first["loc"].([]any)[1] != float64(1) {
		t.Fatalf("1e999999: %s", a)
	}
	a = expect(t, post("/ints", "["+strings.Repeat("9", 101)+"]"), 400)
	if !strings.Contains(string(a.Body), "digits") {
		t.Fatalf("101 digits: %s", a)
	}
	// a body of max_body_size full of them answers, with the first 64
	body := "[" + strings.TrimSuffix(strings.Repeat("1e999999,", (1<<20-2)/9), ",") + "]"
	a = expect(t, post("/ints", body), 400)
	if n := len(a.JSON(t)["detail"].([]any)); n != 64 {
		t.Fatalf("1 MiB of 1e999999: %d violations", n)
	}
	expect(t, post("/ints", "[0, 12, "+strings.Repeat("9", 100)+"]"), 200)
	// inside the bounds, valid for the schema, too large for a float
	expect(t, post("/ints", "[0, 1e1000]"), 400)

	a = expect(t, post("/nums", `{"a": 1e400}`), 400)
	if !strings.Contains(string(a.Body), "out of the range") {
		t.Fatalf("1e400: %s", a)
	}
	expect(t, post("/nums", `{"a": 1.5e300}`), 200)
}

// rss reads the resident set of Caddy in bytes.
func (p *caddyProc) rss() int64 {
	p.t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		p.t.Skipf("no /proc status for RSS: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			var kb int64
			fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), &kb)
			return kb << 10
		}
	}
	p.t.Fatal("no VmRSS")
	return 0
}

// peakRSS calls f while sampling Caddy's RSS, and returns f's answer and
// the highest RSS seen.
func (p *caddyProc) peakRSS(f func() answer) (answer, int64) {
	done := make(chan struct{})
	peak := make(chan int64)
	go func() {
		var max int64
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			if r := p.rss(); r > max {
				max = r
			}
			select {
			case <-done:
				peak <- max
				return
			case <-tick.C:
			}
		}
	}()
	a := f()
	close(done)
	return a, <-peak
}

// memoryBound is what README promises: while a run is stopped for its
// budget, Caddy's RSS stays within this much above its idle size, with
// max_memory 64 MiB.
const memoryBound = 384 << 20

// TestMemoryBudget: each allocation pattern that used to get Caddy
// OOM-killed is stopped with 500 memory_limit, RSS stays within the
// documented bound, and another endpoint answers meanwhile.
func TestMemoryBudget(t *testing.T) {
	c := startCaddy(t, config{App: appUsers + `
		max_steps 100000000000
		timeout 30s
		max_memory 64MiB`})
	snippets := map[string]string{
		"list-repetition":   "l = [0] * (1 << 27)\nresult = {}",
		"string-repetition": "x = \"x\" * (1 << 29)\ny = x + x + x + x\nresult = {}",
		"doubling":          "x = \"x\"\nwhile True:\n    x = x + x\nresult = {}",
		"growing-list":      "l = []\nwhile True:\n    l.append(\"y\" * 4096)\nresult = {}",
		"join":              "s = \"ab\"\nwhile True:\n    s = \"\".join([s, s])\nresult = {}",
		"json-encode":       "s = \"x\" * (1 << 20)\nl = [s] * 1000\nresult = {\"payload\": len(json.encode(l))}",
	}
	for name, code := range snippets {
		c.create(publicRecord(name, "/"+name, code))
	}
	c.create(publicRecord("ok", "/ok", `result = {"payload": "ok"}`))
	c.sync()
	expect(t, c.get("/ok"), 200)
	for name := range snippets {
		t.Run(name, func(t *testing.T) {
			idle := c.rss()
			var okDuring atomic.Int32
			stop := make(chan struct{})
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					if resp, err := http.Get(c.HTTP + "/ok"); err == nil {
						if resp.StatusCode == 200 {
							okDuring.Add(1)
						}
						resp.Body.Close()
					}
					time.Sleep(20 * time.Millisecond)
				}
			}()
			a, peak := c.peakRSS(func() answer { return c.get("/" + name) })
			close(stop)
			wg.Wait()
			if a.Status != 500 || !strings.Contains(a.JSON(t)["error"].(string), "memory budget") {
				t.Fatalf("want 500 memory budget, got %s", a)
			}
			t.Logf("%s: peak RSS %d MiB above idle (%d MiB)", name, (peak-idle)>>20, idle>>20)
			if peak-idle > memoryBound {
				t.Errorf("peak RSS %d MiB above idle, more than the %d MiB bound", (peak-idle)>>20, memoryBound>>20)
			}
			if okDuring.Load() == 0 {
				t.Errorf("the other endpoint did not answer meanwhile")
			}
			if got := c.metric(fmt.Sprintf(`caddy_endpoint_snippet_limit_failures_total{endpoint=%q,kind="memory_limit"}`, name)); got != 1 {
				t.Errorf("memory_limit metric: %v", got)
			}
		})
	}

	// four at once, each asking for 512 MiB
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := do(t, "GET", c.HTTP+"/string-repetition", nil)
			if a.Status != 500 {
				t.Errorf("concurrent: %s", a)
			}
		}()
	}
	wg.Wait()
	expect(t, c.get("/ok"), 200)
}
