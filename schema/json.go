package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/caddy-endpoint/endpoint/internal/jsonwalk"
)

// schemaURL is the in-memory address of the schema being compiled. It is
// the only resource the compiler may load; every other URL is refused.
const schemaURL = "mem:///request_content_schema.json"

// maxViolations caps how many violations one body can produce.
const maxViolations = 64

var msgPrinter = message.NewPrinter(language.English)

// jsonValidator validates against a JSON Schema compiled with draft 2020-12
// pinned and format assertions on. The compiled *jsonschema.Schema is
// read-only during validation (each Validate call builds its own state), so
// one value serves concurrent requests.
type jsonValidator struct {
	// schema is the first compiled copy, which the fast path reads.
	schema *jsonschema.Schema
	// copies serve the library's validations, each under its deadline
	// (clock.go).
	copies copies
	// fast proves valid bodies without the library (fastpath.go); nil
	// when the schema's root uses a keyword it leaves to the library.
	fast *fastNode
	// streams: the fast path proves bodies while walking them, without
	// parsing (stream.go).
	streams bool
}

// refuseLoader is the compiler's only URL loader: a $ref or $schema that
// leaves the schema document (file://, http(s)://, a relative file name)
// fails compilation instead of reading the file system or the network.
// The embedded JSON Schema meta-schemas never reach it.
type refuseLoader struct{}

func (refuseLoader) Load(url string) (any, error) {
	return nil, errors.New("references outside the schema are not allowed")
}

// compileJSON compiles a JSON Schema written as JSON or YAML. The draft is
// pinned to 2020-12: a schema without $schema is read as 2020-12, and a
// $schema naming any other draft or meta-schema is refused. The format
// keyword is asserted (a "date-time" string that is not one fails).
func compileJSON(source string) (Validator, error) {
	doc, err := decodeSchemaSource(source)
	if err != nil {
		return nil, err
	}
	if depthOf(doc, 0) > MaxSchemaDepth {
		return nil, fmt.Errorf("compiling JSON schema: the schema nests more than %d levels deep", MaxSchemaDepth)
	}
	if err := checkDraft(doc); err != nil {
		return nil, err
	}
	first, err := compileCopy(doc)
	if err != nil {
		return nil, fmt.Errorf("compiling JSON schema: %s", tidyCompileError(err))
	}
	fast := compileFast(first.schema)
	v := &jsonValidator{schema: first.schema, fast: fast, streams: fast != nil && streams(fast), copies: copies{doc: doc}}
	v.copies.give(first)
	return v, nil
}

// decodeSchemaSource reads source as JSON, else as YAML.
func decodeSchemaSource(source string) (any, error) {
	trimmed := strings.TrimSpace(source)
	if trimmed == "" {
		return nil, errors.New("parsing schema: schema is empty")
	}
	doc, jerr := jsonschema.UnmarshalJSON(strings.NewReader(source))
	if jerr == nil {
		return doc, nil
	}
	doc, yerr := yamlToJSON([]byte(source))
	if yerr == nil {
		return doc, nil
	}
	if trimmed[0] == '{' || trimmed[0] == '[' {
		return nil, fmt.Errorf("parsing schema as JSON: %s", jsonErrorText([]byte(source), jerr))
	}
	return nil, fmt.Errorf("parsing schema as YAML: %v", yerr)
}

// depthOf is the nesting depth of a decoded document, counted up to one
// level past MaxSchemaDepth.
func depthOf(v any, depth int) int {
	if depth > MaxSchemaDepth {
		return depth
	}
	deepest := depth
	switch v := v.(type) {
	case map[string]any:
		for _, sub := range v {
			deepest = max(deepest, depthOf(sub, depth+1))
		}
	case []any:
		for _, sub := range v {
			deepest = max(deepest, depthOf(sub, depth+1))
		}
	}
	return deepest
}

// checkDraft refuses a $schema that names anything but draft 2020-12,
// wherever a schema object may carry one. Values of const, enum, default
// and examples are data, not schemas, and are not inspected.
func checkDraft(v any) error {
	switch v := v.(type) {
	case map[string]any:
		if s, ok := v["$schema"].(string); ok && !isDraft2020(s) {
			return fmt.Errorf("compiling JSON schema: $schema %q is not supported: only draft 2020-12 (https://json-schema.org/draft/2020-12/schema)", s)
		}
		for k, sub := range v {
			switch k {
			case "const", "enum", "default", "examples":
				continue
			}
			if err := checkDraft(sub); err != nil {
				return err
			}
		}
	case []any:
		for _, sub := range v {
			if err := checkDraft(sub); err != nil {
				return err
			}
		}
	}
	return nil
}

func isDraft2020(s string) bool {
	s = strings.TrimSuffix(s, "#")
	return s == "https://json-schema.org/draft/2020-12/schema" || s == "http://json-schema.org/draft/2020-12/schema"
}

// tidyCompileError drops the internal resource address from messages.
func tidyCompileError(err error) string {
	msg := err.Error()
	msg = strings.ReplaceAll(msg, `"`+schemaURL+`"`, "schema")
	msg = strings.ReplaceAll(msg, schemaURL, "schema")
	return msg
}

// Validate is ValidateBy without a time limit.
func (v *jsonValidator) Validate(body []byte) (any, []Violation) {
	doc, out, _ := v.ValidateBy(body, time.Time{})
	return doc, out
}

// ValidateBy parses body (numbers as json.Number) and validates it,
// giving up with ErrTimeLimit at deadline. The parsed document is
// returned even when it violates the schema.
func (v *jsonValidator) ValidateBy(body []byte, deadline time.Time) (any, []Violation, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, []Violation{{Loc: []any{"body"}, Msg: "body is empty", Type: "json_invalid"}}, nil
	}
	if !utf8.Valid(body) {
		line, col := lineCol(body, int64(firstInvalidUTF8(body))+1)
		return nil, []Violation{{Loc: []any{"body"}, Msg: fmt.Sprintf("invalid JSON: line %d, column %d: invalid UTF-8", line, col), Type: "json_invalid"}}, nil
	}
	doc, err := parseJSONBody(body)
	if err != nil {
		return nil, []Violation{{Loc: []any{"body"}, Msg: "invalid JSON: " + jsonErrorText(body, err), Type: "json_invalid"}}, nil
	}
	if hasBadNumber(doc) {
		return nil, badNumbers(doc), nil
	}
	if v.fast != nil && v.fast.proves(doc, len(body)) {
		return doc, nil, nil
	}
	err, stopped := v.copies.validate(doc, deadline)
	if stopped {
		return doc, nil, ErrTimeLimit
	}
	if err == nil {
		return doc, nil, nil
	}
	var verr *jsonschema.ValidationError
	if !errors.As(err, &verr) {
		return doc, []Violation{{Loc: []any{"body"}, Msg: err.Error(), Type: "schema"}}, nil
	}
	out := make([]Violation, 0, 4)
	flatten(verr, doc, &out)
	sortViolations(out)
	return doc, out, nil
}

// Prover is a Validator that can prove a body valid in time linear in
// its size (the fast path), without the library; callers bound the
// library's validations, not these.
type Prover interface {
	// Prove reports whether the fast path proves body valid; false says
	// nothing (Validate decides). parsed is the document when the proof
	// parsed it, nil when it walked the body without building it (a
	// body of JSON null is then not parsed either: the caller parses
	// when it needs the document); shape is what that walk saw.
	Prove(body []byte) (parsed any, shape jsonwalk.Shape, ok bool)
}

// Linear is a Validator whose every validation takes time linear in the
// body's size, as an XSD's (the patterns it may hold are bounded when it
// is compiled): callers need not bound how many run at once.
type Linear interface {
	Validator
	linear()
}

// Prove is the fast path alone: a body it proves is one Validate accepts.
// A schema that streams proves it without parsing (parsed is then nil).
func (v *jsonValidator) Prove(body []byte) (any, jsonwalk.Shape, bool) {
	if v.fast == nil || len(body) == 0 {
		return nil, jsonwalk.Shape{}, false
	}
	if v.streams {
		shape, ok := provesStreaming(v.fast, body)
		return nil, shape, ok
	}
	if !utf8.Valid(body) {
		return nil, jsonwalk.Shape{}, false
	}
	doc, err := parseJSONBody(body)
	if err != nil || hasBadNumber(doc) || !v.fast.proves(doc, len(body)) {
		return nil, jsonwalk.Shape{}, false
	}
	return doc, jsonwalk.Shape{}, true
}

// firstInvalidUTF8 is the offset of the first byte of b that is not valid
// UTF-8.
func firstInvalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size <= 1 {
			return i
		}
		i += size
	}
	return len(b)
}

// flatten appends one Violation per leaf of the error tree.
func flatten(e *jsonschema.ValidationError, doc any, out *[]Violation) {
	if len(*out) >= maxViolations {
		return
	}
	if len(e.Causes) > 0 {
		for _, c := range e.Causes {
			flatten(c, doc, out)
		}
		return
	}
	if ap, ok := e.ErrorKind.(*kind.AdditionalProperties); ok {
		slices.Sort(ap.Properties)
	}
	*out = append(*out, Violation{
		Loc:  instanceLoc(doc, e.InstanceLocation),
		Msg:  e.ErrorKind.LocalizedString(msgPrinter),
		Type: keyword(e.ErrorKind),
	})
}

// instanceLoc turns a JSON pointer's tokens into ["body", …] with ints for
// array indexes, found by walking the parsed document.
func instanceLoc(doc any, tokens []string) []any {
	loc := make([]any, 0, len(tokens)+1)
	loc = append(loc, "body")
	cur := doc
	for _, tok := range tokens {
		switch c := cur.(type) {
		case []any:
			if i, err := strconv.Atoi(tok); err == nil && i >= 0 && i < len(c) {
				loc = append(loc, i)
				cur = c[i]
				continue
			}
			cur = nil
		case map[string]any:
			cur = c[tok]
		default:
			cur = nil
		}
		loc = append(loc, tok)
	}
	return loc
}

func keyword(k jsonschema.ErrorKind) string {
	if p := k.KeywordPath(); len(p) > 0 {
		return p[0]
	}
	switch k.(type) {
	case *kind.Not:
		return "not"
	case *kind.FalseSchema:
		return "false_schema"
	case *kind.RefCycle:
		return "$ref"
	case *kind.InvalidJsonValue:
		return "json_invalid"
	}
	return "schema"
}

// jsonErrorText names a JSON syntax error with its line and column.
func jsonErrorText(src []byte, err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		line, col := lineCol(src, se.Offset)
		return fmt.Sprintf("line %d, column %d: %v", line, col, se)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return "unexpected end of input"
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		line, col := lineCol(src, te.Offset)
		return fmt.Sprintf("line %d, column %d: %v", line, col, te)
	}
	return err.Error()
}

// lineCol gives the 1-based line and column of the byte at which the
// decoder stopped (encoding/json offsets count that byte).
func lineCol(src []byte, off int64) (int, int) {
	pos := int(min(max(off-1, 0), int64(len(src))))
	before := src[:pos]
	line := bytes.Count(before, []byte{'\n'}) + 1
	col := pos - bytes.LastIndexByte(before, '\n')
	return line, col
}
