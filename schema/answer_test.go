package schema

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestViolationsDeterministic: the same failing body gets the same detail,
// sorted by loc then type, and additionalProperties names in order.
func TestViolationsDeterministic(t *testing.T) {
	v, err := Compile("application/json", `{
		"type": "object",
		"additionalProperties": false,
		"properties": {
			"a": {"type": "integer"}, "b": {"type": "integer"}, "c": {"type": "integer"},
			"d": {"type": "integer"}, "e": {"type": "integer"},
			"items": {"type": "array", "items": {"type": "string", "minLength": 3}}
		},
		"required": ["a", "b", "c", "d", "e", "f"]
	}`)
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"e": "x", "d": "x", "c": "x", "b": "x", "a": "x", "items": [1, "x", 2, "y", 3, "z", 4, "w", 5, "v", 6, "u"], "zz": 1, "yy": 2, "xx": 3, "ww": 4}`)
	var first string
	for i := 0; i < 50; i++ {
		_, vs := v.Validate(body)
		b, _ := json.Marshal(vs)
		if i == 0 {
			first = string(b)
			for j := 1; j < len(vs); j++ {
				if compareLoc(vs[j-1].Loc, vs[j].Loc) > 0 || (compareLoc(vs[j-1].Loc, vs[j].Loc) == 0 && vs[j-1].Type > vs[j].Type) {
					t.Fatalf("detail %d and %d out of order: %s", j-1, j, b)
				}
			}
			if !strings.Contains(first, `additional properties 'ww', 'xx', 'yy', 'zz' not allowed`) {
				t.Fatalf("additionalProperties names not sorted: %s", first)
			}
			continue
		}
		if string(b) != first {
			t.Fatalf("answer %d differs:\n%s\nfirst:\n%s", i, b, first)
		}
	}
}

func TestCompareLoc(t *testing.T) {
	tests := []struct {
		a, b []any
		want int
	}{
		{[]any{"body"}, []any{"body", "a"}, -1},
		{[]any{"body", "a"}, []any{"body", "b"}, -1},
		{[]any{"body", 2}, []any{"body", 10}, -1},
		{[]any{"body", 0}, []any{"body", "a"}, -1},
		{[]any{"body", "x", 1}, []any{"body", "x", 1}, 0},
	}
	for _, tt := range tests {
		if got := compareLoc(tt.a, tt.b); got != tt.want {
			t.Errorf("compareLoc(%v, %v) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if got := compareLoc(tt.b, tt.a); got != -tt.want {
			t.Errorf("compareLoc(%v, %v) = %d, want %d", tt.b, tt.a, got, -tt.want)
		}
	}
}

// TestInvalidUTF8InJSONString: invalid UTF-8 inside a string is json_invalid,
// not replaced by U+FFFD.
func TestInvalidUTF8InJSONString(t *testing.T) {
	v, err := Compile("application/json", `{"type": "object"}`)
	if err != nil {
		t.Fatal(err)
	}
	for _, body := range []string{"{\"s\": \"a\xffb\"}", "{\"s\": \"\xc3\"}", "{\n\"k\xed\xa0\x80\": 1}"} {
		_, vs := v.Validate([]byte(body))
		if len(vs) != 1 || vs[0].Type != "json_invalid" || !strings.Contains(vs[0].Msg, "UTF-8") {
			t.Errorf("body %q: got %+v, want one json_invalid naming UTF-8", body, vs)
		}
	}
	if _, vs := v.Validate([]byte(`{"s": "h\u00e9llo – ok ✓"}`)); len(vs) != 0 {
		t.Errorf("valid UTF-8 refused: %+v", vs)
	}
}

// TestIDNFormats: idn-hostname and idn-email are checked, not ignored.
func TestIDNFormats(t *testing.T) {
	v, err := Compile("application/json", `{"type": "object", "properties": {
		"h": {"type": "string", "format": "idn-hostname"},
		"e": {"type": "string", "format": "idn-email"}}}`)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		body string
		ok   bool
	}{
		{`{"h": "bücher.example"}`, true},
		{`{"h": "例え.テスト"}`, true},
		{`{"h": "xn--bcher-kva.example"}`, true},
		{`{"h": "bad_host!.example"}`, false},
		{`{"h": "-lead.example"}`, false},
		{`{"h": "` + strings.Repeat("a", 64) + `.example"}`, false},
		{`{"e": "jürgen@bücher.example"}`, true},
		{`{"e": "用户@例子.广告"}`, true},
		{`{"e": "plain@example.com"}`, true},
		{`{"e": "no-at-sign"}`, false},
		{`{"e": "a..b@example.com"}`, false},
		{`{"e": "a b@example.com"}`, false},
		{`{"e": "ok@bad_host!"}`, false},
	}
	for _, tt := range tests {
		_, vs := v.Validate([]byte(tt.body))
		if tt.ok != (len(vs) == 0) {
			t.Errorf("%s: violations %+v, want ok=%v", tt.body, vs, tt.ok)
		}
		if !tt.ok && len(vs) > 0 && vs[0].Type != "format" {
			t.Errorf("%s: type %q, want format", tt.body, vs[0].Type)
		}
	}
}

// TestPatternIsRE2: what README says of pattern holds.
func TestPatternIsRE2(t *testing.T) {
	for _, p := range []string{`(?<=a)b`, `a(?=b)`, `(a)\1`} {
		if _, err := Compile("application/json", `{"type": "string", "pattern": "`+strings.ReplaceAll(p, `\`, `\\`)+`"}`); err == nil {
			t.Errorf("pattern %s accepted", p)
		}
	}
	v, err := Compile("application/json", `{"type": "string", "pattern": "^\\s$"}`)
	if err != nil {
		t.Fatal(err)
	}
	if _, vs := v.Validate([]byte(`"\u00a0"`)); len(vs) == 0 {
		t.Error(`\s matched a non-breaking space`)
	}
}
