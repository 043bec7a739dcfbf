package tests

import (
	"net/http"
	"strings"
	"testing"
)

// TestBadAdminInput: every bad write gets a JSON error with the right
// status and nothing is stored; other endpoints keep serving.
func TestBadAdminInput(t *testing.T) {
	c := startCaddy(t, config{App: appUsers})
	c.create(publicRecord("ok", "/ok", `result = {"payload": "ok"}`))
	c.create(publicRecord("items", "/items/{id}", `result = {}`))
	c.sync()

	base := func() map[string]any { return publicRecord("bad", "/bad", `result = {}`) }
	with := func(k string, v any) map[string]any { r := base(); r[k] = v; return r }
	cases := []struct {
		name   string
		body   any
		status int
		want   string // in the answer
	}{
		{"malformed JSON", `{"name": "bad",`, 400, "error"},
		{"unknown field", with("colour", "red"), 400, "colour"},
		{"wrong type", with("route", 12), 400, "route"},
		{"name with slash", with("name", "a/b"), 400, "name"},
		{"name with space", with("name", "a b"), 400, "name"},
		{"non-ASCII name", with("name", "café"), 400, "name"},
		{"route with ..", with("route", "/a/../b"), 400, "route"},
		{"route with %2e%2e", with("route", "/a/%2e%2e/b"), 400, "route"},
		{"route with //", with("route", "/a//b"), 400, "route"},
		{"route with query", with("route", "/a?x=1"), 400, "route"},
		{"root route", with("route", "/"), 400, "route"},
		{"relative route", with("route", "a"), 400, "route"},
		{"conflicting pattern", with("route", "/items/{other}"), 400, "route"},
		{"bad method", with("request_method", "HEAD"), 400, "request_method"},
		{"POST without content type", with("request_method", "POST"), 400, "request_content_type"},
		{"bad auth", with("auth_type", "root"), 400, "auth_type"},
		{"public without exec_as", func() map[string]any { r := base(); delete(r, "exec_as_user"); return r }(), 400, "exec_as_user"},
		{"unknown exec_as", with("exec_as_user", "mallory"), 400, "exec_as_user"},
		{"unknown exec mode", with("exec_mode", "python"), 400, "exec_mode"},
		{"syntax error", with("code_snippet", "result = {\n  'a': \n"), 400, "code_snippet"},
		{"undefined name", with("code_snippet", "result = {'a': nope}"), 400, "nope"},
		{"load", with("code_snippet", "load('x.star', 'y')\nresult = {}"), 400, "code_snippet"},
		{"schema on GET", with("request_content_schema", `{"type": "object"}`), 400, "request_content_schema"},
		{"long group", with("route_group", strings.Repeat("g", 65)), 400, "route_group"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var a answer
			if s, ok := tc.body.(string); ok {
				a = do(t, "POST", c.Admin+"/endpoint/endpoints", s, "Content-Type", "application/json")
			} else {
				a = c.admin("POST", "/endpoint/endpoints", tc.body)
			}
			if a.Status != tc.status || !strings.Contains(string(a.Body), tc.want) {
				t.Fatalf("want %d mentioning %q, got %s", tc.status, tc.want, a)
			}
			a.JSON(t)
		})
	}
	// line and column of a compile error
	a := c.admin("POST", "/endpoint/endpoints", with("code_snippet", "x = 1\ny = x +\n"))
	if a.Status != 400 || !strings.Contains(string(a.Body), "2:") {
		t.Fatalf("syntax error without line: %s", a)
	}
	a = c.admin("POST", "/endpoint/endpoints", with("code_snippet", "x = 1\nresult = {'a': undefined_thing}\n"))
	if !strings.Contains(string(a.Body), "2:") || !strings.Contains(string(a.Body), `"field":"code_snippet"`) {
		t.Fatalf("undefined name without field/line: %s", a)
	}

	// oversized payload
	big := with("code_snippet", "result = {}\n#"+strings.Repeat("x", 2<<20))
	expect(t, c.admin("POST", "/endpoint/endpoints", big), http.StatusRequestEntityTooLarge)

	// nothing was stored
	if names := recordNames(t, c.admin("GET", "/endpoint/endpoints", nil)); names != "[items ok]" {
		t.Fatalf("stored after bad writes: %s", names)
	}
	expect(t, c.get("/ok"), 200)
}

// TestSyncRefusesInvalidSet: a set that became invalid (here: a user that
// vanished from the config is checked at sync) is refused whole.
func TestSyncListsEveryProblem(t *testing.T) {
	c := startCaddy(t, config{App: appUsers})
	c.create(publicRecord("one", "/one", `result = {"payload": 1}`))
	c.sync()
	// two drafts that conflict with each other only when both are active
	r1 := publicRecord("c1", "/c/{a}", `result = {}`)
	r1["active"] = false
	c.create(r1)
	c.create(publicRecord("c2", "/c/{b}", `result = {}`))
	a := c.admin("PATCH", "/endpoint/endpoints/c1", map[string]any{"active": true})
	if a.Status == 200 {
		// the conflict may also be caught at write time; then the sync below has nothing to refuse
		res := c.admin("POST", "/endpoint/sync", nil)
		if res.Status != 400 || !strings.Contains(string(res.Body), "details") {
			t.Fatalf("sync of conflicting set: %s", res)
		}
		st := c.admin("GET", "/endpoint/sync", nil).JSON(t)
		if st["revision"] != float64(1) {
			t.Fatalf("refused sync changed the revision: %v", st)
		}
	} else if a.Status != 400 {
		t.Fatalf("activating a conflicting draft: %s", a)
	}
	expect(t, c.get("/one"), 200)
}
