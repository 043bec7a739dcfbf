// Package openapi describes a live table as an OpenAPI 3.1 document.
package openapi

import (
	"strconv"
	"strings"

	"github.com/caddy-endpoint/endpoint/registry"
	"github.com/caddy-endpoint/endpoint/schema"
)

// Document describes the endpoints of t as an OpenAPI 3.1 document:
// paths, methods, path parameters, body schemas and auth.
func Document(t *registry.Table) map[string]any {
	paths := map[string]map[string]any{}
	for _, e := range t.Entries() {
		rec := e.Record
		// OpenAPI has no "rest of the path" parameter: {rest...} is {rest}
		path := strings.ReplaceAll(rec.Route, "...}", "}")
		op := map[string]any{
			"operationId": rec.Name,
			"responses": map[string]any{
				"default": map[string]any{"description": "the snippet's answer"},
			},
		}
		if rec.RouteGroup != "" {
			op["tags"] = []string{rec.RouteGroup}
		}
		var params []any
		for _, name := range e.ParamNames() {
			params = append(params, map[string]any{
				"name": name, "in": "path", "required": true,
				"schema": map[string]any{"type": "string"},
			})
		}
		if params != nil {
			op["parameters"] = params
		}
		if rec.RequestContentType != "" {
			media := map[string]any{}
			if rec.RequestContentSchema != "" {
				if rec.RequestContentType == "application/json" {
					if doc, err := schema.Document(rec.RequestContentSchema); err == nil {
						media["schema"] = doc
					}
				} else {
					media["schema"] = map[string]any{"type": "string", "description": "validated against the endpoint's XSD"}
				}
			}
			op["requestBody"] = map[string]any{
				"required": true,
				"content":  map[string]any{rec.RequestContentType: media},
			}
		}
		switch rec.AuthType {
		case registry.AuthPublic:
			op["security"] = []any{}
		case registry.AuthBearer:
			op["security"] = []any{map[string]any{"bearerAuth": []string{}}}
		default:
			op["security"] = []any{map[string]any{"basicAuth": []string{}}, map[string]any{"bearerAuth": []string{}}}
		}
		if paths[path] == nil {
			paths[path] = map[string]any{}
		}
		paths[path][strings.ToLower(rec.RequestMethod)] = op
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{
			"title":   "caddy-endpoint live endpoints",
			"version": revisionLabel(t.Revision()),
		},
		"paths": paths,
		"components": map[string]any{
			"securitySchemes": map[string]any{
				"basicAuth":  map[string]any{"type": "http", "scheme": "basic"},
				"bearerAuth": map[string]any{"type": "http", "scheme": "bearer"},
			},
		},
	}
}

func revisionLabel(rev int64) string {
	return "revision " + strconv.FormatInt(rev, 10)
}
