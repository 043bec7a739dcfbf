package tests

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// cliRun is what one `caddy endpoint` run printed and its exit status.
type cliRun struct {
	Stdout, Stderr string
	Code           int
}

func (r cliRun) String() string {
	return "exit " + strconv.Itoa(r.Code) + "\nstdout:\n" + r.Stdout + "\nstderr:\n" + r.Stderr
}

// cliAt runs the built binary's `caddy endpoint <args>` against the admin
// API at addr.
func cliAt(t *testing.T, addr string, args ...string) cliRun {
	t.Helper()
	cmd := exec.Command(caddyBin, append(append([]string{"endpoint"}, args...), "--address", addr)...)
	cmd.Env = append(os.Environ(), "NO_COLOR=")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("caddy endpoint %v did not finish", args)
	}
	r := cliRun{Stdout: out.String(), Stderr: errOut.String()}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		r.Code = exitErr.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return r
}

// cli runs `caddy endpoint <args>` against this Caddy.
func (p *caddyProc) cli(args ...string) cliRun {
	p.t.Helper()
	return cliAt(p.t, p.adminAddr, args...)
}

// cliOK runs a verb that must succeed.
func (p *caddyProc) cliOK(args ...string) cliRun {
	p.t.Helper()
	r := p.cli(args...)
	if r.Code != 0 {
		p.t.Fatalf("caddy endpoint %v: %s", args, r)
	}
	return r
}

// readTree reads every file of a directory.
func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = string(b)
	}
	return out
}

// TestCLIUnreachable: an address with nothing behind it, and one that is
// not an admin API with the endpoint module, each get one line on stderr
// naming the address, and exit status 1.
func TestCLIUnreachable(t *testing.T) {
	closed := freePort(t)
	for _, verb := range [][]string{{"status"}, {"list"}, {"sync"}, {"export", t.TempDir()}} {
		r := cliAt(t, closed, verb...)
		if r.Code != 1 || r.Stdout != "" {
			t.Fatalf("%v against a closed port: %s", verb, r)
		}
		if lines := strings.Split(strings.TrimSpace(r.Stderr), "\n"); len(lines) != 1 || !strings.Contains(lines[0], closed) {
			t.Fatalf("%v: want one line naming %s: %q", verb, closed, r.Stderr)
		}
	}

	// the site listener of a real Caddy is an HTTP server without the
	// endpoint admin module
	c := startCaddy(t, config{App: appUsers})
	r := cliAt(t, c.httpAddr, "status")
	if r.Code != 1 || !strings.Contains(r.Stderr, c.httpAddr) || !strings.Contains(r.Stderr, "no endpoint module") ||
		strings.Count(strings.TrimSpace(r.Stderr), "\n") != 0 {
		t.Fatalf("status against a site: %s", r)
	}
	// a Caddy whose config has no endpoint app
	bare := &caddyProc{t: t, dir: t.TempDir(), adminAddr: freePort(t), httpAddr: freePort(t)}
	bare.Admin, bare.HTTP = "http://"+bare.adminAddr, "http://"+bare.httpAddr
	if err := os.WriteFile(filepath.Join(bare.dir, "Caddyfile"), []byte("{\n\tadmin "+bare.adminAddr+"\n}\nhttp://"+bare.httpAddr+" {\n\tbind 127.0.0.1\n\trespond ok\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bare.start()
	t.Cleanup(bare.stop)
	r = bare.cli("status")
	if r.Code != 1 || !strings.Contains(r.Stderr, bare.adminAddr) || !strings.Contains(r.Stderr, "not configured") ||
		strings.Count(strings.TrimSpace(r.Stderr), "\n") != 0 {
		t.Fatalf("status against a Caddy without the endpoint app: %s", r)
	}

	r = cliAt(t, "not an address", "status")
	if r.Code != 1 || !strings.Contains(r.Stderr, "not an address") {
		t.Fatalf("a bad address: %s", r)
	}
}

// TestCLIExportDiff: export writes the files of each record, the same bytes
// every time; an edited file shows in diff (exit 2 with --exit-code);
// the exported code and schema files load as declared endpoints.
func TestCLIExportDiff(t *testing.T) {
	c := startCaddy(t, config{App: appUsers})
	c.create(publicRecord("hello", "/hello/{who}", `result = {"payload": {"hello": request.path_params["who"]}}`+"\n"))
	c.create(schemaRecord("orders", "/orders", "application/json", "type: object\nrequired: [qty]\n",
		`result = {"payload": {"qty": request.json()["qty"]}, "status_code": 201}`+"\n"))
	c.create(schemaRecord("invoice", "/invoice", "application/xml",
		`<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"><xs:element name="invoice" type="xs:string"/></xs:schema>`,
		`result = {"payload": "ok"}`))

	dir := filepath.Join(t.TempDir(), "endpoints")
	r := c.cliOK("export", dir)
	if !strings.Contains(r.Stdout, "exported 3 endpoints") {
		t.Fatalf("export said: %s", r)
	}
	first := readTree(t, dir)
	for _, f := range []string{"hello.yaml", "hello.star", "orders.yaml", "orders.star", "orders.schema.yaml",
		"invoice.yaml", "invoice.star", "invoice.schema.xsd"} {
		if _, ok := first[f]; !ok {
			t.Fatalf("export lacks %s: %v", f, first)
		}
	}
	if len(first) != 8 {
		t.Fatalf("export wrote more than the records' files: %v", first)
	}
	for name, content := range first {
		if strings.HasSuffix(name, ".yaml") && !strings.HasSuffix(content, "\n") {
			t.Errorf("%s has no trailing newline", name)
		}
	}
	if y := first["orders.yaml"]; !strings.HasPrefix(y, "name: orders\nroute") || !strings.Contains(y, " /orders\n") ||
		!strings.Contains(y, "code_file: orders.star\n") || !strings.Contains(y, "schema_file: orders.schema.yaml\n") ||
		strings.Contains(y, "version") || strings.Contains(y, "sync_state") || strings.Contains(y, "updated_at") {
		t.Fatalf("orders.yaml:\n%s", y)
	}
	if first["orders.schema.yaml"] != "type: object\nrequired: [qty]\n" {
		t.Fatalf("orders.schema.yaml: %q", first["orders.schema.yaml"])
	}

	// twice: the same bytes, into the same directory and into a new one
	c.cliOK("export", dir)
	other := filepath.Join(t.TempDir(), "again")
	c.cliOK("export", other)
	for _, again := range []map[string]string{readTree(t, dir), readTree(t, other)} {
		if len(again) != len(first) {
			t.Fatalf("second export: %v", again)
		}
		for name, content := range first {
			if again[name] != content {
				t.Fatalf("%s differs on the second export:\n%s\n---\n%s", name, content, again[name])
			}
		}
	}

	// nothing changed: no diff
	r = c.cliOK("diff", dir, "--exit-code")
	if r.Stdout != "" {
		t.Fatalf("diff of a fresh export: %s", r)
	}

	// an edit shows as a unified diff of that file
	edited := strings.Replace(first["hello.star"], `"hello"`, `"hi"`, 1)
	if err := os.WriteFile(filepath.Join(dir, "hello.star"), []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	r = c.cliOK("diff", dir)
	if !strings.Contains(r.Stdout, "--- drafts/hello.star") || !strings.Contains(r.Stdout, "+++ "+dir+"/hello.star") ||
		!strings.Contains(r.Stdout, `-result = {"payload": {"hello": `) || !strings.Contains(r.Stdout, `+result = {"payload": {"hi": `) ||
		strings.Contains(r.Stdout, "orders") {
		t.Fatalf("diff after an edit: %s", r)
	}
	if r = c.cli("diff", dir, "--exit-code"); r.Code != 2 || !strings.Contains(r.Stdout, "hello.star") {
		t.Fatalf("diff --exit-code after an edit: %s", r)
	}
	var diffs []map[string]any
	r = c.cli("diff", dir, "--json", "--exit-code")
	if err := json.Unmarshal([]byte(r.Stdout), &diffs); err != nil || r.Code != 2 || len(diffs) != 1 || diffs[0]["file"] != "hello.star" || diffs[0]["status"] != "changed" {
		t.Fatalf("diff --json: %s", r)
	}
	// against the live set (nothing published yet) every file is new
	if r = c.cli("diff", dir, "--live", "--exit-code"); r.Code != 2 || !strings.Contains(r.Stdout, "+++ "+dir+"/orders.yaml") {
		t.Fatalf("diff --live: %s", r)
	}

	// the exported code and schema files load as declared endpoints
	files := map[string]string{}
	for name, content := range first {
		files["endpoints/"+name] = content
	}
	d := startCaddy(t, config{App: appUsers + `
		define orders {
			route /orders
			method POST
			auth public
			exec_as bot
			content_type application/json
			schema_file endpoints/orders.schema.yaml
			code_file endpoints/orders.star
		}`, Files: files})
	expect(t, do(t, "POST", d.HTTP+"/orders", `{"qty": 2}`, "Content-Type", "application/json"), 201)
	expect(t, do(t, "POST", d.HTTP+"/orders", `{}`, "Content-Type", "application/json"), 400)
}

// TestCLIVerbs: status, list with its filters, sync, revisions, rollback,
// test with a request, logs; --json gives the API's answer.
func TestCLIVerbs(t *testing.T) {
	c := startCaddy(t, config{App: appUsers})
	c.create(publicRecord("hello", "/hello", `log("hello called")
result = {"payload": {"v": 1}}`))
	r := c.cliOK("status")
	if !strings.Contains(r.Stdout, "revision 0, out of sync: 1 pending") || !strings.Contains(r.Stdout, "added") {
		t.Fatalf("status: %s", r)
	}
	var st map[string]any
	if err := json.Unmarshal([]byte(c.cliOK("status", "--json").Stdout), &st); err != nil || st["in_sync"] != false {
		t.Fatalf("status --json: %v %v", st, err)
	}

	r = c.cliOK("sync", "--message", "first")
	if !strings.Contains(r.Stdout, "revision 1 published") || !strings.Contains(r.Stdout, "hello") {
		t.Fatalf("sync: %s", r)
	}
	if r = c.cliOK("sync"); !strings.Contains(r.Stdout, "nothing to sync") {
		t.Fatalf("sync with nothing pending: %s", r)
	}
	expect(t, c.get("/hello"), 200)

	second := publicRecord("other", "/other", `result = {"payload": 2}`)
	second["route_group"] = "internal"
	c.create(second)
	expect(t, c.admin("PATCH", "/endpoint/endpoints/hello", map[string]any{"code_snippet": `result = {"payload": {"v": 2}}`}), 200)
	r = c.cliOK("list")
	lines := strings.Split(strings.TrimSpace(r.Stdout), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "NAME") || !strings.HasPrefix(lines[1], "hello ") || !strings.HasPrefix(lines[2], "other ") {
		t.Fatalf("list: %s", r)
	}
	// columns are aligned: each row's ROUTES column starts where the header's does
	col := strings.Index(lines[0], "ROUTES")
	for _, l := range lines[1:] {
		if l[col-1] != ' ' || l[col] == ' ' {
			t.Fatalf("list is not aligned:\n%s", r.Stdout)
		}
	}
	if r = c.cliOK("list", "--group", "internal"); strings.Contains(r.Stdout, "hello") || !strings.Contains(r.Stdout, "other") {
		t.Fatalf("list --group: %s", r)
	}
	if r = c.cliOK("list", "--to-sync"); !strings.Contains(r.Stdout, "hello") || !strings.Contains(r.Stdout, "to_sync") {
		t.Fatalf("list --to-sync: %s", r)
	}
	if r = c.cliOK("list", "--archived"); strings.Contains(r.Stdout, "hello") {
		t.Fatalf("list --archived: %s", r)
	}
	var listed []map[string]any
	if err := json.Unmarshal([]byte(c.cliOK("list", "--json").Stdout), &listed); err != nil || len(listed) != 2 {
		t.Fatalf("list --json: %v %v", listed, err)
	}

	// a dry run of the draft, with a request
	r = c.cliOK("test", "hello", "-X", "GET", "--path", "/hello?x=1", "-H", "Accept: application/json")
	if !strings.Contains(r.Stdout, "status 200") || !strings.Contains(r.Stdout, `{"v":2}`) || !strings.Contains(r.Stdout, "steps:") {
		t.Fatalf("test with a request: %s", r)
	}
	if r = c.cli("test", "nope", "--path", "/nope"); r.Code != 1 || !strings.Contains(r.Stderr, "nope") {
		t.Fatalf("test of an unknown endpoint: %s", r)
	}
	if r = c.cli("test", "hello", "-H", "no colon"); r.Code != 1 || !strings.Contains(r.Stderr, "Name: value") {
		t.Fatalf("test with a bad header: %s", r)
	}

	// a sync of only some records leaves the others to sync
	r = c.cliOK("sync", "--only", "other", "--message", "only the other one")
	if !strings.Contains(r.Stdout, "revision 2 published") || !strings.Contains(r.Stdout, "other") || strings.Contains(r.Stdout, "hello") {
		t.Fatalf("sync --only: %s", r)
	}
	expect(t, c.get("/other"), 200)
	if got := string(c.get("/hello").Body); !strings.Contains(got, `"v":1`) {
		t.Fatalf("after sync --only other, /hello answers %s", got)
	}
	if r = c.cliOK("status"); !strings.Contains(r.Stdout, "changed  hello") {
		t.Fatalf("status after sync --only: %s", r)
	}

	// export of a revision and of the live set
	rev1 := t.TempDir()
	c.cliOK("export", rev1, "--revision", "1")
	if files := readTree(t, rev1); len(files) != 2 || !strings.Contains(files["hello.star"], `"v": 1`) {
		t.Fatalf("export --revision 1: %v", files)
	}
	live := t.TempDir()
	c.cliOK("export", live, "--live")
	if files := readTree(t, live); len(files) != 4 || !strings.Contains(files["hello.star"], `"v": 1`) {
		t.Fatalf("export --live: %v", files)
	}
	if r = c.cli("export", t.TempDir(), "--revision", "9"); r.Code != 1 || !strings.Contains(r.Stderr, "revision 9") {
		t.Fatalf("export of a missing revision: %s", r)
	}

	c.cliOK("sync")
	r = c.cliOK("revisions")
	if lines := strings.Split(strings.TrimSpace(r.Stdout), "\n"); len(lines) != 4 || !strings.HasPrefix(lines[1], "3*") ||
		!strings.Contains(lines[2], "only the other one") || !strings.Contains(lines[3], "first") || !strings.Contains(lines[3], "sync") {
		t.Fatalf("revisions: %s", r)
	}

	r = c.cliOK("rollback", "1", "--message", "back to one")
	if !strings.Contains(r.Stdout, "revision 4 published") {
		t.Fatalf("rollback: %s", r)
	}
	if r = c.cliOK("revisions"); !strings.Contains(r.Stdout, "back to one") || !strings.Contains(r.Stdout, "rollback") {
		t.Fatalf("revisions after a rollback: %s", r)
	}
	if got := string(c.get("/hello").Body); !strings.Contains(got, `"v":1`) {
		t.Fatalf("after rollback /hello answers %s", got)
	}
	expect(t, c.get("/other"), 404)
	if r = c.cli("rollback", "99"); r.Code != 1 || !strings.Contains(r.Stderr, "99") {
		t.Fatalf("rollback to a missing revision: %s", r)
	}
	if r = c.cli("rollback", "x"); r.Code != 1 || !strings.Contains(r.Stderr, "positive integer") {
		t.Fatalf("rollback x: %s", r)
	}

	// logs of the live route
	expect(t, c.get("/hello"), 200)
	waitFor(t, func() bool { return strings.Contains(c.cliOK("logs").Stdout, "hello called") })
	r = c.cliOK("logs", "--endpoint", "hello", "--json")
	var line map[string]any
	if err := json.Unmarshal([]byte(strings.Split(r.Stdout, "\n")[0]), &line); err != nil || line["endpoint"] != "hello" {
		t.Fatalf("logs --json: %s", r)
	}
	if r = c.cliOK("logs", "--endpoint", "other"); r.Stdout != "" {
		t.Fatalf("logs of another endpoint: %s", r)
	}

	// --follow prints the lines there are, then those that come later,
	// until interrupted
	before := strings.Count(c.cliOK("logs", "--endpoint", "hello").Stdout, "hello called")
	follow := exec.Command(caddyBin, "endpoint", "logs", "--follow", "--endpoint", "hello", "--address", c.adminAddr)
	out := &lockedBuffer{}
	follow.Stdout, follow.Stderr = out, out
	if err := follow.Start(); err != nil {
		t.Fatal(err)
	}
	followDone := make(chan error, 1)
	go func() { followDone <- follow.Wait() }()
	defer func() { _ = follow.Process.Kill() }()
	waitFor(t, func() bool { return strings.Count(out.String(), "hello called") == before })
	expect(t, c.get("/hello"), 200)
	waitFor(t, func() bool { return strings.Count(out.String(), "hello called") == before+1 })
	_ = follow.Process.Signal(os.Interrupt)
	select {
	case err := <-followDone:
		if err != nil {
			t.Fatalf("logs --follow ended with %v after an interrupt:\n%s", err, out.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("logs --follow did not end on an interrupt")
	}
	if n := strings.Count(out.String(), "hello called"); n != before+1 {
		t.Fatalf("logs --follow printed %d lines, want %d:\n%s", n, before+1, out.String())
	}
}

// TestCLIHelp: `caddy help endpoint` and each verb's --help.
func TestCLIHelp(t *testing.T) {
	out, err := exec.Command(caddyBin, "help", "endpoint").CombinedOutput()
	if err != nil {
		t.Fatalf("caddy help endpoint: %v\n%s", err, out)
	}
	for _, verb := range []string{"status", "list", "export", "diff", "apply", "sync", "revisions", "rollback", "test", "logs"} {
		if !strings.Contains(string(out), "  "+verb+" ") {
			t.Errorf("caddy help endpoint lacks %s:\n%s", verb, out)
		}
	}
	if r := cliAt(t, freePort(t), "frobnicate"); r.Code != 1 || !strings.Contains(r.Stderr, `unknown verb "frobnicate"`) {
		t.Fatalf("an unknown verb: %s", r)
	}
	out, err = exec.Command(caddyBin, "endpoint", "apply", "--help").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--prune") || !strings.Contains(string(out), "--dry-run") {
		t.Fatalf("caddy endpoint apply --help: %v\n%s", err, out)
	}
}
