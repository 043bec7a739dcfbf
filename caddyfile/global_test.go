package caddyfile

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"

	"github.com/caddy-endpoint/endpoint/config"
	"github.com/caddy-endpoint/endpoint/pipeline"
)

// parseTest runs the global option parser on input and decodes its app.
func parseTest(t *testing.T, input string, existing any) (*config.App, error) {
	t.Helper()
	v, err := parseGlobal(caddyfile.NewTestDispenser(input), existing)
	if err != nil {
		return nil, err
	}
	app, ok := v.(httpcaddyfile.App)
	if !ok {
		t.Fatalf("parseGlobal returned %T, want httpcaddyfile.App", v)
	}
	if app.Name != "endpoint" {
		t.Fatalf("app name = %q, want endpoint", app.Name)
	}
	cfg := new(config.App)
	if err := json.Unmarshal(app.Value, cfg); err != nil {
		t.Fatal(err)
	}
	return cfg, nil
}

func TestParseGlobalErrors(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  string
	}{
		{"argument to option", `endpoint foo`, "endpoint takes no arguments"},
		{"unknown option", `endpoint {
			sync_intervall 5s
		}`, `unrecognized endpoint option "sync_intervall"`},
		{"block after scalar", `endpoint {
			timeout 5s {
				x
			}
		}`, "timeout: takes no block"},

		{"duration missing", `endpoint {
			sync_interval
		}`, "sync_interval: missing argument"},
		{"duration extra", `endpoint {
			sync_interval 5s 6s
		}`, `sync_interval: takes one argument, got extra "6s"`},
		{"duration bad", `endpoint {
			timeout soon
		}`, `timeout: parsing duration "soon"`},
		{"duration zero", `endpoint {
			timeout 0s
		}`, "timeout: must be positive"},
		{"duration negative", `endpoint {
			sync_interval -1s
		}`, "sync_interval: must be positive"},
		{"duration twice", `endpoint {
			timeout 1s
			timeout 2s
		}`, "timeout: already set"},

		{"size bad unit", `endpoint {
			max_body_size 1XB
		}`, `max_body_size: parsing size "1XB"`},
		{"size not a number", `endpoint {
			max_body_size big
		}`, `max_body_size: parsing size "big"`},
		{"size zero", `endpoint {
			max_body_size 0
		}`, "max_body_size: must be positive"},
		{"size too large", `endpoint {
			max_body_size 16EiB
		}`, "max_body_size"},
		{"size twice", `endpoint {
			max_body_size 1MB
			max_body_size 2MB
		}`, "max_body_size: already set"},

		{"steps not a number", `endpoint {
			max_steps many
		}`, `max_steps: "many" is not a whole number`},
		{"steps negative", `endpoint {
			max_steps -5
		}`, `max_steps: "-5" is not a whole number`},
		{"steps zero", `endpoint {
			max_steps 0
		}`, "max_steps: must be positive"},
		{"steps twice", `endpoint {
			max_steps 1
			max_steps 2
		}`, "max_steps: already set"},
		{"store keys zero", `endpoint {
			store_max_keys 0
		}`, `store_max_keys: "0" is not a positive whole number`},
		{"store keys twice", `endpoint {
			store_max_keys 1
			store_max_keys 2
		}`, "store_max_keys: already set"},
		{"store bytes bad", `endpoint {
			store_max_bytes lots
		}`, `store_max_bytes: parsing size "lots"`},
		{"store bytes zero", `endpoint {
			store_max_bytes 0
		}`, "store_max_bytes: must be positive"},

		{"secret no value", `endpoint {
			secret key
		}`, "secret: want exactly a name and a value"},
		{"secret extra", `endpoint {
			secret key a b
		}`, "secret: want exactly a name and a value"},
		{"secret twice", `endpoint {
			secret key a
			secret key b
		}`, `secret "key": defined twice`},

		{"user no name", `endpoint {
			user {
				role a
			}
		}`, "user: missing argument"},
		{"user two names", `endpoint {
			user a b
		}`, `user: takes one argument, got extra "b"`},
		{"user twice", `endpoint {
			user bot
			user bot {
				role a
			}
		}`, `user "bot": defined twice`},
		{"user unknown option", `endpoint {
			user bot {
				passwd x
			}
		}`, `user "bot": unrecognized option "passwd"`},
		{"user password twice", `endpoint {
			user bot {
				password a
				password b
			}
		}`, "password: already set"},
		{"user password missing", `endpoint {
			user bot {
				password
			}
		}`, "password: missing argument"},
		{"user token twice", `endpoint {
			user bot {
				token_hash sha256:aa
				token_hash sha256:bb
			}
		}`, "token_hash: already set"},
		{"user role missing", `endpoint {
			user bot {
				role
			}
		}`, "role: missing argument"},

		{"grant no kind", `endpoint {
			user bot {
				grant
			}
		}`, "grant: missing kind"},
		{"grant unknown kind", `endpoint {
			user bot {
				grant files /tmp
			}
		}`, `grant: unknown kind "files"`},
		{"grant store no level", `endpoint {
			user bot {
				grant store orders
			}
		}`, "grant store: want a namespace and read or write"},
		{"grant store twice", `endpoint {
			user bot {
				grant store orders read
				grant store orders write
			}
		}`, "grant store orders: granted twice"},
		{"grant secret missing", `endpoint {
			user bot {
				grant secret
			}
		}`, "grant secret: missing secret name"},
		{"grant http missing", `endpoint {
			user bot {
				grant http
			}
		}`, "grant http: missing host"},

		{"define no name", `endpoint {
			define {
				route /a
			}
		}`, "define: missing argument"},
		{"define twice", `endpoint {
			define a {
				route /a
			}
			define a {
				route /b
			}
		}`, `define "a": defined twice`},
		{"define unknown option", `endpoint {
			define a {
				route /a
				handler x
			}
		}`, `define "a": unrecognized option "handler"`},
		{"example unknown option", `endpoint {
			define a {
				route /a
				example e {
					verb GET
				}
			}
		}`, `example "e": unrecognized option "verb"`},
		{"example bad status", `endpoint {
			define a {
				route /a
				example e {
					status soon
				}
			}
		}`, `status: "soon" is not a number`},
		{"example bad json", `endpoint {
			define a {
				route /a
				example e {
					json {nope
				}
			}
		}`, `is not valid JSON`},
		{"example header without value", `endpoint {
			define a {
				route /a
				example e {
					header X-A
				}
			}
		}`, `header: takes a name and a value`},
		{"define route twice", `endpoint {
			define a {
				route /a
				route /b
			}
		}`, "route: already set"},
		{"define route twice", `endpoint {
			define a {
				route /a /b
				route /c
			}
		}`, `route: already set`},
		{"define route missing", `endpoint {
			define a {
				route
			}
		}`, `route: missing argument`},
		{"define roles missing", `endpoint {
			define a {
				route /a
				roles
			}
		}`, "roles: missing argument"},
		{"define cors missing", `endpoint {
			define a {
				route /a
				cors
			}
		}`, "cors: missing argument"},
		{"define inactive arg", `endpoint {
			define a {
				route /a
				inactive yes
			}
		}`, `inactive: takes no arguments, got "yes"`},
		{"define inactive twice", `endpoint {
			define a {
				route /a
				inactive
				inactive
			}
		}`, "inactive: already set"},
		{"define code empty", `endpoint {
			define a {
				route /a
				code ""
			}
		}`, "code: empty value"},
		{"define code_file missing", `endpoint {
			define a {
				route /a
				code_file
			}
		}`, "code_file: missing argument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseTest(t, tt.input, nil)
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q does not contain %q", err, tt.want)
			}
			if !strings.Contains(err.Error(), "Testfile:") {
				t.Errorf("error %q names no file and line", err)
			}
		})
	}
}

func TestParseGlobalMerge(t *testing.T) {
	first, err := parseGlobal(caddyfile.NewTestDispenser(`endpoint {
		timeout 2s
		secret key a
		user bot
		define a {
			route /a
		}
	}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		input   string
		want    string
		wantCfg *config.App
	}{
		{"adds", `endpoint {
			max_steps 7
			secret other b
			user alice
			define b {
				route /b
			}
		}`, "", &config.App{
			Timeout:  caddy.Duration(2 * time.Second),
			MaxSteps: 7,
			Secrets:  map[string]string{"key": "a", "other": "b"},
			Users:    map[string]*pipeline.User{"bot": {}, "alice": {}},
		}},
		{"scalar again", `endpoint {
			timeout 3s
		}`, "timeout: already set", nil},
		{"secret again", `endpoint {
			secret key b
		}`, `secret "key": defined twice`, nil},
		{"user again", `endpoint {
			user bot
		}`, `user "bot": defined twice`, nil},
		{"define again", `endpoint {
			define a {
				route /c
			}
		}`, `define "a": defined twice`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := parseTest(t, tt.input, first)
			if tt.want != "" {
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("error = %v, want %q", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, e := range cfg.Endpoints {
				names = append(names, e.Name)
			}
			if !reflect.DeepEqual(names, []string{"a", "b"}) {
				t.Errorf("endpoints = %v, want [a b]", names)
			}
			cfg.Endpoints = nil
			if !reflect.DeepEqual(cfg, tt.wantCfg) {
				t.Errorf("merged config = %+v, want %+v", cfg, tt.wantCfg)
			}
		})
	}

	if _, err := parseGlobal(caddyfile.NewTestDispenser(`endpoint`), "not an app"); err == nil {
		t.Error("merging into a foreign value: no error")
	}
}

func TestParseGlobalValues(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		input string
		check func(t *testing.T, cfg *config.App)
	}{
		{"sizes are humanize sizes", `endpoint {
			max_body_size 1MiB
		}`, func(t *testing.T, cfg *config.App) {
			if cfg.MaxBodySize != 1<<20 {
				t.Errorf("max_body_size = %d, want %d", cfg.MaxBodySize, 1<<20)
			}
		}},
		{"SI sizes", `endpoint {
			max_body_size 1.5kb
		}`, func(t *testing.T, cfg *config.App) {
			if cfg.MaxBodySize != 1500 {
				t.Errorf("max_body_size = %d, want 1500", cfg.MaxBodySize)
			}
		}},
		{"bare bytes", `endpoint {
			max_body_size 4096
		}`, func(t *testing.T, cfg *config.App) {
			if cfg.MaxBodySize != 4096 {
				t.Errorf("max_body_size = %d, want 4096", cfg.MaxBodySize)
			}
		}},
		{"day durations", `endpoint {
			sync_interval 1d
		}`, func(t *testing.T, cfg *config.App) {
			if time.Duration(cfg.SyncInterval) != 24*time.Hour {
				t.Errorf("sync_interval = %v, want 24h", time.Duration(cfg.SyncInterval))
			}
		}},
		{"placeholders kept verbatim", `endpoint {
			secret key {env.KEY}
			secret mixed pre-{env.A}-{vars.b}
		}`, func(t *testing.T, cfg *config.App) {
			want := map[string]string{"key": "{env.KEY}", "mixed": "pre-{env.A}-{vars.b}"}
			if !reflect.DeepEqual(cfg.Secrets, want) {
				t.Errorf("secrets = %v, want %v", cfg.Secrets, want)
			}
		}},
		{"relative paths resolve against the Caddyfile directory", `endpoint {
			define a {
				route /a
				code_file snippets/a.star
				schema_file ./s/../a.json
			}
		}`, func(t *testing.T, cfg *config.App) {
			// NewTestDispenser names the file "Testfile", in the working directory.
			e := cfg.Endpoints[0]
			if want := filepath.Join(wd, "snippets", "a.star"); e.CodeFile != want {
				t.Errorf("code_file = %q, want %q", e.CodeFile, want)
			}
			if want := filepath.Join(wd, "a.json"); e.SchemaFile != want {
				t.Errorf("schema_file = %q, want %q", e.SchemaFile, want)
			}
		}},
		{"absolute paths kept", `endpoint {
			define a {
				route /a
				code_file /srv/a.star
			}
		}`, func(t *testing.T, cfg *config.App) {
			if got := cfg.Endpoints[0].CodeFile; got != "/srv/a.star" {
				t.Errorf("code_file = %q, want /srv/a.star", got)
			}
		}},
		{"method is case-insensitive", `endpoint {
			define a {
				route /a
				method post
			}
		}`, func(t *testing.T, cfg *config.App) {
			if got := cfg.Endpoints[0].RequestMethod; got != "POST" {
				t.Errorf("request_method = %q, want POST", got)
			}
		}},
		{"repeated roles and grants are merged", `endpoint {
			user u {
				role a b
				role b c
				grant secret x
				grant secret y x
				grant http h
				grant http h
			}
			define d {
				route /d
				roles a
				roles a b
				cors *
				cors * https://x.example
			}
		}`, func(t *testing.T, cfg *config.App) {
			u := cfg.Users["u"]
			if !reflect.DeepEqual(u.Roles, []string{"a", "b", "c"}) {
				t.Errorf("roles = %v", u.Roles)
			}
			if !reflect.DeepEqual(u.Grants.Secrets, []string{"x", "y"}) {
				t.Errorf("grant secrets = %v", u.Grants.Secrets)
			}
			if !reflect.DeepEqual(u.Grants.HTTP, []string{"h"}) {
				t.Errorf("grant http = %v", u.Grants.HTTP)
			}
			e := cfg.Endpoints[0]
			if !reflect.DeepEqual(e.AllowedRoles, []string{"a", "b"}) {
				t.Errorf("allowed_roles = %v", e.AllowedRoles)
			}
			if !reflect.DeepEqual(e.CORSOrigins, []string{"*", "https://x.example"}) {
				t.Errorf("cors_origins = %v", e.CORSOrigins)
			}
		}},
		{"empty block", `endpoint {
		}`, func(t *testing.T, cfg *config.App) {
			if !reflect.DeepEqual(cfg, new(config.App)) {
				t.Errorf("config = %+v, want empty", cfg)
			}
		}},
		{"inline code keeps text verbatim", "endpoint {\n" +
			"define a {\n" +
			"route /a\n" +
			"code `x = \"{env.A}\"\n\tresult = {}`\n" +
			"}\n}", func(t *testing.T, cfg *config.App) {
			if got, want := cfg.Endpoints[0].CodeSnippet, "x = \"{env.A}\"\n\tresult = {}"; got != want {
				t.Errorf("code_snippet = %q, want %q", got, want)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := parseTest(t, tt.input, nil)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, cfg)
		})
	}
}
