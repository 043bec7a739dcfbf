package tests

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRestartServesLastRevision: after a crash (SIGKILL) Caddy serves the
// last published revision, not the drafts, and the drafts are still there.
func TestRestartServesLastRevision(t *testing.T) {
	c := startCaddy(t, config{App: appUsers})
	c.create(publicRecord("v", "/v", `result = {"payload": "published"}`))
	c.sync()
	expect(t, c.admin("PATCH", "/endpoint/endpoints/v", map[string]any{"code_snippet": `result = {"payload": "draft"}`}), 200)
	c.create(publicRecord("new", "/new", `result = {"payload": "new"}`))

	c.kill()
	c.restart()
	if got := string(expect(t, c.get("/v"), 200).Body); got != `"published"` {
		t.Fatalf("after kill -9: %s", got)
	}
	expect(t, c.get("/new"), 404)
	st := c.admin("GET", "/endpoint/sync", nil).JSON(t)
	if st["revision"] != float64(1) || st["in_sync"] != false {
		t.Fatalf("status after restart: %v", st)
	}
	d := c.admin("GET", "/endpoint/endpoints/v", nil).JSON(t)
	if !strings.Contains(d["code_snippet"].(string), "draft") || d["sync_state"] != "to_sync" {
		t.Fatalf("draft lost: %v", d)
	}
	c.sync()
	if got := string(c.get("/v").Body); got != `"draft"` {
		t.Fatalf("after sync: %s", got)
	}

	// a graceful restart too
	c.stop()
	c.restart()
	expect(t, c.get("/new"), 200)
}

// TestReloadKeepsRegistry: a config reload (POST /load) keeps the drafts
// and the live table; declared endpoints of the new config go live at once.
func TestReloadKeepsRegistry(t *testing.T) {
	c := startCaddy(t, config{App: appUsers})
	c.create(publicRecord("kept", "/kept", `result = {"payload": "kept"}`))
	c.sync()
	c.create(publicRecord("draft", "/draft", `result = {}`))

	cfg := expect(t, c.admin("GET", "/config/", nil), 200).Body
	// add a declared endpoint to the running config and load it again
	newCfg := strings.Replace(string(cfg), `"endpoint":{`, `"endpoint":{"endpoints":[{"name":"declared","route":"/declared","auth_type":"public","exec_as_user":"bot","code_snippet":"result = {\"payload\": \"declared\"}"}],`, 1)
	if newCfg == string(cfg) {
		t.Fatalf("no endpoint app in config: %s", cfg)
	}
	// a config that fails to load leaves the registry as it was
	broken := strings.Replace(newCfg, `"handler":"endpoint"`, `"handler":"no_such_handler"`, 1)
	if a := do(t, "POST", c.Admin+"/load", broken, "Content-Type", "application/json"); a.Status < 400 {
		t.Fatalf("broken config loaded: %s", a)
	}
	expect(t, c.admin("GET", "/endpoint/endpoints/declared", nil), 404)
	expect(t, c.get("/declared"), 404)

	// the failed load left Caddy's admin server (and so /metrics) with the
	// failed config's metrics, which may lack the series: load a working
	// config first
	expect(t, do(t, "POST", c.Admin+"/load", strings.Replace(string(cfg), `"endpoint":{`, `"endpoint":{"max_steps":999999,`, 1), "Content-Type", "application/json"), 200)
	before := c.metric("caddy_endpoint_compilations_total")
	expect(t, do(t, "POST", c.Admin+"/load", newCfg, "Content-Type", "application/json"), 200)
	// only the new declared endpoint was compiled, and loading the same
	// config again compiles nothing
	if got := c.metric("caddy_endpoint_compilations_total") - before; got != 1 {
		t.Fatalf("reload compiled %v programs, want 1", got)
	}
	before = c.metric("caddy_endpoint_compilations_total")
	newCfg2 := strings.Replace(newCfg, `"endpoint":{`, `"endpoint":{"max_steps":777777,`, 1)
	expect(t, do(t, "POST", c.Admin+"/load", newCfg2, "Content-Type", "application/json"), 200)
	if got := c.metric("caddy_endpoint_compilations_total") - before; got != 0 {
		t.Fatalf("a reload without endpoint changes compiled %v programs", got)
	}

	expect(t, c.get("/kept"), 200)
	if got := string(expect(t, c.get("/declared"), 200).Body); got != `"declared"` {
		t.Fatalf("declared endpoint: %s", got)
	}
	expect(t, c.get("/draft"), 404)
	if names := recordNames(t, c.admin("GET", "/endpoint/endpoints", nil)); names != "[declared draft kept]" {
		t.Fatalf("records after reload: %s", names)
	}
	d := c.admin("GET", "/endpoint/endpoints/declared", nil).JSON(t)
	if d["sync_state"] != "in_sync" {
		t.Fatalf("declared record: %v", d)
	}
	// declared records are read-only
	expect(t, c.admin("PATCH", "/endpoint/endpoints/declared", map[string]any{"route_group": "x"}), http.StatusConflict)
	expect(t, c.admin("DELETE", "/endpoint/endpoints/declared", nil), http.StatusConflict)
	expect(t, c.admin("POST", "/endpoint/endpoints", publicRecord("declared", "/x", `result = {}`)), http.StatusConflict)
	// declared endpoints are part of the next revision
	c.sync()
	expect(t, c.get("/declared"), 200)
	expect(t, c.get("/draft"), 200)
}

// TestSharedStorage: two Caddy instances on one storage serve the same
// revision after a sync on one of them (within sync_interval).
func TestSharedStorage(t *testing.T) {
	data := filepath.Join(t.TempDir(), "shared")
	if err := os.MkdirAll(data, 0o755); err != nil {
		t.Fatal(err)
	}
	a := startCaddy(t, config{App: appUsers + "\n\t\tsync_interval 200ms", Data: data})
	b := startCaddy(t, config{App: appUsers + "\n\t\tsync_interval 200ms", Data: data})
	a.create(publicRecord("both", "/both", `result = {"payload": "both"}`))
	a.sync()
	expect(t, a.get("/both"), 200)
	waitFor(t, func() bool { return b.get("/both").Status == 200 })
	if st := b.admin("GET", "/endpoint/sync", nil).JSON(t); st["revision"] != float64(1) {
		t.Fatalf("instance b: %v", st)
	}
}

// TestBadConfigFailsLoad: a missing code_file, an invalid schema_file and a
// grant naming an unknown secret fail the config load with a clear reason.
func TestBadConfigFailsLoad(t *testing.T) {
	for _, tc := range []struct {
		name, app, want string
		files           map[string]string
	}{
		{"missing code_file", `user bot
		define a {
			route /a
			auth public
			exec_as bot
			code_file snippets/missing.star
		}`, "missing.star", nil},
		{"invalid schema_file", `user bot
		define a {
			route /a
			method POST
			content_type application/json
			auth public
			exec_as bot
			schema_file bad.yaml
			code ` + "`result = {}`" + `
		}`, "type", map[string]string{"bad.yaml": "type: not_a_real_type\n"}},
		{"invalid code_file", `user bot
		define a {
			route /a
			auth public
			exec_as bot
			code_file bad.star
		}`, "undefined", map[string]string{"bad.star": "result = {'a': nope}\n"}},
		{"unknown secret grant", `user bot {
			grant secret nowhere
		}`, "nowhere", nil},
		{"bad store level", `user bot {
			grant store orders admin
		}`, "admin", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := failToStart(t, config{App: tc.app, Files: tc.files})
			if !strings.Contains(out, tc.want) {
				t.Fatalf("output does not name %q:\n%s", tc.want, out)
			}
		})
	}
}
