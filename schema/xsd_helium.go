//go:build !cgo

package schema

import (
	"context"
	"errors"
	"strings"

	"github.com/lestrrat-go/helium"
	"github.com/lestrrat-go/helium/xsd"
)

// heliumBackend validates with the pure-Go helium, used when cgo is off.
// helium.NewParser's defaults already refuse external entities and DTDs,
// network access and file access, and substitute no entities; the schema
// compiler's default file system refuses every open.
type heliumBackend struct {
	schema *xsd.Schema
}

// xmlParser parses both XSDs and bodies.
var xmlParser = helium.NewParser().SuppressErrors(true).SuppressWarnings(true)

func newXSDBackend(src []byte) (xsdBackend, error) {
	// helium compiles these and then refuses every body; libxml2 refuses
	// them here
	if err := checkXSDRefs(src); err != nil {
		return nil, err
	}
	ctx := context.Background()
	doc, err := xmlParser.Parse(ctx, src)
	if err != nil {
		return nil, errors.New(firstLine(err.Error()))
	}
	var h collector
	s, err := xsd.NewCompiler().Label("schema").ErrorHandler(&h).Compile(ctx, doc)
	if err != nil {
		if len(h.msgs) == 0 {
			return nil, err
		}
		return nil, errors.New(strings.Join(h.msgs[:min(len(h.msgs), 5)], "; "))
	}
	return &heliumBackend{schema: s}, nil
}

func (b *heliumBackend) validate(body []byte) ([]xmlIssue, error) {
	ctx := context.Background()
	doc, err := xmlParser.Parse(ctx, body)
	if err != nil {
		return nil, errors.New(firstLine(err.Error()))
	}
	var h collector
	if err := xsd.NewValidator(b.schema).Label("body").ErrorHandler(&h).Validate(ctx, doc); err == nil {
		return nil, nil
	}
	if len(h.issues) == 0 {
		return []xmlIssue{{msg: "the body does not match the XSD"}}, nil
	}
	for i := range h.issues {
		h.issues[i].path = elementPath(doc, h.issues[i].line, h.issues[i].path)
	}
	return h.issues, nil
}

// checkPatternBackend adds nothing to checkXSDPattern for helium.
func checkPatternBackend(string) error { return nil }

// collector gathers helium's compile messages and validation errors.
type collector struct {
	msgs   []string
	issues []xmlIssue
}

func (c *collector) Handle(_ context.Context, err error) {
	if l, ok := err.(helium.ErrorLeveler); !ok || l.ErrorLevel() < helium.ErrorLevelError {
		return
	}
	var ve *xsd.ValidationError
	if errors.As(err, &ve) {
		if len(c.issues) == maxViolations {
			return
		}
		name := ve.Element
		if i := strings.LastIndexByte(name, '}'); i >= 0 {
			name = name[i+1:]
		}
		is := xmlIssue{line: ve.Line, path: []string{name}}
		msg := "Element '" + ve.Element + "'"
		if ve.AttributeName != "" {
			msg += ", attribute '" + ve.AttributeName + "'"
			is.path = append(is.path, "@"+ve.AttributeName)
		}
		is.msg = msg + ": " + ve.Message
		c.issues = append(c.issues, is)
		return
	}
	if len(c.msgs) < maxViolations {
		c.msgs = append(c.msgs, strings.TrimSpace(err.Error()))
	}
}

// elementPath turns the element (and attribute) named by helium into the
// path from the root, when exactly one element of that name starts on that
// line; otherwise the name alone is kept.
func elementPath(doc *helium.Document, line int, named []string) []string {
	if line <= 0 || len(named) == 0 {
		return named
	}
	var found []string
	matches := 0
	var walk func(n helium.Node, path []string)
	walk = func(n helium.Node, path []string) {
		for c := n.FirstChild(); c != nil; c = c.NextSibling() {
			el, ok := c.(*helium.Element)
			if !ok {
				continue
			}
			p := append(path[:len(path):len(path)], el.LocalName())
			if el.LocalName() == named[0] && el.Line() == line {
				matches++
				found = p
			}
			walk(el, p)
		}
	}
	walk(doc, nil)
	if matches != 1 {
		return named
	}
	return append(found, named[1:]...)
}

// firstLine drops the source excerpt helium appends to parse errors.
func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return strings.TrimSpace(s)
}
