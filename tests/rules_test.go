package tests

import (
	"net/http"
	"strings"
	"testing"
)

// TestRequestRules walks SPEC §5 in order: route, method (HEAD, 405,
// preflight), content type, size, exec; path params reach the snippet.
func TestRequestRules(t *testing.T) {
	c := startCaddy(t, config{
		App: appUsers + `
		max_body_size 64
		define items {
			route /items/{id}
			auth public
			exec_as bot
			cors https://app.example.com
			code ` + "`" + `result = {"payload": {"id": request.path_params["id"], "q": request.query.get("q")}, "headers": {"X-Item": request.path_params["id"]}}` + "`" + `
		}
		define items-new {
			route /items/new
			auth public
			exec_as bot
			code ` + "`" + `result = {"payload": "new"}` + "`" + `
		}
		define items-create {
			route /items/special
			method POST
			content_type application/json
			auth public
			exec_as bot
			code ` + "`" + `result = {"payload": "created"}` + "`" + `
		}
		define files {
			route /files/{path...}
			auth public
			exec_as bot
			code ` + "`" + `result = {"payload": request.path_params["path"]}` + "`" + `
		}
		define post {
			route /post
			method POST
			content_type application/json
			auth public
			exec_as bot
			cors *
			code ` + "`" + `result = {"payload": request.json()}` + "`" + `
		}`,
	})

	if got := string(expect(t, c.get("/items/42?q=x"), 200).Body); got != `{"id":"42","q":"x"}` {
		t.Fatalf("path params: %s", got)
	}
	if got := string(c.get("/items/new").Body); got != `"new"` {
		t.Fatalf("precedence: /items/new = %s", got)
	}
	// a more specific route that lacks the method does not hide a general
	// one that has it (Go's net/http precedence)
	if got := string(expect(t, c.get("/items/special"), 200).Body); got != `{"id":"special","q":null}` {
		t.Fatalf("GET /items/special: %s", got)
	}
	if got := string(expect(t, do(t, "POST", c.HTTP+"/items/special", `{}`, "Content-Type", "application/json"), 200).Body); got != `"created"` {
		t.Fatalf("POST /items/special: %s", got)
	}
	if got := string(c.get("/files/a/b/c.txt").Body); got != `"a/b/c.txt"` {
		t.Fatalf("rest param: %s", got)
	}
	a := expect(t, c.get("/nothing"), 404)
	if a.JSON(t)["error"] != "not found" {
		t.Fatalf("404 body: %s", a)
	}

	// HEAD is GET without a body
	h := do(t, "HEAD", c.HTTP+"/items/7", nil)
	if h.Status != 200 || len(h.Body) != 0 || h.Header.Get("X-Item") != "7" {
		t.Fatalf("HEAD: %d %q %v", h.Status, h.Body, h.Header)
	}
	// 405 with Allow
	a = expect(t, do(t, "DELETE", c.HTTP+"/items/7", nil), 405)
	if allow := a.Header.Get("Allow"); !strings.Contains(allow, "GET") || !strings.Contains(allow, "HEAD") {
		t.Fatalf("Allow: %q", allow)
	}
	a.JSON(t)

	// CORS: preflight and headers, only for listed origins
	pf := do(t, "OPTIONS", c.HTTP+"/items/7", nil, "Origin", "https://app.example.com", "Access-Control-Request-Method", "GET")
	if pf.Status != 204 || pf.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" || !strings.Contains(pf.Header.Get("Access-Control-Allow-Methods"), "GET") {
		t.Fatalf("preflight: %d %v", pf.Status, pf.Header)
	}
	if a := c.get("/items/7", "Origin", "https://app.example.com"); a.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" {
		t.Fatalf("CORS header missing: %v", a.Header)
	}
	if a := c.get("/items/7", "Origin", "https://evil.example"); a.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("CORS for an unlisted origin: %v", a.Header)
	}
	if a := c.get("/items/new", "Origin", "https://app.example.com"); a.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("CORS without cors_origins: %v", a.Header)
	}

	// content type by media type, case-insensitive, parameters ignored
	for _, ct := range []string{"application/json", "Application/JSON; charset=utf-8"} {
		a := do(t, "POST", c.HTTP+"/post", `{"a":1}`, "Content-Type", ct)
		if a.Status != 200 || string(a.Body) != `{"a":1}` {
			t.Fatalf("content type %q: %s", ct, a)
		}
	}
	for _, ct := range []string{"", "text/plain", "application/jsonx"} {
		a := do(t, "POST", c.HTTP+"/post", `{"a":1}`, "Content-Type", ct)
		if a.Status != http.StatusUnsupportedMediaType {
			t.Fatalf("content type %q: %s", ct, a)
		}
	}
	// 415 keeps the CORS headers
	a = do(t, "POST", c.HTTP+"/post", `{}`, "Content-Type", "text/plain", "Origin", "https://x.example")
	if a.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("CORS lost on error: %v", a.Header)
	}
	// "*" never lets a browser send its credentials
	if a.Header.Get("Access-Control-Allow-Credentials") != "" {
		t.Fatalf("credentials allowed for *: %v", a.Header)
	}
	if a := c.get("/items/7", "Origin", "https://app.example.com"); a.Header.Get("Access-Control-Allow-Credentials") != "true" || !strings.Contains(strings.Join(a.Header.Values("Vary"), ","), "Origin") {
		t.Fatalf("named origin: %v", a.Header)
	}
	// every answer of a CORS route varies by Origin: a 405 (readable by a
	// listed origin) and a plain OPTIONS too
	varies := func(a answer) bool { return strings.Contains(strings.Join(a.Header.Values("Vary"), ","), "Origin") }
	a = expect(t, do(t, "DELETE", c.HTTP+"/items/7", nil, "Origin", "https://app.example.com"), 405)
	if !varies(a) || a.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" {
		t.Fatalf("405 of a CORS route: %v", a.Header)
	}
	if a := expect(t, do(t, "DELETE", c.HTTP+"/items/7", nil), 405); !varies(a) || a.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("405 of a CORS route without Origin: %v", a.Header)
	}
	if a := expect(t, do(t, "OPTIONS", c.HTTP+"/items/7", nil), 204); !varies(a) {
		t.Fatalf("plain OPTIONS of a CORS route: %v", a.Header)
	}
	// size
	expect(t, do(t, "POST", c.HTTP+"/post", `{"a":"`+strings.Repeat("x", 100)+`"}`, "Content-Type", "application/json"), http.StatusRequestEntityTooLarge)
}

// TestRouteGroupsAndPassThru: a handler serves only its groups, and
// pass_thru hands unknown paths to the next handler.
func TestRouteGroupsAndPassThru(t *testing.T) {
	c := startCaddy(t, config{
		App: appUsers + `
		define pub {
			route /pub
			group public-api
			auth public
			exec_as bot
			code ` + "`" + `result = {"payload": "pub"}` + "`" + `
		}
		define internal {
			route /internal
			group internal
			auth public
			exec_as bot
			code ` + "`" + `result = {"payload": "internal"}` + "`" + `
		}`,
		Site: `
	route {
		endpoint public-api {
			pass_thru
		}
		respond "fallback" 200
	}`,
	})
	expect(t, c.get("/pub"), 200)
	if got := string(expect(t, c.get("/internal"), 200).Body); got != "fallback" {
		t.Fatalf("other group served: %s", got)
	}
	if got := string(c.get("/nothing").Body); got != "fallback" {
		t.Fatalf("pass_thru: %s", got)
	}
}
