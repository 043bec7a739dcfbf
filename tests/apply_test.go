package tests

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestApply: POST /endpoint/apply is all or nothing; prune, sync, message
// and dry_run work as documented; an apply of 1,000 records passes.
func TestApply(t *testing.T) {
	c := startCaddy(t, config{App: appUsers})
	c.create(publicRecord("old", "/old", `result = {"payload": "old"}`))
	c.create(publicRecord("keep", "/keep", `result = {"payload": "keep"}`))
	c.sync()

	var good []any
	for i := range 999 {
		good = append(good, publicRecord(fmt.Sprintf("e%03d", i), fmt.Sprintf("/bulk/%d", i), fmt.Sprintf(`result = {"payload": %d}`, i)))
	}
	with := func(extra ...any) []any { return append(append([]any(nil), good...), extra...) }
	bad := []struct {
		name   string
		body   any
		status int
		want   string
	}{
		{"one invalid among 999", map[string]any{"endpoints": with(publicRecord("broken", "no-slash", `result = {}`))}, 400, `"name":"broken","field":"routes[0]"`},
		{"two of one name", map[string]any{"endpoints": with(publicRecord("e001", "/other", `result = {}`))}, 400, `"name":"e001","field":"name"`},
		{"a conflict in the set", map[string]any{"endpoints": with(publicRecord("clash", "/bulk/5", `result = {}`))}, 400, `"field":"route"`},
		{"unknown field", map[string]any{"endpoints": good, "purge": true}, 400, "purge"},
		{"no endpoints", map[string]any{"sync": true}, 400, "endpoints"},
		{"not a record", map[string]any{"endpoints": []any{"x"}}, 400, "endpoints[0]"},
	}
	for _, tc := range bad {
		a := c.admin("POST", "/endpoint/apply", tc.body)
		if a.Status != tc.status || !strings.Contains(string(a.Body), tc.want) {
			t.Fatalf("%s: want %d with %s, got %.400s", tc.name, tc.status, tc.want, a)
		}
		if names := recordNames(t, c.admin("GET", "/endpoint/endpoints", nil)); names != "[keep old]" {
			t.Fatalf("%s: a refused apply stored records: %.200s", tc.name, names)
		}
	}

	dry := expect(t, c.admin("POST", "/endpoint/apply", map[string]any{"endpoints": with(publicRecord("keep", "/keep", `result = {"payload": "keep"}`)), "prune": true, "dry_run": true}), 200).JSON(t)
	if len(dry["created"].([]any)) != 999 || fmt.Sprint(dry["deleted"]) != "[old]" || fmt.Sprint(dry["unchanged"]) != "[keep]" {
		t.Fatalf("dry run: %.300v", dry)
	}
	if names := recordNames(t, c.admin("GET", "/endpoint/endpoints", nil)); names != "[keep old]" {
		t.Fatalf("a dry run stored records: %.200s", names)
	}

	res := expect(t, c.admin("POST", "/endpoint/apply", map[string]any{
		"endpoints": with(publicRecord("keep", "/keep", `result = {"payload": "keep"}`)),
		"prune":     true, "sync": true, "message": "bulk load",
	}), 200).JSON(t)
	if len(res["created"].([]any)) != 999 || fmt.Sprint(res["deleted"]) != "[old]" || res["revision"] != float64(2) {
		t.Fatalf("apply: %.300v", res)
	}
	if got := string(expect(t, c.get("/bulk/998"), 200).Body); got != "998" {
		t.Fatalf("an applied record is not served: %s", got)
	}
	expect(t, c.get("/old"), http.StatusNotFound)
	revs := jsonList(t, c.admin("GET", "/endpoint/revisions", nil))
	if revs[0]["kind"] != "apply" || revs[0]["message"] != "bulk load" || revs[0]["endpoints"] != float64(1000) {
		t.Fatalf("apply revision: %v", revs[0])
	}
	c.waitLog(`"action":"apply"`)
}

// exampleRecord is a public record whose examples pin its answer.
func exampleRecord(name, route, code string, examples ...any) map[string]any {
	r := publicRecord(name, route, code)
	r["examples"] = examples
	return r
}

// TestExamplesGate: a sync, a rollback or an apply that would publish a
// record whose example fails is refused with the endpoint, example,
// expected and got; /test runs the examples on demand; OpenAPI shows them.
func TestExamplesGate(t *testing.T) {
	c := startCaddy(t, config{App: appUsers + `
		user writer {
			grant store counts write
		}
`})
	ex := map[string]any{
		"name":    "greets",
		"request": map[string]any{"path": "/greet/ann", "query": map[string]any{"loud": "1"}},
		"expect":  map[string]any{"status": 200, "json": map[string]any{"hello": "ann"}, "headers": map[string]any{"content-type": "application/json"}},
	}
	good := `result = {"payload": {"hello": request.path_params["who"], "loud": request.query.get("loud") == "1"}}`
	c.create(exampleRecord("greet", "/greet/{who}", good, ex))
	c.sync()
	if got := string(c.get("/greet/bob").Body); !strings.Contains(got, `"hello":"bob"`) {
		t.Fatalf("greet: %s", got)
	}

	broken := `result = {"payload": {"hi": request.path_params["who"]}}`
	expect(t, c.admin("PATCH", "/endpoint/endpoints/greet", map[string]any{"code_snippet": broken}), 200)
	// the examples on demand, before any sync
	runs := jsonList(t, expect(t, c.admin("POST", "/endpoint/endpoints/greet/test", map[string]any{"examples": true}), 200))
	if len(runs) != 1 || runs[0]["name"] != "greets" || runs[0]["passed"] != false ||
		!strings.Contains(fmt.Sprint(runs[0]["got"]), "hi:ann") {
		t.Fatalf("examples on demand: %v", runs)
	}
	one := jsonList(t, expect(t, c.admin("POST", "/endpoint/endpoints/greet/test", map[string]any{"example": "greets"}), 200))
	if len(one) != 1 {
		t.Fatalf("one example: %v", one)
	}
	expect(t, c.admin("POST", "/endpoint/endpoints/greet/test", map[string]any{"example": "nope"}), http.StatusNotFound)

	refused := expect(t, c.admin("POST", "/endpoint/sync", map[string]any{"message": "break greet"}), http.StatusBadRequest).JSON(t)
	d := refused["details"].([]any)[0].(map[string]any)
	if d["name"] != "greet" || d["example"] != "greets" || d["expected"] == nil || d["got"] == nil ||
		!strings.Contains(fmt.Sprint(d["got"]), "hi:ann") {
		t.Fatalf("refused sync details: %v", refused)
	}
	if got := string(c.get("/greet/bob").Body); !strings.Contains(got, `"hello":"bob"`) {
		t.Fatalf("a refused sync changed what is served: %s", got)
	}
	if st := c.admin("GET", "/endpoint/sync", nil).JSON(t); st["revision"] != float64(1) {
		t.Fatalf("a refused sync made a revision: %v", st)
	}
	// an example runs as a dry run: its store write is not kept
	storeEx := map[string]any{"name": "counts", "request": map[string]any{}, "expect": map[string]any{"json": 1}}
	counter := exampleRecord("counter", "/counter", `n = (env.store.get("counts", "n") or 0) + 1
env.store.put("counts", "n", n)
result = {"payload": n}`, storeEx)
	counter["exec_as_user"] = "writer"
	c.create(counter)
	expect(t, c.admin("POST", "/endpoint/sync", map[string]any{"only": []string{"counter"}}), 200)
	if got := string(c.get("/counter").Body); got != "1" {
		t.Fatalf("the example's store write was kept: first live call answered %s", got)
	}

	// apply with sync is refused the same way, and stores nothing
	a := c.admin("POST", "/endpoint/apply", map[string]any{"endpoints": []any{exampleRecord("greet", "/greet/{who}", broken, ex)}, "sync": true})
	if a.Status != http.StatusBadRequest || !strings.Contains(string(a.Body), `"example":"greets"`) {
		t.Fatalf("apply with a failing example: %s", a)
	}

	// fixing the code lets the sync through
	expect(t, c.admin("PATCH", "/endpoint/endpoints/greet", map[string]any{"code_snippet": good}), 200)
	c.sync()

	doc := expect(t, c.admin("GET", "/endpoint/openapi.json", nil), 200).JSON(t)
	op := doc["paths"].(map[string]any)["/greet/{who}"].(map[string]any)["get"].(map[string]any)
	if !strings.Contains(fmt.Sprint(op), "greets") {
		t.Fatalf("OpenAPI operation without its example: %v", op)
	}
}
