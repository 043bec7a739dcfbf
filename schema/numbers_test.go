package schema

import (
	"strings"
	"testing"
)

func TestCheckNumber(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{"0", true},
		{"-12.5", true},
		{"1e1000", true},
		{"1E-1000", true},
		{"1e+1000", true},
		{"1e1001", false},
		{"1e-1001", false},
		{"1e999999", false},
		{"1e00000000000000000000001000", true},
		{strings.Repeat("9", 100), true},
		{strings.Repeat("9", 101), false},
		{"0." + strings.Repeat("0", 99), true},
		{"0." + strings.Repeat("0", 100), false},
		{"-" + strings.Repeat("1", 50) + "." + strings.Repeat("2", 50) + "e-1000", true},
	}
	for _, tc := range tests {
		err := CheckNumber(tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("CheckNumber(%.30q) = %v, want ok %v", tc.in, err, tc.ok)
		}
	}
}

// TestValidateRefusesUnboundedNumbers: numbers beyond the bounds are
// json_invalid at their location before the schema sees them, so a body
// full of 1e999999 costs a scan, not a rational per number.
func TestValidateRefusesUnboundedNumbers(t *testing.T) {
	v, err := Compile("application/json", `{"type": "object", "properties": {"a": {"type": "array", "items": {"type": "integer", "minimum": 0}}}}`)
	if err != nil {
		t.Fatal(err)
	}
	n := (1 << 20) / 9
	body := `{"b": 1, "a": [` + strings.TrimSuffix(strings.Repeat("1e999999,", n), ",") + `]}`
	parsed, vs := v.Validate([]byte(body))
	if parsed != nil || len(vs) != maxViolations {
		t.Fatalf("got %d violations (parsed %v), want %d", len(vs), parsed != nil, maxViolations)
	}
	for i, x := range vs {
		if x.Type != "json_invalid" || len(x.Loc) != 3 || x.Loc[1] != "a" || x.Loc[2] != i || !strings.Contains(x.Msg, "exponent") {
			t.Fatalf("violation %d: %+v", i, x)
		}
	}
	if _, vs := v.Validate([]byte(`{"a": [1e1000, 0, 12]}`)); len(vs) != 0 {
		t.Fatalf("numbers inside the bounds refused: %+v", vs)
	}
}

func BenchmarkValidateUnboundedNumbers(b *testing.B) {
	v, err := Compile("application/json", `{"type": "array", "items": {"type": "integer", "minimum": 0}}`)
	if err != nil {
		b.Fatal(err)
	}
	body := []byte("[" + strings.TrimSuffix(strings.Repeat("1e999999,", (1<<20)/9), ",") + "]")
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		v.Validate(body)
	}
}

func TestSchemaDepthBound(t *testing.T) {
	nested := func(levels int) string {
		return strings.Repeat(`{"items": `, levels) + `{"type": "integer"}` + strings.Repeat("}", levels)
	}
	if _, err := Compile("application/json", nested(60)); err != nil {
		t.Fatalf("60 levels refused: %v", err)
	}
	for _, n := range []int{200, 5000} {
		if _, err := Compile("application/json", nested(n)); err == nil || !strings.Contains(err.Error(), "levels deep") {
			t.Fatalf("%d levels: %v", n, err)
		}
	}
	deepXSD := `<?xml version="1.0"?><xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">` +
		strings.Repeat("<xs:annotation>", 200) + strings.Repeat("</xs:annotation>", 200) + `</xs:schema>`
	if _, err := Compile("application/xml", deepXSD); err == nil || !strings.Contains(err.Error(), "levels deep") {
		t.Fatalf("deep XSD: %v", err)
	}
}

// TestXSDPatternsBounded: pattern facets an XSD backend would evaluate by
// backtracking are refused at write time, in both builds; common patterns
// compile.
func TestXSDPatternsBounded(t *testing.T) {
	xsd := func(pattern string) string {
		return `<?xml version="1.0"?><xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"><xs:element name="v"><xs:simpleType><xs:restriction base="xs:string"><xs:pattern value="` +
			pattern + `"/></xs:restriction></xs:simpleType></xs:element></xs:schema>`
	}
	for _, p := range []string{"(a|aa)+b", "(x+x+)+y", "([a-z-[q]]+)+", "[a-z-[q]]+", "a{1,2000}", "([a-z]+)*"} {
		if _, err := Compile("application/xml", xsd(p)); err == nil || !strings.Contains(err.Error(), "pattern") {
			t.Errorf("%s compiled: %v", p, err)
		}
	}
	for _, p := range []string{"a+c?", "[A-Z]{2}[0-9]+", `\d{3}-\d{4}`, "ORD-[0-9]+", "[^@]+@[^@]+", "(ab)+", `(\d{3})+`, "[0-9]{4}-[0-9]{2}-[0-9]{2}"} {
		if _, err := Compile("application/xml", xsd(p)); err != nil {
			t.Errorf("%s refused: %v", p, err)
		}
	}
}
