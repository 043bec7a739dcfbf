package registry

import (
	"context"
	"slices"
	"strings"
	"testing"
)

func TestCreateValidation(t *testing.T) {
	long := strings.Repeat("a", 129)
	tests := []struct {
		name   string
		body   string
		fields []string // nil: accepted
	}{
		{"minimal", rec("ok", "/ok"), nil},
		{"dots dashes underscores", rec("a.b-c_d", "/x"), nil},
		{"128 chars", rec(strings.Repeat("a", 128), "/x"), nil},
		{"name missing", `{"route": "/x", "code_snippet": "c"}`, []string{"name"}},
		{"name with slash", rec("a/b", "/x"), []string{"name"}},
		{"name with space", rec("a b", "/x"), []string{"name"}},
		{"name non-ASCII", rec("café", "/x"), []string{"name"}},
		{"name leading dot", rec(".a", "/x"), []string{"name"}},
		{"name too long", rec(long, "/x"), []string{"name"}},

		{"route missing", `{"name": "a", "code_snippet": "c"}`, []string{"routes"}},
		{"route relative", rec("a", "x"), []string{"routes[0]"}},
		{"route root", rec("a", "/"), []string{"routes[0]"}},
		{"route dotdot", rec("a", "/a/../b"), []string{"routes[0]"}},
		{"route encoded dotdot", rec("a", "/a/%2e%2e/b"), []string{"routes[0]"}},
		{"route percent", rec("a", "/a%20b"), []string{"routes[0]"}},
		{"route double slash", rec("a", "/a//b"), []string{"routes[0]"}},
		{"route query", rec("a", "/a?b=1"), []string{"routes[0]"}},
		{"route fragment", rec("a", "/a#b"), []string{"routes[0]"}},
		{"route trailing slash", rec("a", "/a/"), []string{"routes[0]"}},
		{"route dot segment", rec("a", "/a/./b"), []string{"routes[0]"}},
		{"route space", rec("a", "/a b"), []string{"routes[0]"}},
		{"route non-ASCII", rec("a", "/café"), []string{"routes[0]"}},
		{"route params", rec("a", "/items/{id}/parts/{part}"), nil},
		{"route rest", rec("a", "/files/{path...}"), nil},
		{"route rest not last", rec("a", "/files/{path...}/x"), []string{"routes[0]"}},
		{"route param not identifier", rec("a", "/items/{1d}"), []string{"routes[0]"}},
		{"route param empty", rec("a", "/items/{}"), []string{"routes[0]"}},
		{"route param duplicate", rec("a", "/a/{id}/b/{id}"), []string{"routes[0]"}},
		{"route param partial segment", rec("a", "/a/x{id}"), []string{"routes[0]"}},
		{"route dollar", rec("a", "/a/{$}"), []string{"routes[0]"}},

		{"group 64", rec("a", "/x", "route_group", strings.Repeat("g", 64)), nil},
		{"group 65", rec("a", "/x", "route_group", strings.Repeat("g", 65)), []string{"route_group"}},

		{"auth bearer", rec("a", "/x", "auth_type", "bearer"), nil},
		{"auth unknown", rec("a", "/x", "auth_type", "basic"), []string{"auth_type"}},
		{"public without user", rec("a", "/x", "auth_type", "public"), []string{"exec_as_user"}},
		{"public with user", rec("a", "/x", "auth_type", "public", "exec_as_user", "bot"), nil},
		{"unknown user", rec("a", "/x", "exec_as_user", "mallory"), []string{"exec_as_user"}},
		{"roles", rec("a", "/x", "allowed_roles", `["staff", "ops"]`), nil},
		{"empty role", rec("a", "/x", "allowed_roles", `[""]`), []string{"allowed_roles[0]"}},

		{"method lower case", rec("a", "/x", "request_method", "get"), []string{"request_methods[0]"}},
		{"method HEAD", rec("a", "/x", "request_method", "HEAD"), []string{"request_methods[0]"}},
		{"method OPTIONS", rec("a", "/x", "request_methods", `["GET", "OPTIONS"]`), []string{"request_methods[1]"}},
		{"method repeated", rec("a", "/x", "request_methods", `["GET", "DELETE", "GET"]`), []string{"request_methods[2]"}},
		{"methods empty", rec("a", "/x", "request_methods", `[]`), []string{"request_methods"}},
		{"PATCH without content type", rec("a", "/x", "request_method", "PATCH"), []string{"request_content_type"}},
		{"both route forms", `{"name": "a", "route": "/a", "routes": ["/b"], "code_snippet": "c"}`, []string{"route"}},
		{"both method forms", `{"name": "a", "route": "/a", "request_method": "GET", "request_methods": ["GET"], "code_snippet": "c"}`, []string{"request_method"}},
		{"routes empty", rec("a", "/x", "routes", `[]`, "route", ""), []string{"routes"}},
		{"17 routes", `{"name": "a", "routes": ["/1","/2","/3","/4","/5","/6","/7","/8","/9","/10","/11","/12","/13","/14","/15","/16","/17"], "code_snippet": "c"}`, []string{"routes"}},
		{"routes repeated", `{"name": "a", "routes": ["/a", "/b", "/a"], "code_snippet": "c"}`, []string{"routes[2]"}},
		{"own routes conflict", `{"name": "a", "routes": ["/a/{x}", "/a/{y}"], "code_snippet": "c"}`, []string{"routes[1]"}},
		{"own routes overlap", `{"name": "a", "routes": ["/a/{x}/b", "/a/c/{y}"], "code_snippet": "c"}`, []string{"routes[1]"}},
		{"bad second route", `{"name": "a", "routes": ["/a", "b"], "code_snippet": "c"}`, []string{"routes[1]"}},
		{"schema on GET only", `{"name": "a", "route": "/a", "request_content_type": "application/json", "request_content_schema": "{}", "code_snippet": "c"}`, []string{"request_content_schema"}},
		{"DELETE", rec("a", "/x", "request_method", "DELETE"), nil},
		{"POST without type", rec("a", "/x", "request_method", "POST"), []string{"request_content_type"}},
		{"PUT without type", rec("a", "/x", "request_method", "PUT"), []string{"request_content_type"}},
		{"POST csv", rec("a", "/x", "request_method", "POST", "request_content_type", "text/csv"), nil},
		{"unknown type", rec("a", "/x", "request_method", "POST", "request_content_type", "image/png"), []string{"request_content_type"}},
		{"type with params", rec("a", "/x", "request_method", "POST", "request_content_type", "application/json; charset=utf-8"), []string{"request_content_type"}},

		{"json schema", rec("a", "/x", "request_method", "POST", "request_content_type", "application/json", "request_content_schema", "type: object"), nil},
		{"xml schema", rec("a", "/x", "request_method", "PUT", "request_content_type", "application/xml", "request_content_schema", "<xs:schema/>"), nil},
		{"schema on GET", rec("a", "/x", "request_content_type", "application/json", "request_content_schema", "x: 1"), []string{"request_content_schema"}},
		{"schema on csv", rec("a", "/x", "request_method", "POST", "request_content_type", "text/csv", "request_content_schema", "x: 1"), []string{"request_content_schema"}},
		{"schema invalid", rec("a", "/x", "request_method", "POST", "request_content_type", "application/json", "request_content_schema", "bad"), []string{"request_content_schema"}},

		{"exec mode unknown", rec("a", "/x", "exec_mode", "python"), []string{"exec_mode"}},
		{"other exec mode without code", `{"name": "a", "route": "/x", "exec_mode": "other"}`, nil},
		{"code missing", `{"name": "a", "route": "/x"}`, []string{"code_snippet"}},
		{"code blank", `{"name": "a", "route": "/x", "code_snippet": "  \n"}`, []string{"code_snippet"}},
		{"code syntax error", rec("a", "/x", "code_snippet", "syntax error"), []string{"code_snippet"}},

		{"cors star", rec("a", "/x", "cors_origins", `["*"]`), nil},
		{"cors origins", rec("a", "/x", "cors_origins", `["https://app.example.com", "http://localhost:8080", "http://[::1]:3000"]`), nil},
		{"cors path", rec("a", "/x", "cors_origins", `["https://a.example/"]`), []string{"cors_origins[0]"}},
		{"cors no scheme", rec("a", "/x", "cors_origins", `["*", "example.com"]`), []string{"cors_origins[1]"}},
		{"cors userinfo", rec("a", "/x", "cors_origins", `["https://u@a.example"]`), []string{"cors_origins[0]"}},
		{"cors bad port", rec("a", "/x", "cors_origins", `["https://a.example:99999"]`), []string{"cors_origins[0]"}},
		{"cors query", rec("a", "/x", "cors_origins", `["https://a.example?x"]`), []string{"cors_origins[0]"}},

		{"archived", rec("a", "/x", "active", "false"), nil},
		{
			"every problem at once",
			rec("a b", "/a/../b", "auth_type", "public", "request_method", "POST", "code_snippet", "syntax error"),
			[]string{"name", "routes[0]", "exec_as_user", "request_content_type", "code_snippet"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			got, err := f.r.Create(context.Background(), []byte(tt.body))
			if tt.fields == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if got.Version != 1 || got.UpdatedAt == nil || got.SyncState != StateToSync {
					t.Errorf("read-only fields not set: %+v", got)
				}
				return
			}
			if kindOf(err) != KindInvalid {
				t.Fatalf("err = %v, want KindInvalid", err)
			}
			fields := fieldsOf(err)
			for _, want := range tt.fields {
				if !slices.Contains(fields, want) {
					t.Errorf("details %v lack field %q", detailsOf(err), want)
				}
			}
			if len(fields) != len(tt.fields) {
				t.Errorf("details %v, want fields %v", detailsOf(err), tt.fields)
			}
			if len(f.r.List(Filter{})) != 0 {
				t.Error("a refused record was stored")
			}
		})
	}
}

func TestCompileErrorKeepsPosition(t *testing.T) {
	f := newFixture(t)
	_, err := f.r.Create(context.Background(), []byte(rec("a", "/a", "code_snippet", "syntax error")))
	ds := detailsOf(err)
	if len(ds) != 1 || ds[0].Field != "code_snippet" || !strings.HasPrefix(ds[0].Message, "1:5: ") {
		t.Fatalf("details = %+v", ds)
	}
}

func TestDefaults(t *testing.T) {
	f := newFixture(t)
	got := f.create(rec("a", "/a"))
	if got.AuthType != AuthUser || len(got.RequestMethods) != 1 || got.RequestMethods[0] != "GET" || got.Route != "" || len(got.Routes) != 1 || got.ExecMode != "code" || !got.IsActive() || got.Active == nil {
		t.Errorf("defaults not filled: %+v", got)
	}
}

func TestDecodeStrict(t *testing.T) {
	tests := []struct {
		name   string
		body   string
		fields []string
	}{
		{"not JSON", `{"name": `, nil},
		{"array", `[]`, nil},
		{"null", `null`, nil},
		{"string", `"x"`, nil},
		{"trailing data", `{"name": "a"} {}`, nil},
		{"unknown field", `{"name": "a", "route": "/a", "code_snippet": "c", "colour": 1}`, []string{"colour"}},
		{"wrong case", `{"Name": "a", "route": "/a", "code_snippet": "c"}`, []string{"Name"}},
		{"wrong types", `{"name": 1, "route": "/a", "active": "yes", "allowed_roles": [1], "cors_origins": "*"}`,
			[]string{"active", "allowed_roles", "cors_origins", "name"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			_, err := f.r.Create(context.Background(), []byte(tt.body))
			if kindOf(err) != KindInvalid {
				t.Fatalf("err = %v, want KindInvalid", err)
			}
			if got := fieldsOf(err); !slices.Equal(got, tt.fields) {
				t.Errorf("fields = %v, want %v (%v)", got, tt.fields, err)
			}
		})
	}
}

func TestReadOnlyFieldsIgnored(t *testing.T) {
	f := newFixture(t)
	got := f.create(`{"name": "a", "route": "/a", "code_snippet": "c", "version": "x", "sync_state": "in_sync", "updated_at": 5}`)
	if got.Version != 1 || got.SyncState != StateToSync {
		t.Errorf("read-only fields taken from the body: %+v", got)
	}
}
