package ui

import (
	"crypto/tls"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

func TestSameOrigin(t *testing.T) {
	for _, tt := range []struct {
		host, origin string
		tls          bool
		want         bool
	}{
		{"ops.example.com", "http://ops.example.com", false, true},
		{"ops.example.com", "https://ops.example.com", true, true},
		{"ops.example.com:443", "https://ops.example.com", true, true},
		{"OPS.example.com", "http://ops.example.com:80", false, true},
		{"127.0.0.1:8080", "http://127.0.0.1:8080", false, true},
		{"[::1]:8080", "http://[::1]:8080", false, true},
		{"ops.example.com", "https://ops.example.com", false, false},
		{"ops.example.com", "http://ops.example.com", true, false},
		{"127.0.0.1:8080", "http://127.0.0.1:8081", false, false},
		{"ops.example.com", "http://evil.example", false, false},
		{"ops.example.com", "http://ops.example.com.evil.example", false, false},
		{"ops.example.com", "", false, false},
		{"ops.example.com", "null", false, false},
		{"ops.example.com", "http://ops.example.com/path", false, false},
		{"ops.example.com", "http://user@ops.example.com", false, false},
	} {
		r := httptest.NewRequest("POST", "/", nil)
		r.Host = tt.host
		if tt.tls {
			r.TLS = &tls.ConnectionState{}
		}
		if tt.origin != "" {
			r.Header.Set("Origin", tt.origin)
		}
		if got := sameOrigin(r); got != tt.want {
			t.Errorf("host %q origin %q tls %v: got %v", tt.host, tt.origin, tt.tls, got)
		}
	}
}

func TestUnmarshalCaddyfile(t *testing.T) {
	for _, tt := range []struct {
		in      string
		want    Handler
		wantErr string
	}{
		{"endpoint_ui", Handler{}, ""},
		{"endpoint_ui /ops", Handler{Prefix: "/ops"}, ""},
		{"endpoint_ui /ops/ {\n allow_unauthenticated\n}", Handler{Prefix: "/ops/", AllowUnauthenticated: true}, ""},
		{"endpoint_ui ops", Handler{}, "must start with /"},
		{"endpoint_ui /ops*", Handler{}, "plain path"},
		{"endpoint_ui /a /b", Handler{}, "wrong argument count"},
		{"endpoint_ui {\n allow_unauthenticated yes\n}", Handler{}, "wrong argument count"},
		{"endpoint_ui {\n allow_unauthenticated\n allow_unauthenticated\n}", Handler{}, "already set"},
		{"endpoint_ui {\n open_to_all\n}", Handler{}, "unrecognized option"},
	} {
		var h Handler
		err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(tt.in))
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("%q: %v", tt.in, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("%q: want error with %q, got %v", tt.in, tt.wantErr, err)
		case tt.wantErr == "" && (h.Prefix != tt.want.Prefix || h.AllowUnauthenticated != tt.want.AllowUnauthenticated):
			t.Errorf("%q: got %+v", tt.in, h)
		}
	}
}
