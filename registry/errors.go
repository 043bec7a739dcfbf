package registry

import (
	"strconv"
	"strings"
)

// Kind classifies an Error so that the admin API can pick a status code.
type Kind int

// Kinds of Error.
const (
	// KindInvalid is a record or request that breaks a rule (400).
	KindInvalid Kind = iota + 1
	// KindNotFound is an unknown record or revision (404).
	KindNotFound
	// KindExists is a record created under a name already taken (409).
	KindExists
	// KindReadOnly is a write to a record declared in the config (409).
	KindReadOnly
	// KindStale is a write whose Precondition the current draft fails.
	KindStale
	// KindDamaged is stored data that cannot be read (500).
	KindDamaged
)

// Detail is one problem of a refused write or sync.
type Detail struct {
	// Name is the record the problem belongs to (sync errors).
	Name string `json:"name,omitempty"`
	// Field is the record field at fault, if any.
	Field string `json:"field,omitempty"`
	// Message says what is wrong.
	Message string `json:"message"`
	// Example names the failing example of a refused publication.
	Example string `json:"example,omitempty"`
	// Expected and Got are what the failing example expected and got.
	Expected *ExampleExpect `json:"expected,omitempty"`
	Got      *ExampleExpect `json:"got,omitempty"`
}

// Error is the error the registry returns for a refused operation; use
// errors.As to read its Kind and Details. Storage failures are plain errors.
type Error struct {
	Kind    Kind
	Message string
	Details []Detail
}

func (e *Error) Error() string {
	if len(e.Details) == 0 {
		return e.Message
	}
	var b strings.Builder
	b.WriteString(e.Message)
	b.WriteString(": ")
	for i, d := range e.Details {
		if i > 0 {
			b.WriteString("; ")
		}
		if d.Name != "" {
			b.WriteString(d.Name)
			b.WriteString(": ")
		}
		if d.Field != "" {
			b.WriteString(d.Field)
			b.WriteString(": ")
		}
		b.WriteString(d.Message)
	}
	return b.String()
}

func errorf(kind Kind, msg string, details ...Detail) *Error {
	return &Error{Kind: kind, Message: msg, Details: details}
}

// invalidRecord is the error of a refused record write; it names the
// record when the name is known.
func invalidRecord(name string, ds ...Detail) *Error {
	if name == "" {
		return errorf(KindInvalid, "invalid record", ds...)
	}
	return errorf(KindInvalid, "invalid record "+strconv.Quote(name), ds...)
}
