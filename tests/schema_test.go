package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const orderYAML = `type: object
required: [id, qty]
properties:
  id: {type: string, pattern: "^ORD-[0-9]+$"}
  qty: {type: integer, minimum: 1}
  when: {type: string, format: date}
  lines:
    type: array
    items: {type: integer}
`

const noteXSD = `<?xml version="1.0"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <xs:element name="note">
    <xs:complexType>
      <xs:sequence>
        <xs:element name="to" type="xs:string"/>
        <xs:element name="n" type="xs:integer"/>
      </xs:sequence>
    </xs:complexType>
  </xs:element>
</xs:schema>`

func schemaRecord(name, route, ct, schema, code string) map[string]any {
	r := publicRecord(name, route, code)
	r["request_method"] = "POST"
	r["request_content_type"] = ct
	r["request_content_schema"] = schema
	r["cors_origins"] = []string{"https://app.example"}
	return r
}

// TestSchemas: JSON Schema (YAML) and XSD bodies through a real Caddy,
// the 400 shape, CORS on 400, empty bodies, declared endpoints from files.
func TestSchemas(t *testing.T) {
	c := startCaddy(t, config{
		App: appUsers + `
		define declared-orders {
			route /declared
			method POST
			content_type application/json
			auth public
			exec_as bot
			schema_file schemas/order.yaml
			code_file snippets/echo.star
		}`,
		Files: map[string]string{
			"schemas/order.yaml": orderYAML,
			"snippets/echo.star": `result = {"payload": request.json()}`,
		},
	})
	c.create(schemaRecord("orders", "/orders", "application/json", orderYAML, `result = {"payload": request.json()["qty"] * 2}`))
	c.create(schemaRecord("notes", "/notes", "application/xml", noteXSD, `result = {"payload": len(request.body)}`))
	c.sync()

	post := func(path, ct, body string) answer {
		return do(t, "POST", c.HTTP+path, body, "Content-Type", ct, "Origin", "https://app.example")
	}
	if a := post("/orders", "application/json", `{"id": "ORD-1", "qty": 21}`); a.Status != 200 || string(a.Body) != "42" {
		t.Fatalf("valid JSON: %s", a)
	}
	a := expect(t, post("/orders", "application/json", `{"id": "X", "qty": 0, "lines": [1, "two"], "when": "not-a-date"}`), 400)
	if !strings.HasPrefix(a.Header.Get("Content-Type"), "application/json") || a.Header.Get("Access-Control-Allow-Origin") != "https://app.example" {
		t.Fatalf("400 headers: %v", a.Header)
	}
	body := string(a.Body)
	for _, want := range []string{`"loc":["body","id"]`, `"type":"pattern"`, `"loc":["body","qty"]`, `"type":"minimum"`, `"loc":["body","lines",1]`, `"type":"type"`, `"type":"format"`} {
		if !strings.Contains(body, want) {
			t.Errorf("400 body lacks %s: %s", want, body)
		}
	}
	for _, bad := range []string{``, `{"id": `, `[1,2`} {
		if a := post("/orders", "application/json", bad); a.Status != 400 || !strings.Contains(string(a.Body), "json_invalid") {
			t.Errorf("body %q: %s", bad, a)
		}
	}

	if a := post("/notes", "application/xml", `<note><to>ops</to><n>5</n></note>`); a.Status != 200 {
		t.Fatalf("valid XML: %s", a)
	}
	if a := post("/notes", "application/xml", `<note><to>ops</to><n>five</n></note>`); a.Status != 400 || !strings.Contains(string(a.Body), "xml_schema") {
		t.Fatalf("invalid XML: %s", a)
	}
	for _, bad := range []string{``, `<note>`, `not xml`} {
		if a := post("/notes", "application/xml", bad); a.Status != 400 || !strings.Contains(string(a.Body), "xml_invalid") {
			t.Errorf("body %q: %s", bad, a)
		}
	}

	// libxml2 printed nothing for the bad client XML above
	for _, noise := range []string{"parser error", "Schemas validity error", "namespace error"} {
		if strings.Contains(c.Logs(), noise) {
			t.Fatalf("libxml2 wrote to Caddy's output: %s", c.Logs())
		}
	}

	// declared from files
	if a := post("/declared", "application/json", `{"id": "ORD-7", "qty": 1}`); a.Status != 200 || !strings.Contains(string(a.Body), "ORD-7") {
		t.Fatalf("declared endpoint: %s", a)
	}
	expect(t, post("/declared", "application/json", `{"id": "ORD-7"}`), 400)
}

// TestSchemaHardening: $ref to a local file and XSD includes are refused
// at write time; XXE and billion-laughs bodies are refused; no byte of the
// local file reaches an answer or the log.
func TestSchemaHardening(t *testing.T) {
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "secret.json")
	const marker = "TOP-SECRET-MARKER-5521"
	if err := os.WriteFile(secretFile, []byte(`{"type": "string", "description": "`+marker+`"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	c := startCaddy(t, config{App: appUsers})

	// invalid schemas are refused at write time with the problem named
	for _, tc := range []struct{ schema, want string }{
		{"type: not_a_real_type\n", "/type"},
		{"type: object\nproperties:\n  1: {type: string}\n", "key"},
		{"type: [object\n", "YAML"},
		{`{"type": "object",`, "JSON"},
		{`{"$schema": "http://json-schema.org/draft-07/schema#", "type": "object"}`, "draft"},
	} {
		a := c.admin("POST", "/endpoint/endpoints", schemaRecord("bad", "/bad", "application/json", tc.schema, `result = {}`))
		if a.Status != 400 || !strings.Contains(string(a.Body), tc.want) || !strings.Contains(string(a.Body), "request_content_schema") {
			t.Errorf("schema %q: %s", tc.schema, a)
		}
	}
	// an unquoted YAML date stays a string
	c.create(schemaRecord("dated", "/dated", "application/json", "type: object\nproperties:\n  d: {const: 2024-01-02}\n", `result = {"payload": "ok"}`))

	ref := `{"type": "object", "properties": {"a": {"$ref": "file://` + secretFile + `"}}}`
	a := c.admin("POST", "/endpoint/endpoints", schemaRecord("ref", "/ref", "application/json", ref, `result = {}`))
	if a.Status != 400 || strings.Contains(string(a.Body), marker) {
		t.Fatalf("$ref to a file: %s", a)
	}
	for _, kw := range []string{"include", "import", "redefine", "override"} {
		xsd := `<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"><xs:` + kw + ` schemaLocation="file://` + secretFile + `"/><xs:element name="a" type="xs:string"/></xs:schema>`
		a := c.admin("POST", "/endpoint/endpoints", schemaRecord("x"+kw, "/x"+kw, "application/xml", xsd, `result = {}`))
		if a.Status != 400 || !strings.Contains(string(a.Body), "schemaLocation") {
			t.Errorf("xs:%s with schemaLocation: %s", kw, a)
		}
	}

	c.create(schemaRecord("notes", "/notes", "application/xml", noteXSD, `result = {"payload": request.text}`))
	c.sync()
	expect(t, do(t, "POST", c.HTTP+"/dated", `{"d": "2024-01-02"}`, "Content-Type", "application/json"), 200)
	expect(t, do(t, "POST", c.HTTP+"/dated", `{"d": "2024-01-03"}`, "Content-Type", "application/json"), 400)
	xxe := `<?xml version="1.0"?><!DOCTYPE note [<!ENTITY x SYSTEM "file://` + secretFile + `">]><note><to>&x;</to><n>1</n></note>`
	a = do(t, "POST", c.HTTP+"/notes", xxe, "Content-Type", "application/xml")
	if a.Status != 400 || strings.Contains(string(a.Body), marker) || !(strings.Contains(string(a.Body), "xml_invalid") || strings.Contains(string(a.Body), "xml_schema")) {
		t.Fatalf("XXE: %s", a)
	}
	laughs := `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;"><!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;"><!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;"><!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;"><!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;"><!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;"><!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">]><note><to>&lol9;</to><n>1</n></note>`
	a = do(t, "POST", c.HTTP+"/notes", laughs, "Content-Type", "application/xml")
	if a.Status != 400 {
		t.Fatalf("billion laughs: %s", a)
	}
	if strings.Contains(c.Logs(), marker) {
		t.Fatal("the local file reached the log")
	}
}
