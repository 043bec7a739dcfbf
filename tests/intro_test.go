package tests

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestIntrospection: help, logs, dry run, OpenAPI and metrics.
func TestIntrospection(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`"pong"`))
	}))
	defer upstream.Close()
	c := startCaddy(t, config{App: `
		user bot {
			grant store orders write
			grant http ` + strings.TrimPrefix(upstream.URL, "http://") + `
		}`})
	r := schemaRecord("orders", "/orders/{id}", "application/json", `{"type": "object", "required": ["qty"]}`, `log("order %s for %d" % (request.path_params["id"], request.json()["qty"]), level="warn")
env.store.put("orders", request.path_params["id"], request.json())
result = {"payload": {"id": request.path_params["id"]}, "status_code": 201}`)
	c.create(r)

	// help lists the names of the environment
	help := expect(t, c.admin("GET", "/endpoint/help", nil), 200)
	for _, name := range []string{"request", "env", "hashlib", "Response", "NotFound", "log"} {
		if !strings.Contains(string(help.Body), `"`+name+`"`) {
			t.Errorf("help lacks %s", name)
		}
	}

	// dry run of the unsynced draft: nothing live changes
	dry := expect(t, c.admin("POST", "/endpoint/endpoints/orders/test", map[string]any{
		"method": "POST", "path": "/orders/o-1",
		"headers": map[string]string{"Content-Type": "application/json"},
		"body":    map[string]any{"qty": 3},
	}), 200).JSON(t)
	if dry["status"] != float64(201) || !strings.Contains(dry["body"].(string), `"id":"o-1"`) {
		t.Fatalf("dry run: %v", dry)
	}
	if logs := dry["logs"].([]any); len(logs) != 1 || !strings.Contains(logs[0].(map[string]any)["message"].(string), "order o-1 for 3") {
		t.Fatalf("dry run logs: %v", dry["logs"])
	}
	if changes := dry["store_changes"].([]any); len(changes) != 1 {
		t.Fatalf("dry run store changes: %v", dry["store_changes"])
	}
	if dry["steps"].(float64) <= 0 {
		t.Fatalf("dry run steps: %v", dry["steps"])
	}
	bad := expect(t, c.admin("POST", "/endpoint/endpoints/orders/test", map[string]any{
		"method": "POST", "path": "/orders/o-1", "headers": map[string]string{"Content-Type": "application/json"}, "body": map[string]any{},
	}), 200).JSON(t)
	if bad["status"] != float64(400) {
		t.Fatalf("dry run with a bad body: %v", bad)
	}
	expect(t, c.get("/orders/o-1"), 404) // still a draft

	// env.http is refused in a dry run unless live_http is set
	c.create(publicRecord("fetch", "/fetch", `r = env.http.get("`+upstream.URL+`/")
result = {"payload": r.json()}`))
	d := expect(t, c.admin("POST", "/endpoint/endpoints/fetch/test", map[string]any{}), 200).JSON(t)
	if d["status"] != float64(500) || !strings.Contains(d["error"].(string), "1:") {
		t.Fatalf("dry run with env.http: %v", d)
	}
	// a bad method is a 400, not a crash
	expect(t, c.admin("POST", "/endpoint/endpoints/fetch/test", map[string]any{"method": "GET X"}), 400)
	d = expect(t, c.admin("POST", "/endpoint/endpoints/fetch/test", map[string]any{"live_http": true}), 200).JSON(t)
	if d["status"] != float64(200) || d["body"] != `"pong"` {
		t.Fatalf("dry run with live_http: %v", d)
	}
	expect(t, c.admin("POST", "/endpoint/endpoints/nope/test", map[string]any{}), 404)

	c.sync()
	expect(t, do(t, "POST", c.HTTP+"/orders/o-2", `{"qty": 5}`, "Content-Type", "application/json"), 201)
	expect(t, do(t, "POST", c.HTTP+"/orders/o-3", `{}`, "Content-Type", "application/json"), 400)

	// logs: the live line only (the dry run's stayed in its answer)
	var lines []map[string]any
	if err := json.Unmarshal(expect(t, c.admin("GET", "/endpoint/logs?endpoint=orders", nil), 200).Body, &lines); err != nil {
		t.Fatal(err)
	}
	if len(lines) != 1 || lines[0]["message"] != "order o-2 for 5" || lines[0]["level"] != "warn" {
		t.Fatalf("logs: %v", lines)
	}
	c.waitLog("order o-2 for 5")
	c.waitLog("endpoint.snippet")

	// OpenAPI
	oa := expect(t, c.admin("GET", "/endpoint/openapi.json", nil), 200).JSON(t)
	if oa["openapi"] != "3.1.0" {
		t.Fatalf("openapi: %v", oa)
	}
	op := oa["paths"].(map[string]any)["/orders/{id}"].(map[string]any)["post"].(map[string]any)
	if op["requestBody"] == nil || op["parameters"] == nil {
		t.Fatalf("openapi operation: %v", op)
	}

	// metrics
	m := string(expect(t, c.admin("GET", "/metrics", nil), 200).Body)
	for _, want := range []string{
		`caddy_endpoint_requests_total{code="201",endpoint="orders"} 1`,
		`caddy_endpoint_requests_total{code="400",endpoint="orders"} 1`,
		`caddy_endpoint_schema_rejections_total{endpoint="orders"} 1`,
		`caddy_endpoint_request_duration_seconds_count{endpoint="orders"}`,
		`caddy_endpoint_snippet_steps_count{endpoint="orders"}`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// TestSecondExecMode: the test-only module endpoint.exec_modes.echo is a
// second exec mode, usable like `code` once the config names it.
func TestSecondExecMode(t *testing.T) {
	c := startCaddy(t, config{App: appUsers + "\n\t\texec_mode code\n\t\texec_mode echo"})
	r := map[string]any{"name": "echo", "route": "/echo/{id}", "auth_type": "public", "exec_as_user": "bot", "exec_mode": "echo"}
	c.create(r)
	c.sync()
	got := string(expect(t, c.get("/echo/7"), 200).Body)
	if !strings.Contains(got, `"mode":"echo"`) || !strings.Contains(got, `"id":"7"`) || !strings.Contains(got, `"user":"bot"`) {
		t.Fatalf("echo mode: %s", got)
	}
	r["code_snippet"] = "x"
	r["name"] = "echo2"
	r["route"] = "/echo2"
	if a := c.admin("POST", "/endpoint/endpoints", r); a.Status != 400 || !strings.Contains(string(a.Body), "no code") {
		t.Fatalf("echo mode compile error: %s", a)
	}
}
