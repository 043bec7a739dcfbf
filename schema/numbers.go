package schema

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
)

// Bounds on the JSON numbers of a request body. The validator checks
// numbers as exact rationals, so a number's cost grows with its digits and
// with its exponent (1e999999 is a million-digit integer). Inside these
// bounds every numeric check costs microseconds.
const (
	// MaxNumberDigits is how many digits a number may have before its
	// exponent, integer and fraction part together.
	MaxNumberDigits = 100
	// MaxNumberExponent bounds the written exponent: 1e1000 and 1e-1000
	// pass, 1e1001 does not.
	MaxNumberExponent = 1000
)

// MaxSchemaDepth is how deeply a schema may nest: JSON Schema objects and
// arrays, or XSD elements. Compiling grows faster than the depth.
const MaxSchemaDepth = 128

// CheckNumber refuses a JSON number literal with more than MaxNumberDigits
// digits or an exponent beyond ±MaxNumberExponent. It reads s once and
// stops at the first digit over a bound.
func CheckNumber(s string) error {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	digits := 0
	for ; i < len(s) && s[i] != 'e' && s[i] != 'E'; i++ {
		if s[i] == '.' {
			continue
		}
		if digits++; digits > MaxNumberDigits {
			return fmt.Errorf("number %s has more than %d digits", shortNumber(s), MaxNumberDigits)
		}
	}
	if i == len(s) {
		return nil
	}
	i++
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	exp := 0
	for ; i < len(s); i++ {
		if exp = exp*10 + int(s[i]-'0'); exp > MaxNumberExponent {
			return fmt.Errorf("number %s has an exponent beyond ±%d", shortNumber(s), MaxNumberExponent)
		}
	}
	return nil
}

// shortNumber quotes at most the first 24 bytes of a number for a message.
func shortNumber(s string) string {
	if len(s) > 24 {
		return s[:24] + "…"
	}
	return s
}

// hasBadNumber reports whether doc holds a number CheckNumber refuses.
func hasBadNumber(doc any) bool {
	switch v := doc.(type) {
	case json.Number:
		return CheckNumber(string(v)) != nil
	case []any:
		for _, e := range v {
			if hasBadNumber(e) {
				return true
			}
		}
	case map[string]any:
		for _, e := range v {
			if hasBadNumber(e) {
				return true
			}
		}
	}
	return false
}

// badNumbers lists, as json_invalid violations in document order (object
// keys sorted), the numbers of doc that CheckNumber refuses, at most
// maxViolations.
func badNumbers(doc any) []Violation {
	var out []Violation
	var walk func(v any, loc []any)
	walk = func(v any, loc []any) {
		switch v := v.(type) {
		case json.Number:
			if err := CheckNumber(string(v)); err != nil {
				out = append(out, Violation{Loc: slices.Clone(loc), Msg: err.Error(), Type: "json_invalid"})
			}
		case []any:
			for i, e := range v {
				if len(out) == maxViolations {
					return
				}
				if hasBadNumber(e) {
					walk(e, append(loc, i))
				}
			}
		case map[string]any:
			for _, k := range slices.Sorted(maps.Keys(v)) {
				if len(out) == maxViolations {
					return
				}
				if hasBadNumber(v[k]) {
					walk(v[k], append(loc, k))
				}
			}
		}
	}
	walk(doc, []any{"body"})
	return out
}
