package schema

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// xsdBackend is one XSD engine: libxml2 through cgo (xsd_libxml2.go) or
// the pure-Go helium (xsd_helium.go), chosen by the cgo build tag. The
// front (this file) checks the XSD and each body before a backend sees
// them, and turns what the backend reports into Violations.
type xsdBackend interface {
	// validate parses body, which passed checkXMLProlog, without entity
	// substitution, DTD loading or network access, then validates it.
	// A parse failure is returned as parseErr; schema violations as issues.
	validate(body []byte) (issues []xmlIssue, parseErr error)
}

// xmlIssue is one XSD violation as a backend reports it.
type xmlIssue struct {
	// path holds element names from the root down to the failing node;
	// a failing attribute is last, as "@name". Empty when unknown.
	path []string
	// line is the body line of the failing node, 0 when unknown.
	line int
	msg  string
}

type xsdValidator struct {
	backend xsdBackend
}

func compileXSD(source string) (Validator, error) {
	src := []byte(source)
	if err := checkXSDSource(src); err != nil {
		return nil, err
	}
	// newXSDBackend comes from xsd_libxml2.go or xsd_helium.go.
	be, err := newXSDBackend(src)
	if err != nil {
		return nil, fmt.Errorf("compiling XSD: %v", err)
	}
	return &xsdValidator{backend: be}, nil
}

// ErrBackend is a validation the XSD backend could not run (libxml2 out
// of memory): it says nothing of the body.
var ErrBackend = errors.New("the XSD validator could not run")

// ValidateBy validates body: the patterns an XSD may hold are bounded when
// it is compiled, so an XSD validation is not stopped midway. Its error
// is ErrBackend.
func (v *xsdValidator) ValidateBy(body []byte, _ time.Time) (any, []Violation, error) {
	out, err := v.check(body)
	return nil, out, err
}

// linear marks an XSD validation as Linear.
func (v *xsdValidator) linear() {}

// Validate checks body against the XSD; parsed is always nil. A
// validation the backend could not run is one violation of type
// "internal".
func (v *xsdValidator) Validate(body []byte) (any, []Violation) {
	out, err := v.check(body)
	if err != nil {
		return nil, []Violation{{Loc: []any{"body"}, Msg: err.Error(), Type: "internal"}}
	}
	return nil, out
}

// check is the validation of body: its violations, or ErrBackend.
func (v *xsdValidator) check(body []byte) ([]Violation, error) {
	if err := checkXMLProlog(body); err != nil {
		return []Violation{{Loc: []any{"body"}, Msg: err.Error(), Type: "xml_invalid"}}, nil
	}
	if err := checkXMLAttributes(body); err != nil {
		return []Violation{{Loc: []any{"body"}, Msg: err.Error(), Type: "xml_invalid"}}, nil
	}
	issues, perr := v.backend.validate(body)
	if errors.Is(perr, ErrBackend) {
		return nil, perr
	}
	if perr != nil {
		return []Violation{{Loc: []any{"body"}, Msg: "invalid XML: " + perr.Error(), Type: "xml_invalid"}}, nil
	}
	if len(issues) == 0 {
		return nil, nil
	}
	out := make([]Violation, 0, min(len(issues), maxViolations))
	for _, is := range issues {
		if len(out) == maxViolations {
			break
		}
		loc := make([]any, 0, len(is.path)+1)
		loc = append(loc, "body")
		for _, p := range is.path {
			loc = append(loc, p)
		}
		msg := strings.TrimSpace(is.msg)
		if msg == "" {
			msg = "the body does not match the XSD"
		}
		if is.line > 0 {
			msg = "line " + strconv.Itoa(is.line) + ": " + msg
		}
		out = append(out, Violation{Loc: loc, Msg: msg, Type: "xml_schema"})
	}
	sortViolations(out)
	return out, nil
}

// checkXSDSource refuses, before any backend parses it, an XSD that could
// reach outside itself: a DOCTYPE (entities, external DTD), or an include,
// import, redefine or override carrying a schemaLocation. An import with
// only a namespace stays allowed. The XSD must be UTF-8.
func checkXSDSource(src []byte) error {
	if err := checkXMLProlog(src); err != nil {
		return fmt.Errorf("compiling XSD: %v", err)
	}
	d := xml.NewDecoder(bytes.NewReader(src))
	d.Strict = true
	depth := 0
	for {
		tok, err := d.RawToken()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("parsing XSD: %v", err)
		}
		switch t := tok.(type) {
		case xml.Directive:
			line, _ := d.InputPos()
			return fmt.Errorf("compiling XSD: line %d: DOCTYPE and other <! declarations are not allowed", line)
		case xml.EndElement:
			depth--
		case xml.StartElement:
			if depth++; depth > MaxSchemaDepth {
				line, _ := d.InputPos()
				return fmt.Errorf("compiling XSD: line %d: elements nest more than %d levels deep", line, MaxSchemaDepth)
			}
			if t.Name.Local == "pattern" {
				for _, a := range t.Attr {
					if a.Name.Local != "value" {
						continue
					}
					if err := checkXSDPattern(a.Value); err != nil {
						line, _ := d.InputPos()
						return fmt.Errorf("compiling XSD: line %d: pattern %q: %v", line, shortPattern(a.Value), err)
					}
				}
			}
			switch t.Name.Local {
			case "include", "import", "redefine", "override":
			default:
				continue
			}
			for _, a := range t.Attr {
				if a.Name.Local == "schemaLocation" {
					line, _ := d.InputPos()
					return fmt.Errorf("compiling XSD: line %d: %s with a schemaLocation is not allowed: a schema cannot load other files", line, t.Name.Local)
				}
			}
		}
	}
}

// maxPatternCount is the largest count ({n} or {n,m}) a pattern facet may
// use: the pure-Go backend evaluates larger counts by backtracking.
const maxPatternCount = 1000

// checkXSDPattern refuses, in both builds, a pattern facet that an XSD
// backend cannot evaluate in time bounded by the length of the value:
// character class subtraction ([a-z-[q]]) and counts over
// maxPatternCount send the pure-Go backend to a backtracking engine, and
// with libxml2 a pattern must also compile to a deterministic automaton
// (checkPatternBackend, xsd_libxml2.go).
func checkXSDPattern(p string) error {
	inClass := false
	for i := 0; i < len(p); i++ {
		switch c := p[i]; {
		case c == '\\':
			i++
		case c == '[' && inClass && i > 0 && p[i-1] == '-':
			return errors.New("character class subtraction is not supported: its evaluation time is not bounded; list the characters instead")
		case c == '[':
			inClass = true
		case c == ']':
			inClass = false
		case c == '{' && !inClass:
			n := 0
			for j := i + 1; j < len(p) && p[j] != '}'; j++ {
				if p[j] >= '0' && p[j] <= '9' {
					if n = n*10 + int(p[j]-'0'); n > maxPatternCount {
						return fmt.Errorf("counts above %d are not supported: their evaluation time is not bounded", maxPatternCount)
					}
				} else {
					n = 0
				}
			}
		}
	}
	if err := checkNestedRepeat(p); err != nil {
		return err
	}
	return checkPatternBackend(p)
}

// checkNestedRepeat refuses a repeated group (+, *, or a count above one)
// that itself holds a repetition or an alternative, as (a|aa)+ or
// (x+x+)+: a backtracking engine tries exponentially many ways to split a
// value among them.
func checkNestedRepeat(p string) error {
	type group struct{ repeats, alternates bool }
	var stack []group
	cur := group{}
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '\\':
			i++
		case '[':
			i = classEnd(p, i)
		case '(':
			stack = append(stack, cur)
			cur = group{}
			continue
		case ')':
			inner := cur
			if len(stack) > 0 {
				cur, stack = stack[len(stack)-1], stack[:len(stack)-1]
			}
			if repeatAt(p, i+1) && (inner.repeats || inner.alternates) {
				return errors.New("a repeated group that holds a repetition or alternatives (as (a|aa)+ or (x+x+)+) cannot be checked in bounded time; write each character's one way to match (a+, x{2,})")
			}
			cur.repeats = cur.repeats || inner.repeats
			cur.alternates = cur.alternates || inner.alternates
		case '|':
			cur.alternates = true
			continue
		}
		// the atom that ends at i (a character, an escape, a class or a
		// group) repeats when a quantifier follows it
		if repeatAt(p, i+1) {
			cur.repeats = true
		}
	}
	return nil
}

// repeatAt reports whether a quantifier that repeats (+, *, or a range
// {n,m} above one) stands at p[i].
func repeatAt(p string, i int) bool {
	if i >= len(p) {
		return false
	}
	switch p[i] {
	case '*', '+':
		return true
	case '{':
		end := strings.IndexByte(p[i:], '}')
		if end < 0 {
			return false
		}
		// a fixed count {n} matches one length: only a range repeats
		lo, hi, comma := strings.Cut(p[i+1:i+end], ",")
		return comma && hi != lo && hi != "0" && hi != "1"
	}
	return false
}

// classEnd is the index of the ] that closes the character class opened
// at p[i] (len(p) when it is not closed).
func classEnd(p string, i int) int {
	depth := 0
	for ; i < len(p); i++ {
		if p[i] == '\\' {
			i++
		} else if p[i] == '[' {
			depth++
		} else if p[i] == ']' {
			if depth--; depth == 0 {
				break
			}
		}
	}
	return i
}

func shortPattern(p string) string {
	if len(p) > 60 {
		return p[:60] + "…"
	}
	return p
}

// checkXMLProlog refuses what must never reach an XML parser: an empty
// document, NUL bytes and encodings that are not ASCII-compatible (which
// would hide the markup below from a byte scan), and any <! declaration
// before the root element. A DOCTYPE can only appear there, and ENTITY
// declarations only inside it, so this refuses XXE and entity expansion
// bombs before parsing. Comments and processing instructions pass.
func checkXMLProlog(b []byte) error {
	if len(bytes.TrimSpace(b)) == 0 {
		return errors.New("body is empty")
	}
	if bytes.IndexByte(b, 0) >= 0 {
		return errors.New("invalid XML: NUL byte")
	}
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	for i := 0; ; {
		for i < len(b) && isXMLSpace(b[i]) {
			i++
		}
		rest := b[i:]
		switch {
		case len(rest) == 0:
			return errors.New("invalid XML: no root element")
		case rest[0] != '<':
			return errors.New("invalid XML: content before the root element (or a non-UTF-8 encoding)")
		case bytes.HasPrefix(rest, []byte("<?")):
			end := bytes.Index(rest, []byte("?>"))
			if end < 0 {
				return errors.New("invalid XML: unterminated processing instruction")
			}
			if i == 0 && bytes.HasPrefix(rest, []byte("<?xml")) && len(rest) > 5 && isXMLSpace(rest[5]) {
				if err := checkXMLDeclEncoding(rest[5:end]); err != nil {
					return err
				}
			}
			i += end + 2
		case bytes.HasPrefix(rest, []byte("<!--")):
			end := bytes.Index(rest[4:], []byte("-->"))
			if end < 0 {
				return errors.New("invalid XML: unterminated comment")
			}
			i += 4 + end + 3
		case bytes.HasPrefix(rest, []byte("<!")):
			return errors.New("invalid XML: DOCTYPE and ENTITY declarations are not allowed")
		default:
			return nil
		}
	}
}

// MaxXMLAttributes is the most attributes (namespace declarations
// included) one element of a body may carry. Both backends compare each
// attribute of an element with the ones before it, so an element's cost
// grows with the square of its attributes: a 1 MiB body of 100,000 took
// about 17 s of CPU, in libxml2's C code that cannot be stopped. At 128,
// a body of such elements costs about what any other body of its size
// does.
const MaxXMLAttributes = 128

// MaxXMLNamespaces is the most namespace declarations (xmlns and
// xmlns:prefix attributes) a whole body may carry. Each prefixed name is
// looked up through the declarations in scope: 200 levels of 128
// declarations over 54,000 prefixed attributes took 7.3 s.
const MaxXMLNamespaces = 128

// checkXMLAttributes refuses a body with an element of more than
// MaxXMLAttributes attributes or more than MaxXMLNamespaces namespace
// declarations, in one pass. Each '<' may start a tag (libxml2 goes on
// parsing after an error, so the scan cannot trust comments, CDATA
// sections, processing instructions or quotes to be closed): a '<' that
// is not "<!" or "<?" opens a tag, which ends at '>' outside quotes or
// at the next '<' (which no value may hold), and each '=' outside quotes
// in it is an attribute. A comment, CDATA section or processing
// instruction is thus read as text, whose '<' opens tags too: one holding
// "<x" and more than MaxXMLAttributes '=' before a '>' is refused.
func checkXMLAttributes(b []byte) error {
	namespaces := 0
	for i := 0; i < len(b); {
		j := bytes.IndexByte(b[i:], '<')
		if j < 0 {
			return nil
		}
		i += j + 1
		if i < len(b) && (b[i] == '!' || b[i] == '?') {
			continue
		}
		n, quote, name := 0, byte(0), i
	tag:
		for ; i < len(b); i++ {
			switch c := b[i]; {
			case c == '<':
				break tag
			case quote != 0:
				if c == quote {
					quote, name = 0, i+1
				}
			case c == '"' || c == '\'':
				quote = c
			case c == '>':
				i++
				break tag
			case c == '=':
				if n++; n > MaxXMLAttributes {
					return fmt.Errorf("invalid XML: an element carries more than %d attributes", MaxXMLAttributes)
				}
				if isXMLNSName(bytes.TrimSpace(b[name:i])) {
					if namespaces++; namespaces > MaxXMLNamespaces {
						return fmt.Errorf("invalid XML: the body declares more than %d namespaces", MaxXMLNamespaces)
					}
				}
			case isXMLSpace(c):
				// the next name starts after this space, unless '=' comes
				// first (the space before '=')
				if k := i + 1; k < len(b) && !isXMLSpace(b[k]) && b[k] != '=' {
					name = k
				}
			}
		}
	}
	return nil
}

// isXMLNSName reports whether an attribute name declares a namespace.
func isXMLNSName(name []byte) bool {
	return bytes.HasPrefix(name, []byte("xmlns")) && (len(name) == 5 || name[5] == ':')
}

// checkXMLDeclEncoding allows only ASCII-compatible encodings in the XML
// declaration, so that the prolog scan sees the markup a parser will see.
func checkXMLDeclEncoding(decl []byte) error {
	i := bytes.Index(decl, []byte("encoding"))
	if i < 0 {
		return nil
	}
	rest := bytes.TrimLeft(decl[i+len("encoding"):], " \t\r\n")
	if len(rest) == 0 || rest[0] != '=' {
		return errors.New("invalid XML: malformed encoding declaration")
	}
	rest = bytes.TrimLeft(rest[1:], " \t\r\n")
	if len(rest) < 2 || (rest[0] != '"' && rest[0] != '\'') {
		return errors.New("invalid XML: malformed encoding declaration")
	}
	end := bytes.IndexByte(rest[1:], rest[0])
	if end < 0 {
		return errors.New("invalid XML: malformed encoding declaration")
	}
	switch strings.ToLower(string(rest[1 : 1+end])) {
	case "utf-8", "utf8", "us-ascii", "ascii", "iso-8859-1", "latin1":
		return nil
	}
	return fmt.Errorf("invalid XML: encoding %q is not supported (use UTF-8)", rest[1:1+end])
}

func isXMLSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\n'
}
