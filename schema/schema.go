// Package schema validates request bodies: JSON Schema 2020-12 (written as
// JSON or YAML) for application/json and XSD for application/xml, behind
// one interface. It knows nothing of HTTP.
package schema

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Violation is one reason a body was refused, as the 400 answer lists it.
type Violation struct {
	// Loc starts with "body", then the path segments (strings for object
	// keys and element names, ints for array indexes).
	Loc []any `json:"loc"`
	// Msg is a human-readable message.
	Msg string `json:"msg"`
	// Type is the failing JSON Schema keyword, or json_invalid,
	// xml_invalid or xml_schema.
	Type string `json:"type"`
}

// Validator is a compiled schema. It is immutable and safe for concurrent
// use; one Validator serves every request of a revision.
type Validator interface {
	// Validate checks body. For JSON it returns the parsed document
	// (numbers as json.Number) so that callers need not parse it again;
	// for XML parsed is nil. A valid body has no violations.
	Validate(body []byte) (parsed any, violations []Violation)
	// ValidateBy is Validate that gives up at deadline (zero: none) with
	// ErrTimeLimit; it may also end a little after it, and the caller
	// then decides.
	ValidateBy(body []byte, deadline time.Time) (parsed any, violations []Violation, err error)
}

// sortViolations puts violations in the order the answer lists them: by
// loc (element by element, array indexes before keys, shorter first), then
// type, then message, so that the same body always gets the same answer.
func sortViolations(vs []Violation) {
	slices.SortStableFunc(vs, func(a, b Violation) int {
		if c := compareLoc(a.Loc, b.Loc); c != 0 {
			return c
		}
		return cmp.Or(strings.Compare(a.Type, b.Type), strings.Compare(a.Msg, b.Msg))
	})
}

func compareLoc(a, b []any) int {
	for i := range min(len(a), len(b)) {
		ai, aInt := a[i].(int)
		bi, bInt := b[i].(int)
		switch {
		case aInt && bInt:
			if c := cmp.Compare(ai, bi); c != 0 {
				return c
			}
		case aInt:
			return -1
		case bInt:
			return 1
		default:
			if c := strings.Compare(fmt.Sprint(a[i]), fmt.Sprint(b[i])); c != 0 {
				return c
			}
		}
	}
	return cmp.Compare(len(a), len(b))
}
