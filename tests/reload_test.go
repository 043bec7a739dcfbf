package tests

import (
	"encoding/json"
	"net"
	"strings"
	"testing"
)

// loadJSON posts a config to Caddy's /load.
func (p *caddyProc) load(cfg map[string]any) answer {
	p.t.Helper()
	body, err := json.Marshal(cfg)
	if err != nil {
		p.t.Fatal(err)
	}
	return do(p.t, "POST", p.Admin+"/load", string(body), "Content-Type", "application/json")
}

// runningConfig is the config Caddy runs, decoded.
func (p *caddyProc) runningConfig() map[string]any {
	p.t.Helper()
	return expect(p.t, p.admin("GET", "/config/", nil), 200).JSON(p.t)
}

// endpointApp is the apps.endpoint object of cfg.
func endpointApp(t *testing.T, cfg map[string]any) map[string]any {
	t.Helper()
	app, ok := cfg["apps"].(map[string]any)["endpoint"].(map[string]any)
	if !ok {
		t.Fatalf("no endpoint app in %v", cfg)
	}
	return app
}

// TestFailedReloadLeavesNothing: a config that adds a declared endpoint but
// fails to start (one of its servers cannot bind) is refused, and nothing
// of it is served or listed, then or after the old config is loaded again.
//
// Caddy starts the apps of a config in map order, so the endpoint app may
// start before or after the HTTP server that fails; the failed load is
// tried several times so that both orders are exercised.
func TestFailedReloadLeavesNothing(t *testing.T) {
	c := startCaddy(t, config{App: appUsers})
	c.create(publicRecord("kept", "/kept", `result = {"payload": "kept"}`))
	c.sync()
	cfgA := c.runningConfig()

	// a loopback port held by the test: Caddy cannot bind it
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()

	cfgB := c.runningConfig()
	endpointApp(t, cfgB)["endpoints"] = []any{map[string]any{
		"name": "leaked", "route": "/leaked", "auth_type": "public", "exec_as_user": "bot",
		"code_snippet": `result = {"payload": "from the failed config"}`,
	}}
	servers := cfgB["apps"].(map[string]any)["http"].(map[string]any)["servers"].(map[string]any)
	servers["unbindable"] = map[string]any{
		"listen": []any{held.Addr().String()},
		"routes": []any{map[string]any{"handle": []any{map[string]any{"handler": "endpoint"}}}},
	}

	for attempt := 1; attempt <= 8; attempt++ {
		if a := c.load(cfgB); a.Status != 400 {
			t.Fatalf("attempt %d: loading a config with an unbindable server: %s", attempt, a)
		}
		expect(t, c.get("/leaked"), 404)
		expect(t, c.admin("GET", "/endpoint/endpoints/leaked", nil), 404)
		if names := recordNames(t, c.admin("GET", "/endpoint/endpoints", nil)); names != "[kept]" {
			t.Fatalf("attempt %d: records after a failed load: %s", attempt, names)
		}
		expect(t, c.get("/kept"), 200)
	}

	// loading A again (the same bytes: nothing to do), then a changed A
	expect(t, c.load(cfgA), 200)
	endpointApp(t, cfgA)["max_steps"] = 777777
	expect(t, c.load(cfgA), 200)
	expect(t, c.get("/leaked"), 404)
	expect(t, c.admin("GET", "/endpoint/endpoints/leaked", nil), 404)
	if names := recordNames(t, c.admin("GET", "/endpoint/endpoints", nil)); names != "[kept]" {
		t.Fatalf("records after reloading A: %s", names)
	}
	// and a sync publishes nothing of B
	if rev := c.sync(); len(rev["added"].([]any)) != 0 {
		t.Fatalf("sync after reloading A: %v", rev)
	}
	expect(t, c.get("/leaked"), 404)
	expect(t, c.get("/kept"), 200)
}

// TestReloadDroppingAUserIsRefused: a config that removes the user a
// published endpoint runs as (or its exec mode) fails to load, naming the
// endpoint, and the endpoint stays served.
func TestReloadDroppingAUserIsRefused(t *testing.T) {
	c := startCaddy(t, config{App: appUsers})
	c.create(publicRecord("runs-as-bot", "/bot", `result = {"payload": "bot"}`))
	c.create(publicRecord("also-bot", "/also", `result = {"payload": "also"}`))
	c.sync()

	cfg := c.runningConfig()
	delete(endpointApp(t, cfg)["users"].(map[string]any), "bot")
	a := c.load(cfg)
	if a.Status != 400 {
		t.Fatalf("loading a config without user bot: %s", a)
	}
	for _, name := range []string{"runs-as-bot", "also-bot", "exec_as_user"} {
		if !strings.Contains(string(a.Body), name) {
			t.Errorf("the refusal does not name %s: %s", name, a.Body)
		}
	}
	expect(t, c.get("/bot"), 200)
	expect(t, c.get("/also"), 200)

	// the same holds for an exec mode the config no longer names
	cfg = c.runningConfig()
	endpointApp(t, cfg)["exec_modes"] = map[string]any{"echo": map[string]any{}}
	if a := c.load(cfg); a.Status != 400 || !strings.Contains(string(a.Body), "runs-as-bot") || !strings.Contains(string(a.Body), "exec_mode") {
		t.Fatalf("loading a config without exec mode code: %s", a)
	}
	expect(t, c.get("/bot"), 200)
}

// TestExecModesConfigured: only the exec modes a config names are
// loaded; an endpoint naming another is refused.
func TestExecModesConfigured(t *testing.T) {
	c := startCaddy(t, config{App: appUsers})
	r := map[string]any{"name": "echo", "route": "/echo", "auth_type": "public", "exec_as_user": "bot", "exec_mode": "echo"}
	if a := c.admin("POST", "/endpoint/endpoints", r); a.Status != 400 || !strings.Contains(string(a.Body), "not a registered exec mode") {
		t.Fatalf("an exec mode the config does not name: %s", a)
	}
	expect(t, c.admin("GET", "/endpoint/help", nil), 200)
	expect(t, c.admin("GET", "/endpoint/help?exec_mode=echo", nil), 404)
}
