package schema

import (
	"strings"
	"testing"
)

// TestFastPathProvesOnlyWhenSure holds the fast path to "proved valid" or
// "not proved": each body is one it must not prove (the library decides),
// or one it proves; in both cases Validate answers as the library does.
func TestFastPathProvesOnlyWhenSure(t *testing.T) {
	tests := []struct {
		name, schema, body string
		proves, valid      bool
	}{
		{"integer literal", `{"type": "integer", "minimum": 1}`, `42`, true, true},
		{"1.0 is an integer, left to the library", `{"type": "integer"}`, `1.0`, false, true},
		{"below minimum", `{"minimum": 0}`, `-1`, false, false},
		{"tiny negative is below 0", `{"minimum": 0}`, `-1e-400`, false, false},
		{"tiny positive is above 0", `{"exclusiveMinimum": 0}`, `1e-400`, false, true},
		{"negative zero", `{"minimum": 0}`, `-0.0`, true, true},
		{"close to an inexact bound", `{"maximum": 0.1}`, `0.1`, false, true},
		{"just over a bound", `{"maximum": 1}`, `1.0000000000000000001`, false, false},
		{"far under a bound", `{"maximum": 1}`, `0.5`, true, true},
		{"integer multipleOf", `{"multipleOf": 3}`, `9`, true, true},
		{"fraction multipleOf", `{"multipleOf": 0.5}`, `1.5`, false, true},
		{"enum of 1 and 1.0", `{"enum": [1]}`, `1.0`, false, true},
		{"enum string", `{"enum": ["a", "b"]}`, `"b"`, true, true},
		{"maxLength counts code points", `{"maxLength": 2}`, `"éé"`, true, true},
		{"additionalProperties false", `{"properties": {"a": {}}, "additionalProperties": false}`, `{"a": 1, "b": 2}`, false, false},
		{"patternProperties", `{"patternProperties": {"^x": {"type": "string"}}, "additionalProperties": false}`, `{"xa": "s"}`, true, true},
		{"propertyNames", `{"propertyNames": {"maxLength": 2}}`, `{"abc": 1}`, false, false},
		{"oneOf is left to the library", `{"oneOf": [{"type": "string"}, {"type": "integer"}]}`, `"s"`, false, true},
		{"uniqueItems is left to the library", `{"uniqueItems": true}`, `[1, 2]`, false, true},
		{"a $ref cycle is left to the library", `{"$defs": {"a": {"$ref": "#/$defs/a"}}, "$ref": "#/$defs/a"}`, `1`, false, false},
		{"recursive through items", `{"type": "array", "items": {"$ref": "#"}}`, `[[[]], []]`, true, true},
		{"format", `{"format": "date"}`, `"2026-12-02"`, true, true},
		{"format refused", `{"format": "date"}`, `"02/12/2026"`, false, false},
		{"contains", `{"contains": {"const": 2}, "minContains": 2}`, `[2, 1, 2]`, true, true},
		{"maxContains is left to the library", `{"contains": {"const": 2}, "maxContains": 1}`, `[2]`, false, true},
		{"prefixItems then items", `{"prefixItems": [{"type": "string"}], "items": {"type": "integer"}}`, `["a", 1, 2]`, true, true},
		{"dependentRequired", `{"dependentRequired": {"a": ["b"]}}`, `{"a": 1}`, false, false},
		{"anyOf", `{"anyOf": [{"type": "string"}, {"type": "null"}]}`, `null`, true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			jv := compileJSONValidator(t, tc.schema)
			v := Validator(jv)
			doc, err := parseJSONBody([]byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			proved := jv.fast != nil && jv.fast.proves(doc, len(tc.body))
			if proved != tc.proves {
				t.Errorf("proved = %v, want %v", proved, tc.proves)
			}
			if _, streamed := provesStreaming(jv.fast, []byte(tc.body)); jv.streams && streamed != proved {
				t.Errorf("the streaming proof says %v, the tree %v", !proved, proved)
			}
			_, vs := v.Validate([]byte(tc.body))
			if got := len(vs) == 0; got != tc.valid {
				t.Errorf("valid = %v, want %v (%+v)", got, tc.valid, vs)
			}
			if libValid := jv.schema.Validate(doc) == nil; libValid != tc.valid {
				t.Errorf("the library says valid = %v", libValid)
			}
		})
	}
}

// TestFastPathStepBudget: anyOf branches that revisit a deep value make
// the walk give up (the library then decides) instead of growing
// exponentially.
func TestFastPathStepBudget(t *testing.T) {
	v, err := Compile("application/json", `{"anyOf": [{"items": {"$ref": "#"}, "maxItems": 0}, {"items": {"$ref": "#"}}]}`)
	if err != nil {
		t.Fatal(err)
	}
	body := strings.Repeat("[", 60) + strings.Repeat("]", 60)
	doc, err := parseJSONBody([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	jv := v.(*jsonValidator)
	if !jv.fast.proves(doc, len(body)) {
		t.Fatal("not proved")
	}
	p := prover{steps: 10}
	if p.value(jv.fast, doc) {
		t.Fatal("proved within 10 steps")
	}
}

func TestLengthSurelyWithin(t *testing.T) {
	tests := []struct {
		size, minLen, maxLen int
		want                 bool
	}{
		{10, -1, -1, true},
		{10, -1, 10, true},
		{11, -1, 10, false}, // may hold 11 characters: count them
		{8, 2, -1, true},    // at least 2 characters
		{7, 2, -1, true},
		{4, 2, -1, false}, // one 4-byte character is possible
		{0, 0, 0, true},
		{0, 1, -1, false},
	}
	for _, tt := range tests {
		if got := lengthSurelyWithin(tt.size, tt.minLen, tt.maxLen); got != tt.want {
			t.Errorf("lengthSurelyWithin(%d, %d, %d) = %v, want %v", tt.size, tt.minLen, tt.maxLen, got, tt.want)
		}
	}
	// the prover still counts when it must: two 3-byte characters within
	// maxLength 2, three over it
	v, err := compileJSON(`{"type": "string", "maxLength": 2, "minLength": 2}`)
	if err != nil {
		t.Fatal(err)
	}
	p := v.(Prover)
	for body, want := range map[string]bool{`"€€"`: true, `"€€€"`: false, `"€"`: false, `"ab"`: true} {
		if _, _, ok := p.Prove([]byte(body)); ok != want {
			t.Errorf("Prove(%s) = %v, want %v", body, ok, want)
		}
	}
}

// TestStreamingProof: schemas whose keywords each look at one value once
// are proved while walking the body, and give the tree's answers.
func TestStreamingProof(t *testing.T) {
	tests := []struct {
		name, schema, body string
		streams, proves    bool
	}{
		{"ten properties", tenPropSchema, string(oneKBBody()), true, true},
		{"a missing required name", `{"required": ["a", "b"]}`, `{"a": 1, "a": 2}`, true, false},
		{"required names from allOf and $ref", `{"$defs": {"r": {"required": ["b"]}}, "allOf": [{"required": ["a"]}], "$ref": "#/$defs/r"}`, `{"a": 1, "b": [2]}`, true, true},
		{"one of them missing", `{"$defs": {"r": {"required": ["b"]}}, "allOf": [{"required": ["a"]}], "$ref": "#/$defs/r"}`, `{"a": 1}`, true, false},
		{"nested items and prefixItems", `{"items": {"prefixItems": [{"type": "string"}], "items": {"type": "integer", "maximum": 3}}}`, `[["a", 1, 3], ["b"]]`, true, true},
		{"an item over its maximum", `{"items": {"prefixItems": [{"type": "string"}], "items": {"type": "integer", "maximum": 3}}}`, `[["a", 1, 4]]`, true, false},
		{"maxProperties with a duplicate key", `{"maxProperties": 1}`, `{"a": 1, "a": 2}`, true, false},
		{"additionalProperties false", `{"properties": {"a": {}}, "additionalProperties": false}`, `{"a": {"x": [1]}, "b": 1}`, true, false},
		{"patternProperties", `{"patternProperties": {"^x": {"type": "integer"}}, "additionalProperties": false}`, `{"x1": 1, "x2": 2}`, true, true},
		{"propertyNames", `{"propertyNames": {"maxLength": 2}}`, `{"ab": 1, "abc": 2}`, true, false},
		{"a bad number", `{"type": "array"}`, `[1e999999]`, true, false},
		{"a raw control character", `{"type": "string"}`, "\"a\tb\"", true, false},
		{"an escaped one (left to the library)", `{"type": "string"}`, `"a\tb"`, true, false},
		{"integer written 1.0 (left to the library)", `{"type": "integer"}`, `1.0`, true, false},
		{"string enum", `{"enum": ["a", 2, null, true]}`, `true`, true, true},
		{"number const", `{"const": 20}`, `20`, true, true},
		{"anyOf does not stream", `{"anyOf": [{"type": "string"}, {"type": "null"}]}`, `null`, false, true},
		{"minProperties 2 does not stream", `{"minProperties": 2}`, `{"a": 1, "b": 2}`, false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			jv := compileJSONValidator(t, tc.schema)
			if jv.streams != tc.streams {
				t.Fatalf("streams = %v, want %v", jv.streams, tc.streams)
			}
			parsed, shape, proved := jv.Prove([]byte(tc.body))
			if shape.Walked != (proved && tc.streams) {
				t.Errorf("shape.Walked = %v, proved %v, streams %v", shape.Walked, proved, tc.streams)
			}
			if proved != tc.proves {
				t.Fatalf("proved = %v, want %v", proved, tc.proves)
			}
			if tc.streams && parsed != nil {
				t.Errorf("a streamed proof returned a document: %v", parsed)
			}
			if _, vs := jv.Validate([]byte(tc.body)); proved && len(vs) > 0 {
				t.Errorf("proved what Validate refuses: %+v", vs)
			}
		})
	}
}

// compileJSONValidator compiles a JSON Schema for a test.
func compileJSONValidator(t *testing.T, schema string) *jsonValidator {
	t.Helper()
	v, err := Compile("application/json", schema)
	if err != nil {
		t.Fatal(err)
	}
	return v.(*jsonValidator)
}
