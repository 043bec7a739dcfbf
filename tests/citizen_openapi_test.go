package tests

import (
	"strings"
	"testing"

	"github.com/caddy-endpoint/endpoint/openapi/openapitest"
)

// TestOpenAPIDocumentResolves: the document a real Caddy serves is valid
// OpenAPI 3.1 and each of its references resolves, including a body
// schema's own $defs; an XSD body is an application/xml string, said so.
func TestOpenAPIDocumentResolves(t *testing.T) {
	c := startCaddy(t, config{App: appUsers})
	c.create(schemaRecord("with-defs", "/with-defs", "application/json", `{
		"$defs": {"n": {"type": "integer"}},
		"type": "object", "properties": {"n": {"$ref": "#/$defs/n"}, "self": {"$ref": "#"}}}`, `result = {"payload": 1}`))
	c.create(schemaRecord("xml-note", "/xml-note", "application/xml",
		`<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"><xs:element name="note" type="xs:string"/></xs:schema>`, `result = {"payload": 1}`))
	c.sync()
	raw := expect(t, c.admin("GET", "/endpoint/openapi.json", nil), 200).Body
	if err := openapitest.Check(raw); err != nil {
		t.Fatalf("%v\n%s", err, raw)
	}
	refs, _ := openapitest.Refs(raw)
	if !strings.Contains(strings.Join(refs, " "), "#/components/schemas/with-defs/$defs/n") {
		t.Fatalf("the $defs reference was not rewritten: %v", refs)
	}
	doc := answer{Body: raw}.JSON(t)
	op := doc["paths"].(map[string]any)["/xml-note"].(map[string]any)["post"].(map[string]any)
	media := op["requestBody"].(map[string]any)["content"].(map[string]any)["application/xml"].(map[string]any)
	if media["schema"].(map[string]any)["type"] != "string" || !strings.Contains(op["description"].(string), "XSD") {
		t.Fatalf("XSD operation: %v", op)
	}
}
