package tests

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
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
// max_memory 64 MiB (str.join and str.replace, once seen only after the
// fact, took up to 800 MiB).
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
		"replace":           "s = \"ab\"\nwhile True:\n    s = s.replace(\"b\", s)\nresult = {}",
		"split":             "s = \",\" * (1 << 25)\nl = s.split(\",\")\nresult = {}",
		"sorted":            "l = sorted(list(range(1 << 23)), reverse=True)\nresult = {}",
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
			// the memory goes back to the system once no run is active,
			// also when the run was refused before its last allocation
			for i := 0; c.rss() > idle+64<<20; i++ {
				if i == 200 {
					t.Fatalf("RSS still %d MiB above idle 10 s after the answer", (c.rss()-idle)>>20)
				}
				time.Sleep(50 * time.Millisecond)
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

// TestDeadlineWithFewSteps: a run of few heavy steps is stopped at its
// deadline (it used to be checked only after 500 steps).
func TestDeadlineWithFewSteps(t *testing.T) {
	c := startCaddy(t, config{App: appUsers + `
		timeout 200ms`})
	c.create(publicRecord("heavy", "/heavy", "x = \"ab\" * (1 << 24)\nn = 0\nfor i in range(200):\n    n += x.count(\"ba\")\nresult = {\"payload\": n}"))
	c.sync()
	a := c.get("/heavy")
	if a.Status != 503 {
		t.Fatalf("want 503 at the deadline, got %s", a)
	}
}

// TestSlowBody: a body trickled slower than the time limit gets 408 when
// the limit passes, and the connection is closed.
func TestSlowBody(t *testing.T) {
	c := startCaddy(t, config{App: appUsers + `
		timeout 500ms`})
	rec := publicRecord("echo", "/echo", `result = {"payload": len(request.body)}`)
	rec["request_method"] = "POST"
	rec["request_content_type"] = "text/plain"
	c.create(rec)
	c.sync()
	conn, err := net.Dial("tcp", c.httpAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /echo HTTP/1.1\r\nHost: %s\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\n", c.httpAddr)
	go func() {
		for range 100 {
			if _, err := conn.Write([]byte("x")); err != nil {
				return
			}
			time.Sleep(200 * time.Millisecond)
		}
	}()
	_ = conn.SetReadDeadline(time.Now().Add(15 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to a trickled body: %v\n%s", err, c.Logs())
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestTimeout {
		t.Fatalf("want 408, got %d", resp.StatusCode)
	}
	// a whole body still answers
	expect(t, do(t, "POST", c.HTTP+"/echo", "hello", "Content-Type", "text/plain"), 200)
}

// TestMaxConcurrency: beyond max_concurrency runs of one endpoint, a
// request is answered 503 with Retry-After at once; another endpoint is
// not affected.
func TestMaxConcurrency(t *testing.T) {
	c := startCaddy(t, config{App: appUsers + `
		max_steps 100000000000
		timeout 20s
		max_concurrency 2`})
	// slow but within its limits, so the circuit stays closed
	c.create(publicRecord("slow", "/slow", "n = 0\nfor i in range(2000000):\n    n += 1\nresult = {\"payload\": n}"))
	c.create(publicRecord("ok", "/ok", `result = {"payload": "ok"}`))
	c.sync()
	var busy atomic.Int32
	var other atomic.Value
	for round := 0; round < 5 && busy.Load() == 0; round++ {
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				a := do(t, "GET", c.HTTP+"/slow", nil)
				switch {
				case a.Status == 503 && a.Header.Get("Retry-After") != "" && strings.Contains(string(a.Body), "busy"):
					busy.Add(1)
				case a.Status != 200:
					other.Store(a.String())
				}
			}()
		}
		expect(t, c.get("/ok"), 200)
		wg.Wait()
	}
	if busy.Load() == 0 {
		t.Fatal("4 concurrent requests with max_concurrency 2 were never refused")
	}
	if o := other.Load(); o != nil {
		t.Fatalf("unexpected answer: %v", o)
	}
	if got := c.metric(`caddy_endpoint_refused_total{endpoint="slow",reason="concurrency"}`); got != float64(busy.Load()) {
		t.Fatalf("refused metric %v, want %d", got, busy.Load())
	}
}

// TestCircuitBreaker: an endpoint that keeps failing on its limits is
// answered 503 with Retry-After without running; the circuit shows in
// /metrics and in the record, and closes again by itself once a trial run
// after the cool-down succeeds.
func TestCircuitBreaker(t *testing.T) {
	c := startCaddy(t, config{App: appUsers + `
		max_steps 1000`})
	c.create(publicRecord("loop", "/loop", "while True:\n    pass\nresult = {}"))
	c.sync()
	for i := range 5 {
		a := c.get("/loop")
		if a.Status != 500 || !strings.Contains(string(a.Body), "step budget") {
			t.Fatalf("run %d: %s", i, a)
		}
	}
	a := expect(t, c.get("/loop"), 503)
	if a.Header.Get("Retry-After") == "" || !strings.Contains(string(a.Body), "repeated limit failures") {
		t.Fatalf("open circuit: %s %v", a, a.Header)
	}
	if !a.Close {
		t.Fatalf("the open circuit's answer keeps the connection: %v", a.Header)
	}
	if got := c.metric(`caddy_endpoint_snippet_limit_failures_total{endpoint="loop",kind="step_limit"}`); got != 5 {
		t.Fatalf("the open circuit ran the snippet: %v step failures", got)
	}
	if got := c.metric(`caddy_endpoint_circuit_open{endpoint="loop"}`); got != 1 {
		t.Fatalf("circuit gauge: %v", got)
	}
	if got := c.metric(`caddy_endpoint_refused_total{endpoint="loop",reason="circuit"}`); got != 1 {
		t.Fatalf("refused metric: %v", got)
	}
	rec := expect(t, c.admin("GET", "/endpoint/endpoints/loop", nil), 200).JSON(t)
	if circuit, _ := rec["circuit"].(map[string]any); circuit["state"] != "open" {
		t.Fatalf("record circuit: %v", rec["circuit"])
	}

	// fixed code; after the cool-down a trial run closes the circuit
	expect(t, c.admin("PATCH", "/endpoint/endpoints/loop", `{"code_snippet": "result = {\"payload\": 1}"}`, "Content-Type", "application/merge-patch+json"), 200)
	c.sync()
	waitFor(t, func() bool { return c.get("/loop").Status == 200 })
	rec = expect(t, c.admin("GET", "/endpoint/endpoints/loop", nil), 200).JSON(t)
	if circuit, _ := rec["circuit"].(map[string]any); circuit["state"] != "closed" {
		t.Fatalf("record circuit after a good run: %v", rec["circuit"])
	}
	if got := c.metric(`caddy_endpoint_circuit_open{endpoint="loop"}`); got != 0 {
		t.Fatalf("circuit gauge after closing: %v", got)
	}
}

// TestClientHangUp: a client that goes away while its snippet runs is not
// counted as a snippet timeout nor as a 5xx.
func TestClientHangUp(t *testing.T) {
	c := startCaddy(t, config{App: appUsers + `
		max_steps 100000000000
		timeout 60s`})
	c.create(publicRecord("slow", "/slow", "while True:\n    pass\nresult = {}"))
	c.sync()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", c.HTTP+"/slow", nil)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("the slow endpoint answered %d", resp.StatusCode)
	}
	for i := 0; c.metric(`caddy_endpoint_requests_total{code="499",endpoint="slow"}`) != 1; i++ {
		if i == 500 {
			page := string(expect(t, c.admin("GET", "/metrics", nil), 200).Body)
			var lines []string
			for _, l := range strings.Split(page, "\n") {
				if strings.Contains(l, "slow") {
					lines = append(lines, l)
				}
			}
			t.Fatalf("the run went on after the client left:\n%s", strings.Join(lines, "\n"))
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got := c.metric(`caddy_endpoint_snippet_limit_failures_total{endpoint="slow",kind="timeout"}`); got != 0 {
		t.Fatalf("a hang-up counted as a timeout: %v", got)
	}
	if got := c.metric(`caddy_endpoint_requests_total{code="503",endpoint="slow"}`); got != 0 {
		t.Fatalf("a hang-up counted as a 5xx: %v", got)
	}
}

// TestSchemaLimits: schemas whose checking time has no bound are refused
// when written: XSD patterns a backend evaluates by backtracking ((a|aa)+b
// ran for minutes under libxml2; class subtraction for 40 s under helium),
// and schemas nested deeper than 128 levels (5,000 levels of items did
// not compile in 5 minutes).
func TestSchemaLimits(t *testing.T) {
	c := startCaddy(t, config{App: appUsers})
	xsd := func(pattern string) string {
		return `<?xml version="1.0"?><xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"><xs:element name="v"><xs:simpleType><xs:restriction base="xs:string"><xs:pattern value="` +
			pattern + `"/><xs:pattern value="a+c?"/></xs:restriction></xs:simpleType></xs:element></xs:schema>`
	}
	for _, p := range []string{"(a|aa)+b", "([a-z-[q]]+)+"} {
		a := c.admin("POST", "/endpoint/endpoints", schemaRecord("x", "/x", "application/xml", xsd(p), `result = {}`))
		if a.Status != 400 || !strings.Contains(string(a.Body), "pattern") {
			t.Fatalf("pattern %s: %s", p, a)
		}
	}
	deep := strings.Repeat(`{"items": `, 5000) + `{"type": "integer"}` + strings.Repeat("}", 5000)
	a := c.admin("POST", "/endpoint/endpoints", schemaRecord("deep", "/deep", "application/json", deep, `result = {}`))
	if a.Status != 400 || !strings.Contains(string(a.Body), "levels deep") {
		t.Fatalf("deep schema: %.300s", a)
	}
	// a bounded pattern still serves
	c.create(schemaRecord("ok", "/ok", "application/xml", xsd("a+b"), `result = {"payload": "ok"}`))
	c.sync()
	expect(t, do(t, "POST", c.HTTP+"/ok", "<v>"+strings.Repeat("a", 100)+"</v>", "Content-Type", "application/xml"), 200)
	expect(t, do(t, "POST", c.HTTP+"/ok", "<v>"+strings.Repeat("a", 100000)+"x</v>", "Content-Type", "application/xml"), 400)
	// an element of 90,000 attributes, just under max_body_size (about
	// 14 s of CPU in either backend, growing with their square), is
	// refused before parsing
	var attrs strings.Builder
	for i := range 90_000 {
		fmt.Fprintf(&attrs, ` a%d="1"`, i)
	}
	r := do(t, "POST", c.HTTP+"/ok", "<v"+attrs.String()+">ab</v>", "Content-Type", "application/xml")
	expect(t, r, 400)
	if !strings.Contains(string(r.Body), "more than 128 attributes") {
		t.Fatalf("90,000 attributes: %.300s", r.Body)
	}
}

// TestEarlyAnswerTrickledBody: a request answered before its body is read
// (405 here) is answered at once with Connection: close, and the
// connection is closed, instead of waiting for a trickled body to drain
// (the server used to read up to 256 KiB of it before answering).
func TestEarlyAnswerTrickledBody(t *testing.T) {
	c := startCaddy(t, config{App: appUsers + `
		timeout 30s`})
	c.create(publicRecord("get-only", "/get-only", `result = {"payload": "ok"}`))
	c.sync()
	conn, err := net.Dial("tcp", c.httpAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// 100 bytes at one every 200 ms: 20 s in all, longer than the read
	// deadline below
	fmt.Fprintf(conn, "POST /get-only HTTP/1.1\r\nHost: %s\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\n", c.httpAddr)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for range 100 {
			select {
			case <-stop:
				return
			case <-time.After(200 * time.Millisecond):
			}
			if _, err := conn.Write([]byte("x")); err != nil {
				return
			}
		}
	}()
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("no answer before the trickled body ended: %v", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") == "" {
		t.Fatalf("want 405 with Allow, got %d %v", resp.StatusCode, resp.Header)
	}
	if !resp.Close {
		t.Fatalf("405 before the body was read without Connection: close: %v", resp.Header)
	}
	if _, err := br.ReadByte(); err == nil {
		t.Fatal("the connection stayed open after the 405")
	}
	// a request whose body is read keeps its connection
	resp2, err := http.Post(c.HTTP+"/get-only", "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	resp2.Body.Close()
	if resp2.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("whole body: %d", resp2.StatusCode)
	}
	a := c.get("/get-only")
	if a.Status != 200 || a.Header.Get("Connection") == "close" {
		t.Fatalf("GET: %s %v", a, a.Header)
	}
}

// cpuTime is the CPU time Caddy has used (user + system), from
// /proc/<pid>/stat, at 100 ticks a second.
func (p *caddyProc) cpuTime() time.Duration {
	p.t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		p.t.Skipf("no /proc stat for CPU time: %v", err)
	}
	// the fields after the command name, which is in parentheses
	fields := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	var utime, stime int64
	fmt.Sscan(fields[11], &utime)
	fmt.Sscan(fields[12], &stime)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// TestSchemaValidationDeadline: a JSON Schema whose validation cost grows
// as 2^depth (allOf of two branches recursing into items) against a
// 100-byte body 40 levels deep is stopped at the time limit and answered
// 503; it used to validate for hours, holding a core, with no answer.
func TestSchemaValidationDeadline(t *testing.T) {
	c := startCaddy(t, config{App: appUsers + `
		timeout 1s`})
	c.create(schemaRecord("tree", "/tree", "application/json",
		`{"allOf": [{"items": {"$ref": "#"}}, {"items": {"$ref": "#"}}]}`,
		`result = {"payload": "ok"}`))
	c.sync()
	post := func(body string) (answer, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "POST", c.HTTP+"/tree", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return answer{}, err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return answer{Status: resp.StatusCode, Header: resp.Header, Body: b}, nil
	}
	a, err := post("[[[]]]")
	if err != nil || a.Status != 200 {
		t.Fatalf("shallow body: %v %v", a, err)
	}
	before := c.cpuTime()
	a, err = post(strings.Repeat("[", 40) + strings.Repeat("]", 40))
	if err != nil {
		t.Fatalf("no answer to the deep body: %v", err)
	}
	answered := c.cpuTime()
	if a.Status != 503 || !strings.Contains(a.JSON(t)["error"].(string), "time limit") {
		t.Fatalf("want 503 time limit, got %s", a)
	}
	time.Sleep(time.Second)
	t.Logf("CPU: %v until the answer, %v in the second after", answered-before, c.cpuTime()-answered)
	a, err = post("[[[]]]")
	if err != nil || a.Status != 200 {
		t.Fatalf("shallow body after: %v %v", a, err)
	}
}

// TestCircuitAcrossReload: an open circuit stays open across a config
// reload (it used to start closed again, so a reload let a runaway
// endpoint run anew), for a stored and a declared endpoint; a changed
// endpoint starts closed.
func TestCircuitAcrossReload(t *testing.T) {
	c := startCaddy(t, config{App: appUsers + `
		max_steps 1000
		define spin {
			route /spin
			auth public
			exec_as bot
			code ` + "`while True:\n    pass\nresult = {}`" + `
		}`})
	c.create(publicRecord("loop", "/loop", "while True:\n    pass\nresult = {}"))
	c.sync()
	circuit := func(name string) map[string]any {
		rec := expect(t, c.admin("GET", "/endpoint/endpoints/"+name, nil), 200).JSON(t)
		circuit, _ := rec["circuit"].(map[string]any)
		return circuit
	}
	for _, name := range []string{"loop", "spin"} {
		for i := range 5 {
			if a := c.get("/" + name); a.Status != 500 {
				t.Fatalf("%s run %d: %s", name, i, a)
			}
		}
		if st := circuit(name); st["state"] != "open" {
			t.Fatalf("%s before the reload: %v", name, st)
		}
	}

	reload := func(timeout string, spinCode string) {
		cfg := c.runningConfig()
		app := endpointApp(t, cfg)
		app["timeout"] = timeout
		if spinCode != "" {
			app["endpoints"].([]any)[0].(map[string]any)["code_snippet"] = spinCode
		}
		expect(t, c.load(cfg), 200)
		waitFor(t, func() bool { return endpointApp(t, c.runningConfig())["timeout"] == timeout })
	}
	reload("4s", "")
	for _, name := range []string{"loop", "spin"} {
		st := circuit(name)
		if st["state"] == "closed" || st["failures"].(float64) < 5 {
			t.Fatalf("%s after the reload: %v", name, st)
		}
	}
	if a := c.get("/loop"); a.Status != 503 && a.Status != 500 {
		t.Fatalf("loop after the reload: %s", a)
	}

	// changed endpoints start closed: the stored one by a new version,
	// the declared one by new code in the config
	expect(t, c.admin("PATCH", "/endpoint/endpoints/loop", `{"code_snippet": "result = {\"payload\": 1}"}`, "Content-Type", "application/merge-patch+json"), 200)
	c.sync()
	reload("3s", `result = {"payload": 2}`)
	expect(t, c.get("/loop"), 200)
	expect(t, c.get("/spin"), 200)
	for _, name := range []string{"loop", "spin"} {
		if st := circuit(name); st["state"] != "closed" || st["failures"].(float64) != 0 {
			t.Fatalf("%s after its change: %v", name, st)
		}
	}
}
