// Package openapi describes a live table as an OpenAPI 3.1 document.
package openapi

import (
	"encoding/json"
	"net/url"
	"strconv"
	"strings"

	"github.com/caddy-endpoint/endpoint/registry"
	"github.com/caddy-endpoint/endpoint/schema"
)

// Document describes the endpoints of t as an OpenAPI 3.1 document:
// paths, methods, path parameters, body schemas and auth.
func Document(t *registry.Table) map[string]any {
	paths := map[string]map[string]any{}
	schemas := map[string]any{}
	for _, e := range t.Entries() {
		rec := e.Record
		for ri, route := range rec.Routes {
			for _, method := range rec.RequestMethods {
				id := operationID(rec, ri, method)
				// OpenAPI has no "rest of the path" parameter: {rest...} is {rest}
				path := strings.ReplaceAll(route, "...}", "}")
				if paths[path] == nil {
					paths[path] = map[string]any{}
				}
				paths[path][strings.ToLower(method)] = operation(e, route, method, id, schemas)
			}
		}
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{
			"title":   "caddy-endpoint live endpoints",
			"version": revisionLabel(t.Revision()),
		},
		"paths": paths,
		"components": map[string]any{
			"schemas": schemas,
			"securitySchemes": map[string]any{
				"basicAuth":  map[string]any{"type": "http", "scheme": "basic"},
				"bearerAuth": map[string]any{"type": "http", "scheme": "bearer"},
			},
		},
	}
}

// operationID names the operation of a record's route number ri and
// method: the record's name, with the method and the route's number when
// the record has more than one operation.
func operationID(rec *registry.Record, ri int, method string) string {
	if len(rec.Routes)*len(rec.RequestMethods) <= 1 {
		return rec.Name
	}
	id := rec.Name + "_" + strings.ToLower(method)
	if len(rec.Routes) > 1 {
		id += "_" + strconv.Itoa(ri)
	}
	return id
}

// operation describes one (route, method) of an entry; a JSON body schema
// goes to schemas, once per record.
func operation(e *registry.Entry, route, method, id string, schemas map[string]any) map[string]any {
	rec := e.Record
	responses := map[string]any{
		"default": map[string]any{"description": "the snippet's answer"},
	}
	op := map[string]any{
		"operationId": id,
		"responses":   responses,
		"security":    security(rec.AuthType),
	}
	if rec.RouteGroup != "" {
		op["tags"] = []string{rec.RouteGroup}
	}
	if params := pathParams(e, route); params != nil {
		op["parameters"] = params
	}
	bodyExamples := examples(e, route, method, responses)
	if rec.RequestContentType != "" && registry.BodyMethod(method) {
		media, note := bodyMedia(rec, bodyExamples, schemas)
		if note != "" {
			op["description"] = note
		}
		op["requestBody"] = map[string]any{
			"required": true,
			"content":  map[string]any{rec.RequestContentType: media},
		}
	}
	return op
}

// pathParams are the path parameters of route; nil when it has none.
func pathParams(e *registry.Entry, route string) []any {
	var params []any
	for _, name := range e.ParamNames(route) {
		params = append(params, map[string]any{
			"name": name, "in": "path", "required": true,
			"schema": map[string]any{"type": "string"},
		})
	}
	return params
}

// examples adds the record's examples of (route, method) to responses,
// and returns their request bodies (nil when none has one).
func examples(e *registry.Entry, route, method string, responses map[string]any) map[string]any {
	rec := e.Record
	var bodyExamples map[string]any
	for _, ex := range rec.Examples {
		req := registry.ExampleRequestOf(rec, ex)
		if req.Method != method {
			continue
		}
		if rt, _, ok := e.Match(req.Path); !ok || rt.Pattern != route {
			continue
		}
		addExample(responses, &bodyExamples, ex)
	}
	return bodyExamples
}

// bodyMedia describes the request body of rec: its schema (a JSON Schema
// becomes a component of schemas, its references rewritten to resolve
// from the document; an XSD a string) and examples. note explains what
// OpenAPI cannot say, or is "".
func bodyMedia(rec *registry.Record, bodyExamples map[string]any, schemas map[string]any) (media map[string]any, note string) {
	media = map[string]any{}
	if bodyExamples != nil {
		media["examples"] = bodyExamples
	}
	switch {
	case rec.RequestContentSchema == "":
	case rec.RequestContentType == "application/json":
		base := "#/components/schemas/" + rec.Name
		if _, done := schemas[rec.Name]; done {
			media["schema"] = map[string]any{"$ref": base}
		} else if doc, err := schema.Document(rec.RequestContentSchema); err == nil {
			schemas[rec.Name] = relocate(doc, base)
			media["schema"] = map[string]any{"$ref": base}
		}
	default:
		media["schema"] = map[string]any{"type": "string", "description": "an XML document valid against the endpoint's XSD"}
		note = "The request body is XML validated against the endpoint's XSD. " +
			"OpenAPI cannot express an XSD, so the body is documented as an application/xml string."
	}
	return media, note
}

// security is the security requirement of an auth type.
func security(authType string) []any {
	switch authType {
	case registry.AuthPublic:
		return []any{}
	case registry.AuthBearer:
		return []any{map[string]any{"bearerAuth": []string{}}}
	default:
		return []any{map[string]any{"basicAuth": []string{}}, map[string]any{"bearerAuth": []string{}}}
	}
}

// relocate copies a body schema for the place base (a URI fragment such
// as "#/components/schemas/orders") and rewrites its schema-internal
// references to resolve from the document there: "#" and "#/$defs/n"
// become base and base+"/$defs/n", a "#name" anchor becomes the pointer
// of the subschema that declares it. $id is dropped, since it would make
// the references resolve against another base; a reference inside an
// embedded resource (a subschema with $id) is rewritten against that
// subschema. Values of const, enum, default and examples are data and
// are copied as they are.
func relocate(doc any, base string) any {
	anchors := map[string]string{}
	collectAnchors(doc, base, anchors)
	return rewriteRefs(doc, base, base, anchors)
}

// dataKeywords hold instance values, not subschemas.
var dataKeywords = map[string]bool{"const": true, "enum": true, "default": true, "examples": true}

func collectAnchors(v any, ptr string, anchors map[string]string) {
	switch v := v.(type) {
	case map[string]any:
		for _, k := range []string{"$anchor", "$dynamicAnchor"} {
			if a, ok := v[k].(string); ok {
				anchors["#"+a] = ptr
			}
		}
		for k, sub := range v {
			if !dataKeywords[k] {
				collectAnchors(sub, ptr+"/"+escapePointer(k), anchors)
			}
		}
	case []any:
		for i, sub := range v {
			collectAnchors(sub, ptr+"/"+strconv.Itoa(i), anchors)
		}
	}
}

func rewriteRefs(v any, ptr, resource string, anchors map[string]string) any {
	switch v := v.(type) {
	case map[string]any:
		if _, ok := v["$id"].(string); ok {
			resource = ptr
		}
		out := make(map[string]any, len(v))
		for k, sub := range v {
			switch {
			case k == "$id":
				continue
			case dataKeywords[k]:
				out[k] = sub
			case k == "$ref" || k == "$dynamicRef":
				out[k] = sub
				if ref, ok := sub.(string); ok {
					if target, ok := anchors[ref]; ok {
						out[k] = target
					} else if ref == "#" || strings.HasPrefix(ref, "#/") {
						out[k] = resource + ref[1:]
					}
				}
			default:
				out[k] = rewriteRefs(sub, ptr+"/"+escapePointer(k), resource, anchors)
			}
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, sub := range v {
			out[i] = rewriteRefs(sub, ptr+"/"+strconv.Itoa(i), resource, anchors)
		}
		return out
	}
	return v
}

// escapePointer escapes a JSON Pointer token ("~" and "/") and what a URI
// fragment may not hold as is.
func escapePointer(tok string) string {
	tok = strings.ReplaceAll(tok, "~", "~0")
	tok = strings.ReplaceAll(tok, "/", "~1")
	return url.PathEscape(tok)
}

// addExample shows an example as a response example of its status and,
// when it sends a body, as a request body example.
func addExample(responses map[string]any, bodyExamples *map[string]any, ex registry.Example) {
	status := ex.Expect.Status
	if status == 0 {
		status = 200
	}
	code := strconv.Itoa(status)
	resp, _ := responses[code].(map[string]any)
	if resp == nil {
		resp = map[string]any{"description": "example answer"}
		responses[code] = resp
	}
	var value any
	ct := ex.Expect.Headers["Content-Type"]
	for k, v := range ex.Expect.Headers {
		if strings.EqualFold(k, "content-type") {
			ct = v
		}
	}
	switch {
	case len(ex.Expect.JSON) > 0:
		value = json.RawMessage(ex.Expect.JSON)
		if ct == "" {
			ct = "application/json"
		}
	case ex.Expect.Body != nil:
		value = *ex.Expect.Body
		if ct == "" {
			ct = "text/plain"
		}
	}
	if value != nil {
		content, _ := resp["content"].(map[string]any)
		if content == nil {
			content = map[string]any{}
			resp["content"] = content
		}
		media, _ := content[ct].(map[string]any)
		if media == nil {
			media = map[string]any{"examples": map[string]any{}}
			content[ct] = media
		}
		media["examples"].(map[string]any)[ex.Name] = map[string]any{"value": value}
	}
	if len(ex.Request.Body) > 0 && string(ex.Request.Body) != "null" {
		if *bodyExamples == nil {
			*bodyExamples = map[string]any{}
		}
		(*bodyExamples)[ex.Name] = map[string]any{"value": json.RawMessage(ex.Request.Body)}
	}
}

func revisionLabel(rev int64) string {
	return "revision " + strconv.FormatInt(rev, 10)
}
