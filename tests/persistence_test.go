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
	expect(t, do(t, "POST", c.Admin+"/load", newCfg, "Content-Type", "application/json"), 200)

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
