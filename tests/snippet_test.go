package tests

import (
	"strings"
	"sync"
	"testing"
)

// TestSnippetFailures: runaway code and bad results answer as SPEC §5
// says, with no code or secret in the answer, while other endpoints keep
// serving.
func TestSnippetFailures(t *testing.T) {
	c := startCaddy(t, config{App: appUsers + `
		max_steps 100000
		timeout 1s`})
	for _, r := range []map[string]any{
		publicRecord("ok", "/ok", `result = {"payload": "ok"}`),
		publicRecord("spin", "/spin", "n = 0\nwhile True:\n    n += 1\nresult = {}"),
		publicRecord("notdict", "/notdict", `result = [1, 2]`),
		publicRecord("noresult", "/noresult", `x = 1`),
		publicRecord("crash", "/crash", "secret_token = 'hunter2'\nresult = {'payload': 1 // 0}"),
		publicRecord("notfound", "/notfound", `NotFound("no such order")`),
		publicRecord("badreq", "/badreq", `BadRequest("missing field x")`),
		publicRecord("forbidden", "/forbidden", `Forbidden("not yours")`),
		publicRecord("unauth", "/unauth", `Unauthorized("who are you")`),
		publicRecord("usererr", "/usererr", `UserError("nope")`),
		publicRecord("valerr", "/valerr", `ValidationError("bad value")`),
		publicRecord("response", "/response", `result = {"response": Response("plain", status_code=418, headers={"X-A": "b"})}`),
	} {
		c.create(r)
	}
	c.sync()
	// recursion is refused when the snippet is written
	a := c.admin("POST", "/endpoint/endpoints", publicRecord("recursion", "/recursion", "def f(n):\n    return f(n)\nresult = {'payload': f(1)}"))
	if a.Status != 400 || !strings.Contains(string(a.Body), "recursion") {
		t.Fatalf("recursion: %s", a)
	}

	// run the runaway loops while the other endpoint keeps answering
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if a := c.get("/spin"); a.Status != 500 || !strings.Contains(string(a.Body), "step") {
				t.Errorf("runaway: %s", a)
			}
		}()
	}
	for i := 0; i < 20; i++ {
		expect(t, c.get("/ok"), 200)
	}
	wg.Wait()

	for path, want := range map[string]int{
		"/notdict": 500, "/noresult": 500, "/crash": 500,
		"/notfound": 404, "/badreq": 400, "/forbidden": 403, "/unauth": 401,
		"/usererr": 400, "/valerr": 400, "/response": 418,
	} {
		a := c.get(path)
		if a.Status != want {
			t.Errorf("%s: want %d, got %s", path, want, a)
		}
		if strings.Contains(string(a.Body), "hunter2") || strings.Contains(string(a.Body), "1 // 0") {
			t.Errorf("%s leaks code: %s", path, a.Body)
		}
	}
	if got := c.metric(`caddy_endpoint_snippet_limit_failures_total{endpoint="spin",kind="step_limit"}`); got != 4 {
		t.Errorf("step limit metric: %v", got)
	}
	if a := c.get("/notfound"); a.JSON(t)["error"] != "no such order" {
		t.Errorf("user error message: %s", a)
	}
	if a := c.get("/response"); string(a.Body) != "plain" || a.Header.Get("X-A") != "b" || !strings.HasPrefix(a.Header.Get("Content-Type"), "text/plain") {
		t.Errorf("Response(): %s %v", a, a.Header)
	}
	// the full error goes to the log with the endpoint name
	c.waitLog(`"endpoint":"crash"`)

	// a failure caused by the body is logged without the body's words
	r := publicRecord("bodyerr", "/bodyerr", `result = {"payload": int(request.text)}`)
	r["request_method"], r["request_content_type"] = "POST", "text/plain"
	c.create(r)
	c.sync()
	expect(t, do(t, "POST", c.HTTP+"/bodyerr", "card-number-4242", "Content-Type", "text/plain"), 500)
	c.waitLog(`"endpoint":"bodyerr"`)
	if strings.Contains(c.Logs(), "card-number-4242") {
		t.Fatalf("the request body reached the log:\n%s", c.Logs())
	}
}

// TestSnippetTimeout: a snippet past its time limit answers 503.
func TestSnippetTimeout(t *testing.T) {
	c := startCaddy(t, config{App: appUsers + `
		max_steps 1000000000000
		timeout 300ms`})
	c.create(publicRecord("slow", "/slow", "while True:\n    pass\nresult = {}"))
	c.create(publicRecord("ok", "/ok", `result = {"payload": "ok"}`))
	c.sync()
	a := c.get("/slow")
	if a.Status != 503 || a.JSON(t)["error"] == "" {
		t.Fatalf("timeout: %s", a)
	}
	expect(t, c.get("/ok"), 200)
	if got := c.metric(`caddy_endpoint_snippet_limit_failures_total{endpoint="slow",kind="timeout"}`); got != 1 {
		t.Fatalf("timeout metric: %v", got)
	}
}
