package env

import (
	"strings"
	"testing"
)

func TestValidateGrants(t *testing.T) {
	secrets := map[string]string{"webhook_key": "v"}
	tests := []struct {
		name    string
		g       *Grants
		wantErr string
	}{
		{"nil", nil, ""},
		{"empty", &Grants{}, ""},
		{"full", &Grants{
			Store:   map[string]string{"orders": Write, "config": Read},
			Secrets: []string{"webhook_key"},
			HTTP:    []string{"api.example.com", "API.example.com.", "hooks.example.com:8443", "127.0.0.1:9000", "10.0.0.5", "[::1]:9000", "[fd00::1]", "2001:db8::1"},
		}, ""},
		{"bad level", &Grants{Store: map[string]string{"orders": "admin"}}, `user "bot": grant store "orders": level "admin" is neither "read" nor "write"`},
		{"bad namespace", &Grants{Store: map[string]string{"../etc": Read}}, `user "bot": grant store "../etc": namespace "../etc" is not valid`},
		{"unknown secret", &Grants{Secrets: []string{"nope"}}, `user "bot": grant secret "nope": no secret of that name is configured`},
		{"url", &Grants{HTTP: []string{"https://api.example.com"}}, `user "bot": grant http "https://api.example.com": a grant is a host or host:port, not a URL`},
		{"path", &Grants{HTTP: []string{"api.example.com/v1"}}, `grant http "api.example.com/v1": character '/' is not allowed`},
		{"wildcard", &Grants{HTTP: []string{"*.example.com"}}, "wildcards are not supported"},
		{"userinfo", &Grants{HTTP: []string{"u@example.com"}}, "character '@' is not allowed"},
		{"port zero", &Grants{HTTP: []string{"example.com:0"}}, `port "0" is not a number between 1 and 65535`},
		{"port big", &Grants{HTTP: []string{"example.com:70000"}}, "is not a number between 1 and 65535"},
		{"port text", &Grants{HTTP: []string{"example.com:http"}}, "is not a number between 1 and 65535"},
		{"empty host", &Grants{HTTP: []string{""}}, "empty host"},
		{"empty host with port", &Grants{HTTP: []string{":80"}}, "not a valid host name"},
		{"bad label", &Grants{HTTP: []string{"-bad.example.com"}}, "not a valid host name"},
		{"double dot", &Grants{HTTP: []string{"a..example.com"}}, "not a valid host name"},
		{"bracketed v4", &Grants{HTTP: []string{"[127.0.0.1]:80"}}, "is not an IPv6 address"},
		{"zone", &Grants{HTTP: []string{"[fe80::1%25eth0]:80"}}, "not an IPv6 address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateGrants("bot", tt.g, secrets)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestMatchHost(t *testing.T) {
	g := compileGrants(&Grants{HTTP: []string{"API.example.com", "hooks.example.com:8443", "127.0.0.1:9000", "[::1]:9000"}})
	tests := []struct {
		host, port string
		want       bool
	}{
		{"api.example.com", "443", true},
		{"api.example.com", "8080", true},
		{"hooks.example.com", "8443", true},
		{"hooks.example.com", "443", false},
		{"example.com", "443", false},
		{"evil-api.example.com", "443", false},
		{"127.0.0.1", "9000", true},
		{"127.0.0.1", "9001", false},
		{"::1", "9000", true},
		{"localhost", "9000", false},
	}
	for _, tt := range tests {
		if _, got := g.matchHost(tt.host, tt.port); got != tt.want {
			t.Errorf("matchHost(%q, %q) = %v, want %v", tt.host, tt.port, got, tt.want)
		}
	}
}
