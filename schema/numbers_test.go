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
