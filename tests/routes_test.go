package tests

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
)

// TestRoutesAndMethods: one record serves several routes and methods
// (the demo items resource); the content type is checked on body methods
// only; request.route is the pattern that matched; conflicts are per
// (route, method); the shorthands are accepted on write, never both, and
// reads return the lists; OpenAPI has one operation per route and method;
// a Caddyfile define takes several routes and methods.
func TestRoutesAndMethods(t *testing.T) {
	items, err := os.ReadFile("../demo/snippets/items.star")
	if err != nil {
		t.Fatal(err)
	}
	c := startCaddy(t, config{App: appUsers + `
		user shop {
			grant store items write
		}
		define pair {
			route /pair/a /pair/b
			method GET DELETE
			auth public
			exec_as bot
			code ` + "`" + `result = {"payload": {"route": request.route, "method": request.method, "routes": endpoint.routes}}` + "`" + `
		}
`, Files: map[string]string{"items.star": string(items)}})

	// declared, several routes and methods
	got := expect(t, c.get("/pair/b"), 200).JSON(t)
	if got["route"] != "/pair/b" || fmt.Sprint(got["routes"]) != "[/pair/a /pair/b]" {
		t.Fatalf("declared pair: %v", got)
	}
	if got := expect(t, do(t, "DELETE", c.HTTP+"/pair/a", nil), 200).JSON(t); got["route"] != "/pair/a" || got["method"] != "DELETE" {
		t.Fatalf("declared pair DELETE: %v", got)
	}
	a := expect(t, do(t, "POST", c.HTTP+"/pair/a", "x"), http.StatusMethodNotAllowed)
	if a.Header.Get("Allow") != "GET, HEAD, DELETE" {
		t.Fatalf("Allow = %q", a.Header.Get("Allow"))
	}

	rec := map[string]any{
		"name": "items", "routes": []string{"/demo/items", "/demo/items/{id}"},
		"request_methods":      []string{"GET", "POST", "PUT", "PATCH", "DELETE"},
		"request_content_type": "application/json",
		"auth_type":            "public", "exec_as_user": "shop", "code_snippet": string(items),
	}
	created := c.create(rec).JSON(t)
	if _, ok := created["route"]; ok || fmt.Sprint(created["routes"]) != "[/demo/items /demo/items/{id}]" ||
		fmt.Sprint(created["request_methods"]) != "[GET POST PUT PATCH DELETE]" {
		t.Fatalf("read back: %v", created)
	}
	c.sync()

	json := []string{"Content-Type", "application/json"}
	expect(t, c.get("/demo/items/1"), http.StatusNotFound)
	// content type is checked on body methods only
	expect(t, do(t, "POST", c.HTTP+"/demo/items", `{"id": "1"}`, "Content-Type", "text/plain"), http.StatusUnsupportedMediaType)
	expect(t, do(t, "POST", c.HTTP+"/demo/items", `{"id": "1", "name": "pen"}`, json...), http.StatusCreated)
	expect(t, do(t, "POST", c.HTTP+"/demo/items", `{"id": "1"}`, json...), http.StatusBadRequest)
	expect(t, do(t, "PUT", c.HTTP+"/demo/items/2", `{"name": "ink"}`, json...), http.StatusCreated)
	if got := expect(t, do(t, "PATCH", c.HTTP+"/demo/items/1", `{"colour": "blue"}`, json...), 200).JSON(t); got["name"] != "pen" || got["colour"] != "blue" {
		t.Fatalf("PATCH: %v", got)
	}
	list := jsonList(t, expect(t, c.get("/demo/items"), 200))
	if len(list) != 2 || list[0]["id"] != "1" || list[1]["name"] != "ink" {
		t.Fatalf("list: %v", list)
	}
	expect(t, do(t, "DELETE", c.HTTP+"/demo/items/2", nil), http.StatusNoContent)
	expect(t, c.get("/demo/items/2"), http.StatusNotFound)
	if a := expect(t, do(t, "HEAD", c.HTTP+"/demo/items/1", nil), 200); len(a.Body) != 0 {
		t.Fatalf("HEAD with a body: %s", a.Body)
	}
	if a := expect(t, do(t, "OPTIONS", c.HTTP+"/demo/items", nil), http.StatusMethodNotAllowed); a.Header.Get("Allow") != "GET, HEAD, POST, PUT, PATCH, DELETE" {
		t.Fatalf("Allow = %q", a.Header.Get("Allow"))
	}

	// conflicts per (route, method)
	other := publicRecord("other", "/demo/items", `result = {}`)
	other["request_method"] = "GET"
	a = expect(t, c.admin("POST", "/endpoint/endpoints", other), http.StatusBadRequest)
	if !strings.Contains(string(a.Body), "GET /demo/items is already served") {
		t.Fatalf("conflict: %s", a)
	}
	c.create(publicRecord("things", "/things", `result = {"payload": "things"}`))
	clash := publicRecord("clash", "/x", `result = {}`)
	delete(clash, "route")
	clash["routes"] = []string{"/x", "/things"}
	expect(t, c.admin("POST", "/endpoint/endpoints", clash), http.StatusBadRequest)
	clash["request_methods"] = []string{"DELETE"}
	c.create(clash)
	c.sync()
	if got := string(expect(t, do(t, "DELETE", c.HTTP+"/things", nil), 200).Body); got != "null" {
		t.Fatalf("DELETE /things: %s", got)
	}
	if got := string(expect(t, c.get("/things"), 200).Body); got != `"things"` {
		t.Fatalf("GET /things: %s", got)
	}

	// bad input
	base := func(extra map[string]any) map[string]any {
		r := publicRecord("bad", "/bad", `result = {}`)
		for k, v := range extra {
			if v == nil {
				delete(r, k)
			} else {
				r[k] = v
			}
		}
		return r
	}
	var seventeen []string
	for i := range 17 {
		seventeen = append(seventeen, fmt.Sprintf("/r%d", i))
	}
	for _, tc := range []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"route and routes", base(map[string]any{"routes": []string{"/b"}}), `"field":"route"`},
		{"method and methods", base(map[string]any{"request_method": "GET", "request_methods": []string{"GET"}}), `"field":"request_method"`},
		{"empty routes", base(map[string]any{"route": nil, "routes": []string{}}), `"field":"routes"`},
		{"empty methods", base(map[string]any{"request_methods": []string{}}), `"field":"request_methods"`},
		{"17 routes", base(map[string]any{"route": nil, "routes": seventeen}), `"field":"routes"`},
		{"repeated method", base(map[string]any{"request_methods": []string{"GET", "GET"}}), `"field":"request_methods[1]"`},
		{"HEAD", base(map[string]any{"request_methods": []string{"HEAD"}}), `"field":"request_methods[0]"`},
		{"OPTIONS", base(map[string]any{"request_method": "OPTIONS"}), `"field":"request_methods[0]"`},
		{"unknown method", base(map[string]any{"request_methods": []string{"GET", "FETCH"}}), `"field":"request_methods[1]"`},
		{"own routes conflict", base(map[string]any{"route": nil, "routes": []string{"/o/{a}", "/o/{b}"}}), `"field":"routes[1]"`},
		{"PATCH without content type", base(map[string]any{"request_methods": []string{"GET", "PATCH"}}), `"field":"request_content_type"`},
		{"example off the routes", base(map[string]any{"examples": []any{map[string]any{"name": "e", "request": map[string]any{"path": "/elsewhere"}}}}), `"field":"examples[0].request.path"`},
		{"example method not served", base(map[string]any{"examples": []any{map[string]any{"name": "e", "request": map[string]any{"method": "PUT"}}}}), `"field":"examples[0].request.method"`},
		{"example unknown field", base(map[string]any{"examples": []any{map[string]any{"name": "e", "expected": map[string]any{}}}}), `"field":"examples[0]"`},
	} {
		a := c.admin("POST", "/endpoint/endpoints", tc.body)
		if a.Status != http.StatusBadRequest || !strings.Contains(string(a.Body), tc.field) {
			t.Errorf("%s: want 400 naming %s, got %s", tc.name, tc.field, a)
		}
	}
	var many []any
	for i := range 33 {
		many = append(many, map[string]any{"name": fmt.Sprintf("e%d", i)})
	}
	if a := c.admin("POST", "/endpoint/endpoints", base(map[string]any{"examples": many})); a.Status != 400 || !strings.Contains(string(a.Body), `"field":"examples"`) {
		t.Errorf("33 examples: %s", a)
	}
	expect(t, c.admin("GET", "/endpoint/endpoints/bad", nil), http.StatusNotFound)

	// PATCH with a shorthand replaces the list
	expect(t, c.admin("PATCH", "/endpoint/endpoints/things", map[string]any{"route": "/things2"}), 200)
	if got := expect(t, c.admin("GET", "/endpoint/endpoints/things", nil), 200).JSON(t); fmt.Sprint(got["routes"]) != "[/things2]" {
		t.Fatalf("patched routes: %v", got)
	}

	// OpenAPI: one operation per route and method
	doc := expect(t, c.admin("GET", "/endpoint/openapi.json", nil), 200).JSON(t)
	paths := doc["paths"].(map[string]any)
	coll, one := paths["/demo/items"].(map[string]any), paths["/demo/items/{id}"].(map[string]any)
	if len(coll) != 5 || len(one) != 5 || coll["get"].(map[string]any)["requestBody"] != nil || one["patch"].(map[string]any)["requestBody"] == nil {
		t.Fatalf("OpenAPI items: %v %v", coll, one)
	}
	if id := one["delete"].(map[string]any)["operationId"]; id != "items_delete_1" {
		t.Fatalf("operationId = %v", id)
	}
}

// TestConditionalRequests: If-None-Match: * on PUT creates only (412 when
// the record exists); a GET with a matching If-None-Match is 304.
func TestConditionalRequests(t *testing.T) {
	c := startCaddy(t, config{App: appUsers})
	rec := publicRecord("cond", "/cond", `result = {"payload": 1}`)
	a := expect(t, c.admin("PUT", "/endpoint/endpoints/cond", rec, "If-None-Match", "*"), http.StatusCreated)
	tag := a.Header.Get("ETag")
	rec["code_snippet"] = `result = {"payload": 2}`
	expect(t, c.admin("PUT", "/endpoint/endpoints/cond", rec, "If-None-Match", "*"), http.StatusPreconditionFailed)
	if got := expect(t, c.admin("GET", "/endpoint/endpoints/cond", nil), 200).JSON(t); got["code_snippet"] != `result = {"payload": 1}` {
		t.Fatalf("a refused create-only PUT changed the record: %v", got)
	}
	nm := expect(t, c.admin("GET", "/endpoint/endpoints/cond", nil, "If-None-Match", tag), http.StatusNotModified)
	if len(nm.Body) != 0 || nm.Header.Get("ETag") != tag {
		t.Fatalf("304: %q %q", nm.Body, nm.Header.Get("ETag"))
	}
	expect(t, c.admin("GET", "/endpoint/endpoints/cond", nil, "If-None-Match", `"0-other"`), http.StatusOK)
	expect(t, c.admin("PUT", "/endpoint/endpoints/cond", rec), http.StatusOK)
	expect(t, c.admin("GET", "/endpoint/endpoints/cond", nil, "If-None-Match", tag), http.StatusOK)
}
