package tests

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestEnvStoreSecretsHTTP: env under grants against a real Caddy.
func TestEnvStoreSecretsHTTP(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/redirect-metadata":
			http.Redirect(w, r, "http://169.254.169.254/latest/meta-data/", http.StatusFound)
		default:
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"method": %q, "got": %q}`, r.Method, r.Header.Get("X-Test"))
		}
	}))
	defer upstream.Close()
	u, _ := url.Parse(upstream.URL)

	data := filepath.Join(t.TempDir(), "data")
	if err := os.MkdirAll(data, 0o755); err != nil {
		t.Fatal(err)
	}
	app := `
		secret hook_key s3cr3t-value-9931
		secret other_key n0t-granted-4417
		user bot {
			grant store notes write
			grant store audit read
			grant secret hook_key
			grant http ` + u.Host + `
			grant http localhost
		}
		user bob {
			token_hash sha256:7c43ef5ae21d43ce2743f770c68e24def1a43ee2f416d2438410c8af7af2ff2c
		}`
	c := startCaddy(t, config{App: app, Data: data})
	for _, r := range []map[string]any{
		publicRecord("put", "/put/{k}", `env.store.put("notes", request.path_params["k"], {"v": request.query.get("v"), "n": [1, 2]})
result = {"payload": "ok"}`),
		publicRecord("get", "/get/{k}", `result = {"payload": env.store.get("notes", request.path_params["k"], "missing")}`),
		publicRecord("list", "/list", `result = {"payload": env.store.list("notes")}`),
		publicRecord("huge", "/huge", `env.store.put("notes", "big", "x" * (1024 * 1024))
result = {}`),
		publicRecord("audit-write", "/audit-write", `env.store.put("audit", "k", 1)
result = {}`),
		publicRecord("forbidden-list", "/forbidden-list", `result = {"payload": env.store.list("payroll")}`),
		publicRecord("secret", "/secret", `result = {"payload": len(env.secret("hook_key"))}`),
		publicRecord("other-secret", "/other-secret", `result = {"payload": env.secret("other_key")}`),
		publicRecord("http-ok", "/http-ok", `r = env.http.post("`+upstream.URL+`/echo", headers={"X-Test": "yes"}, json={"a": 1})
result = {"payload": {"status": r.status_code, "json": r.json()}}`),
		publicRecord("http-localhost", "/http-localhost", `r = env.http.get("http://localhost:`+u.Port()+`/")
result = {}`),
		publicRecord("http-ungranted", "/http-ungranted", `r = env.http.get("http://example.com/")
result = {}`),
		publicRecord("http-redirect", "/http-redirect", `r = env.http.get("`+upstream.URL+`/redirect-metadata")
result = {"payload": r.status_code}`),
		publicRecord("hash-loop", "/hash-loop", `s = "x" * (4 * 1024 * 1024)
n = 0
for i in range(100000):
    n += len(hashlib.sha256(s).hexdigest())
result = {"payload": n}`),
	} {
		c.create(r)
	}
	// runs as the caller bob, who has no grants
	asCaller := publicRecord("as-caller", "/as-caller", `result = {"payload": env.store.get("notes", "a")}`)
	asCaller["auth_type"], asCaller["exec_as_user"] = "bearer", ""
	c.create(asCaller)
	c.sync()

	if a := c.get("/put/a?v=first"); a.Status != 200 {
		t.Fatalf("put: %s\n%s", a, c.Logs())
	}
	if got := string(expect(t, c.get("/get/a"), 200).Body); got != `{"n":[1,2],"v":"first"}` {
		t.Fatalf("store get: %s", got)
	}
	if got := string(c.get("/get/zz").Body); got != `"missing"` {
		t.Fatalf("store default: %s", got)
	}
	if got := string(c.get("/list").Body); got != `["a"]` {
		t.Fatalf("store list: %s", got)
	}
	for path, grant := range map[string]string{
		"/huge": "", "/audit-write": "audit", "/forbidden-list": "payroll",
		"/other-secret": "other_key", "/http-localhost": "localhost", "/http-ungranted": "example.com",
		"/http-redirect": "169.254.169.254",
	} {
		a := c.get(path)
		if a.Status != 500 {
			t.Errorf("%s: want 500, got %s", path, a)
		}
		if grant != "" {
			c.waitLog(grant)
		}
	}
	if a := c.get("/hash-loop"); a.Status != 500 && a.Status != 503 {
		t.Errorf("hashlib loop on a huge input: %s", a)
	}
	if got := string(expect(t, c.get("/secret"), 200).Body); got != "17" {
		t.Fatalf("secret: %s", got)
	}
	if got := string(expect(t, c.get("/http-ok"), 200).Body); got != `{"status":200,"json":{"got":"yes","method":"POST"}}` {
		t.Fatalf("http: %s", got)
	}
	if a := c.get("/as-caller", bobBearer...); a.Status != 500 {
		t.Fatalf("caller without grants: %s", a)
	}
	logs := c.Logs()
	for _, secret := range []string{"s3cr3t-value-9931", "n0t-granted-4417"} {
		if strings.Contains(logs, secret) {
			t.Fatalf("secret %s in the log", secret)
		}
	}
	expect(t, c.get("/ok-still-404"), 404)

	// values survive a restart, and a second instance on the same storage sees writes
	c.stop()
	c.restart()
	if got := string(c.get("/get/a").Body); got != `{"n":[1,2],"v":"first"}` {
		t.Fatalf("store after restart: %s", got)
	}
	c2 := startCaddy(t, config{App: app, Data: data})
	expect(t, c2.get("/put/a?v=second"), 200)
	if got := string(c.get("/get/a").Body); !strings.Contains(got, "second") {
		t.Fatalf("write of the other instance not seen: %s", got)
	}
}

// TestDemoWebhook: the webhook shape of the demo config, signed with
// openssl's HMAC as the README shows.
func TestWebhook(t *testing.T) {
	code, err := os.ReadFile("../demo/snippets/webhook.star")
	if err != nil {
		t.Fatal(err)
	}
	c := startCaddy(t, config{App: `
		secret webhook_key hook-secret
		user bot {
			grant store deliveries write
			grant secret webhook_key
		}`})
	r := publicRecord("hook", "/hook", string(code))
	r["request_method"], r["request_content_type"] = "POST", "application/json"
	c.create(r)
	c.create(publicRecord("deliveries", "/deliveries", `result = {"payload": env.store.list("deliveries")}`))
	c.sync()
	body := `{"action":"opened","number":7}`
	mac := hmac.New(sha256.New, []byte("hook-secret"))
	mac.Write([]byte(body))
	sig := "sha256=" + hex.EncodeToString(mac.Sum(nil))
	a := do(t, "POST", c.HTTP+"/hook", body, "Content-Type", "application/json", "X-Hub-Signature-256", sig, "X-GitHub-Delivery", "d-1", "X-GitHub-Event", "issues")
	if a.Status != 202 || !strings.Contains(string(a.Body), `"stored":"d-1"`) {
		t.Fatalf("signed delivery: %s", a)
	}
	a = do(t, "POST", c.HTTP+"/hook", body, "Content-Type", "application/json", "X-Hub-Signature-256", "sha256=00")
	if a.Status != 401 {
		t.Fatalf("bad signature: %s", a)
	}
	if got := string(c.get("/deliveries").Body); got != `["d-1"]` {
		t.Fatalf("deliveries: %s", got)
	}
}
