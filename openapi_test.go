package endpoint

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/caddy-endpoint/endpoint/openapi"
	"github.com/caddy-endpoint/endpoint/openapi/openapitest"
)

func TestOpenAPI(t *testing.T) {
	app, _ := newTestApp(t, map[string]any{
		"users": map[string]any{"bot": map[string]any{}},
		"endpoints": []rec{
			{"name": "get-item", "route": "/items/{id}", "route_group": "shop",
				"code_snippet": `result = {}`},
			{"name": "delete-item", "route": "/items/{id}", "request_method": "DELETE", "auth_type": "bearer",
				"code_snippet": `result = {}`},
			{"name": "create-item", "route": "/items", "request_method": "POST", "auth_type": "bearer",
				"request_content_type": "application/json", "request_content_schema": orderSchemaYAML,
				"code_snippet": `result = {}`},
			{"name": "files", "route": "/files/{dir}/{rest...}", "auth_type": "public", "exec_as_user": "bot",
				"code_snippet": `result = {}`},
			{"name": "note", "route": "/notes", "request_method": "PUT", "auth_type": "public", "exec_as_user": "bot",
				"request_content_type":   "application/xml",
				"request_content_schema": `<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"><xs:element name="note" type="xs:string"/></xs:schema>`,
				"code_snippet":           `result = {}`},
			{"name": "upload", "route": "/upload", "request_method": "POST", "auth_type": "public", "exec_as_user": "bot",
				"request_content_type": "text/csv", "code_snippet": `result = {}`},
			{"name": "archived", "route": "/old", "active": false, "code_snippet": `result = {}`},
		},
	})

	// the document is what the admin API encodes: check its JSON form
	raw, err := json.Marshal(openapi.Document(app.Registry().Live()))
	if err != nil {
		t.Fatalf("encoding the document: %v", err)
	}
	var doc struct {
		OpenAPI string `json:"openapi"`
		Info    struct {
			Title   string `json:"title"`
			Version string `json:"version"`
		} `json:"info"`
		Paths      map[string]map[string]map[string]any `json:"paths"`
		Components struct {
			SecuritySchemes map[string]map[string]any `json:"securitySchemes"`
		} `json:"components"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" || doc.Info.Title == "" || !strings.HasPrefix(doc.Info.Version, "revision ") {
		t.Errorf("header: openapi %q, info %+v", doc.OpenAPI, doc.Info)
	}
	if doc.Components.SecuritySchemes["basicAuth"]["scheme"] != "basic" || doc.Components.SecuritySchemes["bearerAuth"]["scheme"] != "bearer" {
		t.Errorf("security schemes %v", doc.Components.SecuritySchemes)
	}

	if err := openapitest.Check(raw); err != nil {
		t.Fatal(err)
	}
	var paths []string
	for p := range doc.Paths {
		paths = append(paths, p)
	}
	wantPaths := map[string][]string{
		"/items/{id}":         {"delete", "get"},
		"/items":              {"post"},
		"/files/{dir}/{rest}": {"get"},
		"/notes":              {"put"},
		"/upload":             {"post"},
	}
	if len(doc.Paths) != len(wantPaths) {
		t.Errorf("paths %v, want %d (no archived record, {rest...} written {rest})", paths, len(wantPaths))
	}
	for p, methods := range wantPaths {
		for _, m := range methods {
			if doc.Paths[p][m] == nil {
				t.Errorf("no operation %s %s; paths %v", m, p, paths)
			}
		}
	}

	js := func(v any) string {
		b, _ := json.Marshal(v)
		return string(b)
	}
	op := func(path, method string) map[string]any { return doc.Paths[path][method] }

	tests := []struct {
		name, path, method string
		field              string
		want               string // JSON of the field; "" means absent
	}{
		{"operation id", "/items/{id}", "get", "operationId", `"get-item"`},
		{"route group tag", "/items/{id}", "get", "tags", `["shop"]`},
		{"no tag without group", "/items", "post", "tags", ``},
		{"path parameter", "/items/{id}", "get", "parameters",
			`[{"in":"path","name":"id","required":true,"schema":{"type":"string"}}]`},
		{"rest parameter", "/files/{dir}/{rest}", "get", "parameters",
			`[{"in":"path","name":"dir","required":true,"schema":{"type":"string"}},{"in":"path","name":"rest","required":true,"schema":{"type":"string"}}]`},
		{"no parameters", "/items", "post", "parameters", ``},
		{"user auth", "/items/{id}", "get", "security", `[{"basicAuth":[]},{"bearerAuth":[]}]`},
		{"bearer auth", "/items/{id}", "delete", "security", `[{"bearerAuth":[]}]`},
		{"public", "/files/{dir}/{rest}", "get", "security", `[]`},
		{"JSON schema from YAML", "/items", "post", "requestBody",
			`{"content":{"application/json":{"schema":{"$ref":"#/components/schemas/create-item"}}},"required":true}`},
		{"XSD body", "/notes", "put", "requestBody",
			`{"content":{"application/xml":{"schema":{"description":"an XML document valid against the endpoint's XSD","type":"string"}}},"required":true}`},
		{"body without schema", "/upload", "post", "requestBody", `{"content":{"text/csv":{}},"required":true}`},
		{"no body for GET", "/items/{id}", "get", "requestBody", ``},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := op(tt.path, tt.method)
			if o == nil {
				t.Fatalf("no operation %s %s", tt.method, tt.path)
			}
			v, ok := o[tt.field]
			if tt.want == "" {
				if ok {
					t.Errorf("%s = %s, want it absent", tt.field, js(v))
				}
				return
			}
			var got, want any
			_ = json.Unmarshal([]byte(js(v)), &got)
			if err := json.Unmarshal([]byte(tt.want), &want); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s = %s, want %s", tt.field, js(v), tt.want)
			}
		})
	}
}

func TestOpenAPIEmpty(t *testing.T) {
	app, _ := newTestApp(t, map[string]any{})
	raw, err := json.Marshal(openapi.Document(app.Registry().Live()))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	_ = json.Unmarshal(raw, &doc)
	if paths, ok := doc["paths"].(map[string]any); !ok || len(paths) != 0 {
		t.Errorf("paths %v, want an empty object", doc["paths"])
	}
}

// TestOpenAPIRefsResolve: a body schema's own references ($defs, the root,
// anchors, an embedded resource) resolve from the document, which is
// valid OpenAPI 3.1.
func TestOpenAPIRefsResolve(t *testing.T) {
	app, _ := newTestApp(t, map[string]any{
		"users": map[string]any{"bot": map[string]any{}},
		"endpoints": []rec{
			{"name": "tree", "route": "/tree", "request_method": "POST", "auth_type": "public", "exec_as_user": "bot",
				"request_content_type": "application/json", "code_snippet": `result = {}`,
				"request_content_schema": `{
					"$id": "https://example.com/tree",
					"$defs": {
						"n": {"type": "integer"},
						"node": {"$anchor": "node", "type": "object", "properties": {
							"v": {"$ref": "#/$defs/n"}, "kids": {"type": "array", "items": {"$ref": "#"}}}},
						"inner": {"$id": "https://example.com/inner", "$defs": {"s": {"type": "string"}}, "$ref": "#/$defs/s"}
					},
					"type": "object",
					"properties": {"root": {"$ref": "#node"}, "label": {"$ref": "#/$defs/inner"}}
				}`},
		},
	})
	raw, err := json.Marshal(openapi.Document(app.Registry().Live()))
	if err != nil {
		t.Fatal(err)
	}
	if err := openapitest.Check(raw); err != nil {
		t.Fatalf("%v\n%s", err, raw)
	}
	refs, _ := openapitest.Refs(raw)
	want := map[string]bool{
		"#/components/schemas/tree":                     true,
		"#/components/schemas/tree/$defs/n":             true,
		"#/components/schemas/tree/$defs/node":          true,
		"#/components/schemas/tree/$defs/inner":         true,
		"#/components/schemas/tree/$defs/inner/$defs/s": true,
	}
	for _, r := range refs {
		delete(want, r)
	}
	if len(want) > 0 {
		t.Fatalf("references %v missing from %v", want, refs)
	}
	if strings.Contains(string(raw), `"$id"`) {
		t.Errorf("$id kept: %s", raw)
	}
}
