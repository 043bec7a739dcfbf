package tests

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestCaddyfileRulesCheckedAtLoad: the Caddyfile adapter reads the syntax
// only; what the values mean is checked once, by the app, and `caddy
// validate` refuses a Caddyfile that breaks a rule, naming it.
func TestCaddyfileRulesCheckedAtLoad(t *testing.T) {
	tests := []struct {
		name string
		app  string
		want string
	}{
		{"secret with an empty name", `secret "" a`, "a secret has an empty name"},
		{"user with an empty name", `user "" {
			role a
		}`, "a user has an empty name"},
		{"grant store level", `user bot {
			grant store orders admin
		}`, `grant store "orders": level "admin" is neither "read" nor "write"`},
		{"grant http of a URL", `user bot {
			grant http https://api.example.com/
		}`, `grant http "https://api.example.com/"`},
		{"define without route", `define a {
			code "result = {}"
		}`, "routes: is required"},
		{"define with a bad auth", `define a {
			route /a
			auth basic
		}`, "auth_type: must be one of user, bearer, public"},
		{"define with a bad method", `define a {
			route /a
			method GET HEAD
		}`, `"HEAD" must be one of GET, POST, PUT, PATCH, DELETE`},
		{"define with code and code_file", `define a {
			route /a
			code "result = {}"
			code_file a.star
		}`, "both code_snippet and code_file are set"},
		{"define with schema and schema_file", `define a {
			route /a
			method POST
			content_type application/json
			schema "{}"
			schema_file a.json
		}`, "both request_content_schema and schema_file are set"},
		{"example with an unknown status", `define a {
			route /a
			code "result = {}"
			example e {
				status 42
			}
		}`, "must be an HTTP status code (100-599)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := writeConfig(t, config{App: tt.app})
			cmd := exec.Command(caddyBin, "validate", "--config", "Caddyfile", "--adapter", "caddyfile")
			cmd.Dir = p.dir
			cmd.Env = append(os.Environ(), "HOME="+p.dir, "XDG_DATA_HOME="+p.dir+"/xdg-data", "XDG_CONFIG_HOME="+p.dir+"/xdg-config")
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("caddy validate took the config:\n%s", out)
			}
			// Caddy logs the error as JSON, its quotes escaped
			if !strings.Contains(strings.ReplaceAll(string(out), `\"`, `"`), tt.want) {
				t.Fatalf("caddy validate does not say %q:\n%s", tt.want, out)
			}
		})
	}
}
