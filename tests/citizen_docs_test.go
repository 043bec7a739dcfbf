package tests

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// readmeCaddyfile is the Caddyfile of README's Configuration section,
// without its markdown indentation.
func readmeCaddyfile(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(b), "### Caddyfile\n\n")
	if !ok {
		t.Fatal("README has no Caddyfile section")
	}
	var out []string
	for _, line := range strings.Split(after, "\n") {
		if line != "" && !strings.HasPrefix(line, "    ") {
			break
		}
		out = append(out, strings.TrimPrefix(line, "    "))
	}
	return strings.TrimSpace(strings.Join(out, "\n")) + "\n"
}

// TestReadmeCaddyfileFormatted: `caddy adapt` takes README's Caddyfile
// without warning that it is not formatted.
func TestReadmeCaddyfileFormatted(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(path, []byte(readmeCaddyfile(t)), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(caddyBin, "adapt", "--config", path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("caddy adapt: %v\n%s", err, stderr.String())
	}
	if strings.Contains(stderr.String(), "not formatted") {
		t.Fatalf("caddy adapt warns:\n%s", stderr.String())
	}
}

// TestStartLogLine: a start logs one line with the live revision, the
// endpoints served and the drafts pending.
func TestStartLogLine(t *testing.T) {
	c := startCaddy(t, config{App: appUsers})
	c.waitLog(`"msg":"endpoint app started","revision":0,"endpoints":0,"pending":0`)
	c.create(publicRecord("s1", "/s1", `result = {"payload": 1}`))
	c.sync()
	c.create(publicRecord("s2", "/s2", `result = {"payload": 2}`))
	c.stop()
	c.restart()
	c.waitLog(`"msg":"endpoint app started","revision":1,"endpoints":1,"pending":1`)
}
