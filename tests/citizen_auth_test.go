package tests

import (
	"encoding/base64"
	"os/exec"
	"strings"
	"testing"
)

// hashPassword runs `caddy hash-password` of the test binary.
func hashPassword(t *testing.T, algorithm, plaintext string) string {
	t.Helper()
	out, err := exec.Command(caddyBin, "hash-password", "--algorithm", algorithm, "--plaintext", plaintext).Output()
	if err != nil {
		t.Fatalf("caddy hash-password --algorithm %s: %v", algorithm, err)
	}
	return strings.TrimSpace(string(out))
}

func basicHeader(user, password string) []string {
	return []string{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))}
}

// TestCaddyPasswordHashes: what `caddy hash-password` prints, argon2id (its
// recommended algorithm) and bcrypt, loads and authenticates; the access
// log names the caller the endpoint authenticated.
func TestCaddyPasswordHashes(t *testing.T) {
	argon := hashPassword(t, "argon2id", "argon-pw")
	bc := hashPassword(t, "bcrypt", "bcrypt-pw")
	c := startCaddy(t, config{
		App: `
		user ann {
			password ` + argon + `
		}
		user ben {
			password ` + bc + `
		}
		define me {
			route /me
			code ` + "`" + `result = {"payload": user.name}` + "`" + `
		}`,
		Site: "log {\n\t\toutput stdout\n\t\tformat json\n\t}\n\tendpoint",
	})
	if got := string(expect(t, c.get("/me", basicHeader("ann", "argon-pw")...), 200).Body); got != `"ann"` {
		t.Fatalf("argon2id user: %s", got)
	}
	expect(t, c.get("/me", basicHeader("ann", "wrong")...), 401)
	if got := string(expect(t, c.get("/me", basicHeader("ben", "bcrypt-pw")...), 200).Body); got != `"ben"` {
		t.Fatalf("bcrypt user: %s", got)
	}
	expect(t, c.get("/me", basicHeader("nobody", "bcrypt-pw")...), 401)
	c.waitLog(`"user_id":"ann"`)
	c.waitLog(`"user_id":"ben"`)
}

// TestRemoteIPTrustedProxies: request.remote_ip is the client address
// Caddy determined from trusted_proxies, not the proxy's.
func TestRemoteIPTrustedProxies(t *testing.T) {
	c := startCaddy(t, config{
		Global: "servers {\n\t\ttrusted_proxies static 127.0.0.1/32\n\t}",
		App: appUsers + `
		define ip {
			route /ip
			auth public
			exec_as bot
			code ` + "`" + `result = {"payload": request.remote_ip}` + "`" + `
		}`,
	})
	if got := string(expect(t, c.get("/ip", "X-Forwarded-For", "203.0.113.7"), 200).Body); got != `"203.0.113.7"` {
		t.Fatalf("remote_ip behind a trusted proxy: %s", got)
	}
	if got := string(expect(t, c.get("/ip"), 200).Body); got != `"127.0.0.1"` {
		t.Fatalf("remote_ip without a proxy header: %s", got)
	}
}
