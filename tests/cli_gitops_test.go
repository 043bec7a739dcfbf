package tests

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestCLIGitOps is the README's command-line walk-through: export → edit
// → diff → apply --sync --message → the route answers the new code →
// revisions shows the message → rollback → the old answer; examples gate
// an apply and `test` exits 1 when one fails.
func TestCLIGitOps(t *testing.T) {
	c := startCaddy(t, config{App: appUsers + `
		define pinned {
			route /pinned
			auth public
			exec_as bot
			code ` + "`" + `result = {"payload": "pinned"}` + "`" + `
		}`})
	greet := publicRecord("greet", "/greet/{who}", `result = {"payload": {"hi": request.path_params["who"]}}`+"\n")
	greet["examples"] = []map[string]any{{
		"name":    "bob",
		"request": map[string]any{"method": "GET", "path": "/greet/bob"},
		"expect":  map[string]any{"status": 200, "json": map[string]any{"hi": "bob"}},
	}}
	c.create(greet)
	c.cliOK("sync", "--message", "start")

	dir := filepath.Join(t.TempDir(), "endpoints")
	c.cliOK("export", dir)
	files := readTree(t, dir)
	if _, ok := files["pinned.yaml"]; !ok {
		t.Fatalf("the declared endpoint is not exported: %v", files)
	}
	if !strings.Contains(files["greet.yaml"], "examples:\n") {
		t.Fatalf("greet.yaml lacks its examples:\n%s", files["greet.yaml"])
	}
	write := func(name, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// new code, stale example: the apply is refused and nothing changes
	write("greet.star", strings.Replace(files["greet.star"], `"hi"`, `"hello"`, 1))
	r := c.cli("apply", dir, "--sync", "--message", "greet: say hello")
	if r.Code != 1 || !strings.Contains(r.Stderr, "greet") || !strings.Contains(r.Stderr, "bob") {
		t.Fatalf("apply with a failing example: %s", r)
	}
	if r = c.cliOK("status"); !strings.Contains(r.Stdout, "revision 1, in sync") {
		t.Fatalf("a refused apply changed something: %s", r)
	}

	// fix the example: diff shows both files, apply publishes them
	write("greet.yaml", strings.Replace(files["greet.yaml"], "hi: bob", "hello: bob", 1))
	r = c.cli("diff", dir, "--exit-code")
	if r.Code != 2 || !strings.Contains(r.Stdout, "+++ "+dir+"/greet.star") || !strings.Contains(r.Stdout, "+++ "+dir+"/greet.yaml") ||
		!regexp.MustCompile(`(?m)^\+ +hello: bob$`).MatchString(r.Stdout) || strings.Contains(r.Stdout, "pinned") {
		t.Fatalf("diff: %s", r)
	}
	r = c.cliOK("apply", dir, "--sync", "--message", "greet: say hello")
	if !strings.Contains(r.Stdout, "updated:") || !strings.Contains(r.Stdout, "greet") || !strings.Contains(r.Stdout, "revision 2 is live") ||
		!strings.Contains(r.Stderr, "applying 2 endpoints from "+dir) {
		t.Fatalf("apply --sync: %s", r)
	}
	if got := string(expect(t, c.get("/greet/bob"), 200).Body); got != `{"hello":"bob"}` {
		t.Fatalf("after apply /greet/bob answers %s", got)
	}
	if r = c.cliOK("revisions"); !strings.Contains(r.Stdout, "greet: say hello") || !strings.Contains(r.Stdout, "apply") {
		t.Fatalf("revisions: %s", r)
	}
	c.cliOK("diff", dir, "--exit-code")
	c.cliOK("diff", dir, "--live", "--exit-code")
	if r = c.cliOK("apply", dir); !strings.Contains(r.Stdout, "unchanged:") || !strings.Contains(r.Stdout, "greet, pinned") {
		t.Fatalf("a second apply: %s", r)
	}

	// a dry run stores nothing; --prune deletes drafts the directory lacks
	write("extra.yaml", "name: extra\nroute: /extra\nauth_type: public\nexec_as_user: bot\ncode_file: extra.star\n")
	write("extra.star", `result = {"payload": "extra"}`+"\n")
	c.create(publicRecord("stray", "/stray", `result = {}`))
	r = c.cliOK("apply", dir, "--prune", "--dry-run")
	if !strings.Contains(r.Stdout, "would be created:") || !strings.Contains(r.Stdout, "extra") ||
		!strings.Contains(r.Stdout, "would be deleted:") || !strings.Contains(r.Stdout, "stray") {
		t.Fatalf("apply --dry-run: %s", r)
	}
	if r = c.cliOK("list"); strings.Contains(r.Stdout, "extra") || !strings.Contains(r.Stdout, "stray") {
		t.Fatalf("a dry run stored something: %s", r)
	}
	var res map[string]any
	r = c.cliOK("apply", dir, "--prune", "--json")
	if err := json.Unmarshal([]byte(r.Stdout), &res); err != nil || len(res["created"].([]any)) != 1 || len(res["deleted"].([]any)) != 1 {
		t.Fatalf("apply --prune --json: %s", r)
	}
	if r = c.cliOK("list"); !strings.Contains(r.Stdout, "extra") || strings.Contains(r.Stdout, "stray") {
		t.Fatalf("after apply --prune: %s", r)
	}

	if r = c.cli("apply", t.TempDir(), "--prune"); r.Code != 1 || !strings.Contains(r.Stderr, "no endpoint records") {
		t.Fatalf("apply --prune of an empty directory: %s", r)
	}

	// rollback: the old answer
	r = c.cliOK("rollback", "1", "--message", "back to hi")
	if got := string(expect(t, c.get("/greet/bob"), 200).Body); got != `{"hi":"bob"}` {
		t.Fatalf("after rollback /greet/bob answers %s", got)
	}

	// test runs the draft's examples: exit 0 when they pass, 1 when one fails
	if r = c.cliOK("test", "greet"); !strings.Contains(r.Stdout, "PASS") || !strings.Contains(r.Stdout, "bob") {
		t.Fatalf("test: %s", r)
	}
	expect(t, c.admin("PATCH", "/endpoint/endpoints/greet", map[string]any{"code_snippet": `result = {"payload": {"bye": "bob"}}`}), 200)
	for _, args := range [][]string{{"test", "greet"}, {"test", "greet", "--example", "bob"}} {
		r = c.cli(args...)
		if r.Code != 1 || !strings.Contains(r.Stdout, "FAIL") || !strings.Contains(r.Stdout, "bye") || r.Stderr != "" {
			t.Fatalf("%v with a failing example: %s", args, r)
		}
	}
	var results []map[string]any
	r = c.cli("test", "greet", "--json")
	if err := json.Unmarshal([]byte(r.Stdout), &results); err != nil || r.Code != 1 || len(results) != 1 || results[0]["passed"] != false {
		t.Fatalf("test --json: %s", r)
	}
}
