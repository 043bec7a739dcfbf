package tests

import (
	"strings"
	"testing"
)

// TestSchemaAnswersDeterministic: the same failing body sent many times
// gets the same detail list, in loc-then-type order, with the names of
// additionalProperties sorted.
func TestSchemaAnswersDeterministic(t *testing.T) {
	c := startCaddy(t, config{App: appUsers})
	c.create(schemaRecord("strict", "/strict", "application/json", `{
		"type": "object", "additionalProperties": false,
		"properties": {"a": {"type": "integer"}, "b": {"type": "integer"}, "c": {"type": "integer"}, "d": {"type": "integer"}},
		"required": ["a", "b", "c", "d", "e"]}`, `result = {"payload": "ok"}`))
	c.sync()
	body := `{"d": "x", "c": "x", "b": "x", "a": "x", "zz": 1, "yy": 1, "xx": 1, "ww": 1}`
	var first string
	for i := 0; i < 50; i++ {
		got := string(expect(t, do(t, "POST", c.HTTP+"/strict", body, "Content-Type", "application/json"), 400).Body)
		if i == 0 {
			first = got
			if !strings.Contains(got, `'ww', 'xx', 'yy', 'zz'`) {
				t.Fatalf("additionalProperties names not sorted: %s", got)
			}
			if ia, id := strings.Index(got, `["body","a"]`), strings.Index(got, `["body","d"]`); ia < 0 || id < ia || strings.Index(got, `["body"]`) > ia {
				t.Fatalf("detail not sorted by loc: %s", got)
			}
		} else if got != first {
			t.Fatalf("answer %d differs:\n%s\nfirst:\n%s", i, got, first)
		}
	}
}

// TestJSONBodyInvalidUTF8: invalid UTF-8 inside a JSON string is refused
// as json_invalid before the snippet sees it.
func TestJSONBodyInvalidUTF8(t *testing.T) {
	c := startCaddy(t, config{App: appUsers})
	c.create(schemaRecord("utf8", "/utf8", "application/json", `{"type": "object"}`, `result = {"payload": request.json()}`))
	c.sync()
	got := expect(t, do(t, "POST", c.HTTP+"/utf8", "{\"s\": \"a\xffb\"}", "Content-Type", "application/json"), 400).JSON(t)
	detail, _ := got["detail"].([]any)
	if len(detail) != 1 || detail[0].(map[string]any)["type"] != "json_invalid" {
		t.Fatalf("invalid UTF-8: %v", got)
	}
	expect(t, do(t, "POST", c.HTTP+"/utf8", `{"s": "héllo"}`, "Content-Type", "application/json"), 200)

	// without a schema, request.json() refuses it too
	r := publicRecord("utf8-plain", "/utf8-plain", `result = {"payload": request.json()}`)
	r["request_method"], r["request_content_type"] = "POST", "application/json"
	c.create(r)
	c.sync()
	expect(t, do(t, "POST", c.HTTP+"/utf8-plain", "{\"s\": \"a\xffb\"}", "Content-Type", "application/json"), 400)
	expect(t, do(t, "POST", c.HTTP+"/utf8-plain", `{"s": "héllo"}`, "Content-Type", "application/json"), 200)
}

// TestEncodedSlashInPathParameter: as README says, %2F matches within one
// segment and arrives decoded.
func TestEncodedSlashInPathParameter(t *testing.T) {
	c := startCaddy(t, config{App: appUsers})
	c.create(publicRecord("items", "/items/{id}", `result = {"payload": request.path_params["id"]}`))
	c.sync()
	if got := string(expect(t, c.get("/items/a%2Fb"), 200).Body); got != `"a/b"` {
		t.Fatalf("path parameter: %s", got)
	}
}
