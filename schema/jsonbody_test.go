package schema

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// TestParseJSONBodyMatchesEncodingJSON: the fast parser accepts and refuses
// what encoding/json does, and gives the same values.
func TestParseJSONBodyMatchesEncodingJSON(t *testing.T) {
	for _, in := range []string{
		`{"a": 1, "b": [1.5, -2e10, 12345678901234567890123], "c": {"d": null, "e": true}}`,
		`"plain"`, `0`, `[]`, `{}`, ` {"a":"\u00e9\ud83d\ude00"} `,
		`{"a": 1} x`, `{"a": 1}{"b": 2}`, `{"a": }`, `[1, 2,]`, `{"a": 1,}`, `01`, `NaN`,
		"{\"a\": \"\xff\"}", `{"a": "\x01"}`, `{'a': 1}`, `{"a" 1}`, `tru`, `[`, `"abc`,
		`{"dup": 1, "dup": 2}`,
	} {
		want, wantErr := jsonschema.UnmarshalJSON(bytes.NewReader([]byte(in)))
		got, gotErr := parseJSONBody([]byte(in))
		if (wantErr == nil) != (gotErr == nil) {
			t.Errorf("%q: encoding/json err %v, parseJSONBody err %v", in, wantErr, gotErr)
			continue
		}
		if wantErr == nil && !reflect.DeepEqual(normalize(want), normalize(got)) {
			t.Errorf("%q: got %#v, want %#v", in, got, want)
		}
	}
}

// normalize makes json.Number values comparable by their text.
func normalize(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[k] = normalize(x)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = normalize(x)
		}
		return out
	case json.Number:
		return "num:" + v.String()
	}
	return v
}
