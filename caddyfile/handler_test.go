package caddyfile

import (
	"reflect"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

func TestParseHandler(t *testing.T) {
	tests := []struct {
		name       string
		input      string
		wantGroups []string
		wantPass   bool
		wantErr    string
	}{
		{name: "bare", input: `endpoint`},
		{name: "groups", input: `endpoint public partners`, wantGroups: []string{"public", "partners"}},
		{name: "duplicate group once", input: `endpoint a b a`, wantGroups: []string{"a", "b"}},
		{name: "empty group", input: `endpoint ""`, wantGroups: []string{""}},
		{name: "pass_thru", input: `endpoint {
			pass_thru
		}`, wantPass: true},
		{name: "groups and pass_thru", input: `endpoint api {
			pass_thru
		}`, wantGroups: []string{"api"}, wantPass: true},
		{name: "empty block", input: `endpoint api {
		}`, wantGroups: []string{"api"}},
		{name: "unknown option", input: `endpoint {
			passthru
		}`, wantErr: `endpoint handler: unrecognized option "passthru"`},
		{name: "pass_thru argument", input: `endpoint {
			pass_thru yes
		}`, wantErr: `pass_thru: takes no arguments, got "yes"`},
		{name: "pass_thru twice", input: `endpoint {
			pass_thru
			pass_thru
		}`, wantErr: "pass_thru: already set"},
		{name: "group too long", input: `endpoint ` + strings.Repeat("g", 65), wantErr: "at most 64 printable characters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			groups, pass, err := ParseHandler(caddyfile.NewTestDispenser(tt.input))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(groups, tt.wantGroups) {
				t.Errorf("route groups = %q, want %q", groups, tt.wantGroups)
			}
			if pass != tt.wantPass {
				t.Errorf("pass_thru = %v, want %v", pass, tt.wantPass)
			}
		})
	}
}
