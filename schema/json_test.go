package schema

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
)

func TestCompileJSONErrors(t *testing.T) {
	bomb := "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
	prev := "a"
	for _, n := range []string{"b", "c", "d", "e", "f", "g"} {
		bomb += fmt.Sprintf("%s: &%s [*%s, *%s, *%s, *%s, *%s, *%s, *%s, *%s, *%s, *%s]\n", n, n, prev, prev, prev, prev, prev, prev, prev, prev, prev, prev)
		prev = n
	}
	tests := []struct {
		name, contentType, source string
		// want are substrings of the error.
		want []string
	}{
		{"unknown type", "application/json", "type: not_a_real_type", []string{"/type", "must be one of"}},
		{"bad YAML", "application/json", "type: object\nproperties: [a, b\n", []string{"YAML", "line"}},
		{"bad JSON", "application/json", "{\n  \"type\": \"object\",,\n}", []string{"JSON", "line 2, column 20"}},
		{"empty", "application/json", "  \n", []string{"empty"}},
		{"int key", "application/json", "type: object\nproperties:\n  1: {type: string}\n", []string{"line 3", "not a string"}},
		{"bool key", "application/json", "true: 1\n", []string{"not a string"}},
		{"merge key", "application/json", "base: &b {type: string}\nx:\n  <<: *b\n", []string{"merge"}},
		{"alias bomb", "application/json", bomb, []string{"alias bomb"}},
		{"infinity", "application/json", "maximum: .inf\n", []string{"not a JSON number"}},
		{"two documents", "application/json", "type: object\n---\ntype: string\n", []string{"single YAML document"}},
		{"draft-07", "application/json", `{"$schema": "http://json-schema.org/draft-07/schema#", "type": "object"}`, []string{"draft 2020-12"}},
		{"nested draft-04", "application/json", `{"$defs": {"a": {"$id": "a", "$schema": "http://json-schema.org/draft-04/schema#"}}}`, []string{"draft 2020-12"}},
		{"custom meta-schema", "application/json", `{"$schema": "https://example.com/meta", "type": "object"}`, []string{"draft 2020-12"}},
		{"bad pattern", "application/json", `{"type": "string", "pattern": "("}`, []string{"pattern"}},
		{"no schema for text", "text/plain", "type: object", []string{"text/plain"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := Compile(tc.contentType, tc.source)
			if err == nil {
				t.Fatalf("compiled %T, want an error", v)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestCompileJSONAccepts(t *testing.T) {
	tests := []struct{ name, source string }{
		{"JSON", `{"type": "object", "properties": {"a": {"type": "integer"}}}`},
		{"YAML", "type: object\nproperties:\n  a:\n    type: integer\n"},
		{"YAML anchors", "$defs:\n  n: &n {type: integer}\nproperties:\n  a: *n\n  b: *n\n"},
		{"pinned draft", `{"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object"}`},
		{"draft URL in const", `{"const": {"$schema": "http://json-schema.org/draft-07/schema#"}}`},
		{"internal ref", `{"$defs": {"pos": {"type": "integer", "minimum": 1}}, "properties": {"a": {"$ref": "#/$defs/pos"}}}`},
		{"ref to meta-schema", `{"$ref": "https://json-schema.org/draft/2020-12/schema"}`},
		{"media type parameter", `true`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Compile("application/json; charset=utf-8", tc.source); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestYAMLToJSON(t *testing.T) {
	tests := []struct {
		name, src string
		want      any
	}{
		{"unquoted date stays a string", "d: 2024-01-02", map[string]any{"d": "2024-01-02"}},
		{"timestamp stays as written", "d: 2024-01-02T03:04:05Z", map[string]any{"d": "2024-01-02T03:04:05Z"}},
		{"big integer kept exact", "n: 123456789012345678901234567890", map[string]any{"n": json.Number("123456789012345678901234567890")}},
		{"decimal kept exact", "n: 0.1000000000000000000001", map[string]any{"n": json.Number("0.1000000000000000000001")}},
		{"hex integer", "n: 0x1F", map[string]any{"n": json.Number("31")}},
		{"negative", "n: -7", map[string]any{"n": json.Number("-7")}},
		{"YAML-only float", "n: +.5", map[string]any{"n": json.Number("0.5")}},
		{"null, bool, quoted", "a: ~\nb: true\nc: 'yes'\nd: \"1\"", map[string]any{"a": nil, "b": true, "c": "yes", "d": "1"}},
		{"alias expanded", "a: &x [1]\nb: *x", map[string]any{"a": []any{json.Number("1")}, "b": []any{json.Number("1")}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := yamlToJSON([]byte(tc.src))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %#v, want %#v", got, tc.want)
			}
		})
	}
}

func TestJSONRefOutsideSchemaRefused(t *testing.T) {
	const marker = "SECRET-MARKER-7f3a9c"
	dir := t.TempDir()
	path := filepath.Join(dir, "leak.json")
	if err := os.WriteFile(path, []byte(`{"type": "string", "description": "`+marker+`"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, source string }{
		{"file URL", fmt.Sprintf(`{"properties": {"a": {"$ref": "file://%s"}}}`, path)},
		{"file URL in YAML", fmt.Sprintf("properties:\n  a:\n    $ref: file://%s\n", path)},
		{"relative to a file $id", fmt.Sprintf(`{"$id": "file://%s/", "properties": {"a": {"$ref": "leak.json"}}}`, dir)},
		{"relative name", `{"properties": {"a": {"$ref": "leak.json"}}}`},
		{"plain path", fmt.Sprintf(`{"$ref": %q}`, path)},
		{"network", `{"$ref": "http://127.0.0.1:1/schema.json"}`},
		{"dynamic ref", fmt.Sprintf(`{"$dynamicRef": "file://%s"}`, path)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := Compile("application/json", tc.source)
			if err == nil {
				_, vs := v.Validate([]byte(`{"a": 1}`))
				t.Fatalf("compiled; violations %v", vs)
			}
			if strings.Contains(err.Error(), marker) {
				t.Fatalf("error shows the file's content: %v", err)
			}
		})
	}
}

const orderSchema = `
type: object
required: [id, items]
additionalProperties: false
properties:
  id: {type: string, pattern: "^[A-Z]{3}-[0-9]+$"}
  placed: {type: string, format: date-time}
  email: {type: string, format: email}
  items:
    type: array
    minItems: 1
    items:
      type: object
      required: [sku, qty]
      properties:
        sku: {type: string}
        qty: {type: integer, minimum: 1}
`

func TestJSONValidate(t *testing.T) {
	v, err := Compile("application/json", orderSchema)
	if err != nil {
		t.Fatal(err)
	}
	type viol struct {
		loc string
		typ string
	}
	tests := []struct {
		name string
		body string
		want []viol
	}{
		{"valid", `{"id": "ABC-1", "placed": "2024-01-02T03:04:05Z", "items": [{"sku": "x", "qty": 2}]}`, nil},
		{"empty", ``, []viol{{"[body]", "json_invalid"}}},
		{"blank", " \n", []viol{{"[body]", "json_invalid"}}},
		{"not JSON", `{"id": `, []viol{{"[body]", "json_invalid"}}},
		{"trailing data", `{"id": "ABC-1", "items": [{"sku": "x", "qty": 1}]} {}`, []viol{{"[body]", "json_invalid"}}},
		{"wrong type in array", `{"id": "ABC-1", "items": [{"sku": "x", "qty": 1}, {"sku": "y", "qty": "two"}]}`, []viol{{"[body items 1 qty]", "type"}}},
		{"minimum", `{"id": "ABC-1", "items": [{"sku": "x", "qty": 0}]}`, []viol{{"[body items 0 qty]", "minimum"}}},
		{"required", `{"items": [{"sku": "x", "qty": 1}]}`, []viol{{"[body]", "required"}}},
		{"pattern", `{"id": "abc", "items": [{"sku": "x", "qty": 1}]}`, []viol{{"[body id]", "pattern"}}},
		{"additional property", `{"id": "ABC-1", "items": [{"sku": "x", "qty": 1}], "extra": 1}`, []viol{{"[body]", "additionalProperties"}}},
		{"format asserted", `{"id": "ABC-1", "placed": "yesterday", "items": [{"sku": "x", "qty": 1}]}`, []viol{{"[body placed]", "format"}}},
		{"email format", `{"id": "ABC-1", "email": "nope", "items": [{"sku": "x", "qty": 1}]}`, []viol{{"[body email]", "format"}}},
		{"minItems", `{"id": "ABC-1", "items": []}`, []viol{{"[body items]", "minItems"}}},
		{"two violations", `{"id": 5, "items": [{"qty": 1}]}`, []viol{{"[body id]", "type"}, {"[body items 0]", "required"}}},
		{"not an object", `[1, 2]`, []viol{{"[body]", "type"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			parsed, vs := v.Validate([]byte(tc.body))
			var got []viol
			for _, x := range vs {
				if x.Msg == "" {
					t.Errorf("violation %+v has no message", x)
				}
				got = append(got, viol{fmt.Sprint(x.Loc), x.Type})
			}
			if !sameViolations(got, tc.want) {
				t.Fatalf("got %+v, want %+v (violations %+v)", got, tc.want, vs)
			}
			invalid := len(tc.want) == 1 && tc.want[0].typ == "json_invalid"
			if invalid != (parsed == nil) {
				t.Fatalf("parsed = %#v", parsed)
			}
		})
	}
}

func sameViolations[T comparable](got, want []T) bool {
	if len(got) != len(want) {
		return false
	}
	count := map[T]int{}
	for _, g := range got {
		count[g]++
	}
	for _, w := range want {
		count[w]--
		if count[w] < 0 {
			return false
		}
	}
	return true
}

func TestJSONLocIntegerIndexes(t *testing.T) {
	v, err := Compile("application/json", `{"properties": {"data": {"items": {"type": "integer"}}, "0": {"type": "integer"}}}`)
	if err != nil {
		t.Fatal(err)
	}
	_, vs := v.Validate([]byte(`{"data": [1, "x"], "0": "y"}`))
	want := map[string][]any{"data": {"body", "data", 1}, "0": {"body", "0"}}
	if len(vs) != 2 {
		t.Fatalf("got %+v", vs)
	}
	for _, x := range vs {
		if !reflect.DeepEqual(x.Loc, want[x.Loc[1].(string)]) {
			t.Errorf("loc %#v", x.Loc)
		}
	}
}

func TestJSONParsedKeepsNumbers(t *testing.T) {
	v, err := Compile("application/json", `{"type": "object"}`)
	if err != nil {
		t.Fatal(err)
	}
	parsed, vs := v.Validate([]byte(`{"n": 12345678901234567890.5}`))
	if vs != nil {
		t.Fatal(vs)
	}
	if got := parsed.(map[string]any)["n"]; got != json.Number("12345678901234567890.5") {
		t.Fatalf("n = %#v", got)
	}
}

func TestJSONConcurrentValidate(t *testing.T) {
	v, err := Compile("application/json", orderSchema)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 50 {
				body := fmt.Sprintf(`{"id": "ABC-%d", "items": [{"sku": "x", "qty": %d}]}`, i, j%2)
				_, vs := v.Validate([]byte(body))
				if (j%2 == 0) != (len(vs) == 1) {
					t.Errorf("body %s: %+v", body, vs)
				}
			}
		}()
	}
	wg.Wait()
}

const tenPropSchema = `
type: object
required: [id, name, email, age, active, tags, score, created, country, note]
properties:
  id: {type: integer, minimum: 1}
  name: {type: string, minLength: 1, maxLength: 200}
  email: {type: string, format: email}
  age: {type: integer, minimum: 0, maximum: 150}
  active: {type: boolean}
  tags: {type: array, items: {type: string}, maxItems: 20}
  score: {type: number}
  created: {type: string, format: date-time}
  country: {type: string, enum: [DE, FR, IT, ES, NL, BE, AT, CH, PL, SE]}
  note: {type: string, maxLength: 1000}
`

func oneKBBody() []byte {
	note := strings.Repeat("lorem ipsum ", 60)
	body := fmt.Sprintf(`{"id": 42, "name": "Ada Lovelace", "email": "ada@example.com", "age": 36, "active": true, "tags": ["math", "engine", "poetry", "notes"], "score": 98.5, "created": "2024-05-01T10:20:30Z", "country": "FR", "note": %q}`, note)
	return []byte(body)
}

func BenchmarkJSONValidate1KB10Props(b *testing.B) {
	v, err := Compile("application/json", tenPropSchema)
	if err != nil {
		b.Fatal(err)
	}
	body := oneKBBody()
	if _, vs := v.Validate(body); vs != nil {
		b.Fatal(vs)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		v.Validate(body)
	}
}

// BenchmarkJSONProve1KB10Props is the request path's proof of a valid
// body: the ten properties stream, so the body is walked, not parsed.
func BenchmarkJSONProve1KB10Props(b *testing.B) {
	v, err := Compile("application/json", tenPropSchema)
	if err != nil {
		b.Fatal(err)
	}
	body := oneKBBody()
	if _, _, ok := v.(Prover).Prove(body); !ok {
		b.Fatal("not proved")
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		v.(Prover).Prove(body)
	}
}
