// Package tests holds the integration tests: each starts real Caddy
// processes (the testcaddy binary, built once) on loopback ports with file
// storage in a temporary directory, and talks to them over HTTP.
package tests

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var caddyBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "endpoint-it-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	caddyBin = filepath.Join(dir, "caddy")
	build := exec.Command("go", "build", "-o", caddyBin, "./testcaddy")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building the test caddy:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// lockedBuffer collects a process's output.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// caddyProc is one running Caddy.
type caddyProc struct {
	t         *testing.T
	dir       string
	data      string
	adminAddr string
	httpAddr  string
	Admin     string // http://127.0.0.1:port
	HTTP      string // http://127.0.0.1:port
	cmd       *exec.Cmd
	out       *lockedBuffer
	done      chan struct{}
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// config is what a test puts in the Caddyfile: the body of the global
// `endpoint` option and the body of the site block.
type config struct {
	Global string // extra global options
	App    string // inside `endpoint { ... }`
	Site   string // inside the site block; default "endpoint"
	// Data is the storage directory; default a new temporary directory.
	Data string
	// Faults, when set, runs Caddy on the fault-injecting storage over
	// Data, with this file listing the faults (see tests/faultstore).
	Faults string
	// Files are written next to the Caddyfile before start.
	Files map[string]string
}

// startCaddy writes a Caddyfile and runs Caddy on it until the test ends.
func startCaddy(t *testing.T, c config) *caddyProc {
	t.Helper()
	dir := t.TempDir()
	if c.Data == "" {
		c.Data = filepath.Join(dir, "data")
	}
	if c.Site == "" {
		c.Site = "endpoint"
	}
	for name, content := range c.Files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p := &caddyProc{t: t, dir: dir, data: c.Data, adminAddr: freePort(t), httpAddr: freePort(t)}
	p.Admin, p.HTTP = "http://"+p.adminAddr, "http://"+p.httpAddr
	storage := "file_system " + c.Data
	if c.Faults != "" {
		storage = fmt.Sprintf("endpoint_faults {\n\t\troot %s\n\t\tfaults %s\n\t}", c.Data, c.Faults)
	}
	caddyfile := fmt.Sprintf(`{
	admin %s
	storage %s
	%s
	endpoint {
		%s
	}
}
http://%s {
	bind 127.0.0.1
	%s
}
`, p.adminAddr, storage, c.Global, c.App, p.httpAddr, c.Site)
	if err := os.WriteFile(filepath.Join(dir, "Caddyfile"), []byte(caddyfile), 0o644); err != nil {
		t.Fatal(err)
	}
	p.start()
	t.Cleanup(p.stop)
	return p
}

// writeConfig prepares a Caddy directory like startCaddy without starting.
func writeConfig(t *testing.T, c config) *caddyProc {
	t.Helper()
	p := &caddyProc{t: t}
	p.dir = t.TempDir()
	for name, content := range c.Files {
		path := filepath.Join(p.dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	caddyfile := fmt.Sprintf("{\n\tadmin %s\n\tstorage file_system %s\n\tendpoint {\n%s\n\t}\n}\nhttp://%s {\n\tendpoint\n}\n",
		freePort(t), filepath.Join(p.dir, "data"), c.App, freePort(t))
	if err := os.WriteFile(filepath.Join(p.dir, "Caddyfile"), []byte(caddyfile), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// failToStart runs Caddy on a config that must not load, and returns what
// Caddy printed.
func failToStart(t *testing.T, c config) string {
	t.Helper()
	p := writeConfig(t, c)
	cmd := exec.Command(caddyBin, "run", "--config", "Caddyfile", "--adapter", "caddyfile")
	cmd.Dir = p.dir
	cmd.Env = append(os.Environ(), "HOME="+p.dir, "XDG_DATA_HOME="+p.dir+"/xdg-data", "XDG_CONFIG_HOME="+p.dir+"/xdg-config")
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err == nil {
			t.Fatalf("caddy exited cleanly on a bad config:\n%s", out.String())
		}
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("caddy started on a bad config:\n%s", out.String())
	}
	return out.String()
}

// metric reads one sample of the admin /metrics page (0 when absent).
func (p *caddyProc) metric(series string) float64 {
	p.t.Helper()
	page := string(expect(p.t, p.admin("GET", "/metrics", nil), 200).Body)
	for _, line := range strings.Split(page, "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			var f float64
			if _, err := fmt.Sscan(v, &f); err != nil {
				p.t.Fatalf("metric %s: %v", series, err)
			}
			return f
		}
	}
	return 0
}

func (p *caddyProc) start() {
	p.t.Helper()
	p.out = &lockedBuffer{}
	p.done = make(chan struct{})
	p.cmd = exec.Command(caddyBin, "run", "--config", "Caddyfile", "--adapter", "caddyfile")
	p.cmd.Dir = p.dir
	p.cmd.Env = append(os.Environ(), "HOME="+p.dir, "XDG_DATA_HOME="+p.dir+"/xdg-data", "XDG_CONFIG_HOME="+p.dir+"/xdg-config")
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	p.waitReady()
}

// waitReady polls the admin API and the site until both answer.
func (p *caddyProc) waitReady() {
	p.t.Helper()
	for i := 0; i < 300; i++ {
		select {
		case <-p.done:
			p.t.Fatalf("caddy exited during start:\n%s", p.out.String())
		default:
		}
		resp, err := http.Get(p.Admin + "/config/")
		if err == nil {
			resp.Body.Close()
			if resp2, err := http.Get(p.HTTP + "/__ready__"); err == nil {
				resp2.Body.Close()
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.t.Fatalf("caddy did not become ready:\n%s", p.out.String())
}

// stop ends Caddy gracefully (SIGTERM).
func (p *caddyProc) stop() {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// kill ends Caddy with SIGKILL, as a crash would.
func (p *caddyProc) kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

// restart starts Caddy again on the same Caddyfile and storage.
func (p *caddyProc) restart() {
	p.t.Helper()
	p.start()
}

// Logs returns what Caddy printed so far.
func (p *caddyProc) Logs() string { return p.out.String() }

// answer is an HTTP response read whole.
type answer struct {
	Status int
	Header http.Header
	Body   []byte
	// Close says the server ends the connection after this answer (Go's
	// client takes Connection: close out of Header).
	Close bool
}

func (a answer) JSON(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(a.Body, &m); err != nil {
		t.Fatalf("answer is not a JSON object (%v): %s", err, a.Body)
	}
	return m
}

func (a answer) String() string { return fmt.Sprintf("%d %s", a.Status, a.Body) }

// do sends a request; body may be a string, []byte or any JSON-able
// value; headers are name/value pairs.
func do(t *testing.T, method, url string, body any, headers ...string) answer {
	t.Helper()
	var rd io.Reader
	ct := ""
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		enc, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(enc)
		ct = "application/json"
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{Status: resp.StatusCode, Header: resp.Header, Body: b, Close: resp.Close}
}

// expect fails the test when the status differs.
func expect(t *testing.T, a answer, status int) answer {
	t.Helper()
	if a.Status != status {
		t.Fatalf("want status %d, got %s", status, a)
	}
	return a
}

// admin sends a JSON request to the admin API.
func (p *caddyProc) admin(method, path string, body any, headers ...string) answer {
	p.t.Helper()
	if body == nil && (method == http.MethodPost) {
		body = map[string]any{}
	}
	return do(p.t, method, p.Admin+path, body, headers...)
}

// create posts a record and syncs when asked.
func (p *caddyProc) create(rec map[string]any) answer {
	p.t.Helper()
	return expect(p.t, p.admin("POST", "/endpoint/endpoints", rec), http.StatusCreated)
}

func (p *caddyProc) sync() map[string]any {
	p.t.Helper()
	return expect(p.t, p.admin("POST", "/endpoint/sync", nil), http.StatusOK).JSON(p.t)
}

// get calls the site.
func (p *caddyProc) get(path string, headers ...string) answer {
	p.t.Helper()
	return do(p.t, "GET", p.HTTP+path, nil, headers...)
}

// waitFor polls cond for up to 10 seconds: for things that happen
// asynchronously (storage polling), not a timing assertion.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for i := 0; i < 200; i++ {
		if cond() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("condition not met within 10s")
}

// waitLog waits until Caddy's output holds s (the output reaches the test
// through a pipe, a little after the answer).
func (p *caddyProc) waitLog(s string) {
	p.t.Helper()
	for i := 0; i < 200; i++ {
		if strings.Contains(p.out.String(), s) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.t.Fatalf("%q not in the log:\n%s", s, p.out.String())
}
