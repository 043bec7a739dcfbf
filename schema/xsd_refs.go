package schema

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
)

// xsdNS is the namespace of XML Schema.
const xsdNS = "http://www.w3.org/2001/XMLSchema"

// builtinTypes are the types XML Schema 1.0 defines.
var builtinTypes = func() map[string]bool {
	m := map[string]bool{}
	for _, t := range strings.Fields(`anyType anySimpleType string normalizedString token language Name NCName
		ID IDREF IDREFS ENTITY ENTITIES NMTOKEN NMTOKENS QName NOTATION boolean decimal integer
		nonPositiveInteger negativeInteger long int short byte nonNegativeInteger unsignedLong
		unsignedInt unsignedShort unsignedByte positiveInteger float double duration dateTime time
		date gYearMonth gYear gMonthDay gDay gMonth hexBinary base64Binary anyURI`) {
		m[t] = true
	}
	return m
}()

// checkXSDRefs refuses what libxml2 refuses at compile time and helium
// would only fail on at validation: a type reference (type, base,
// itemType, memberTypes) that names neither a built-in type nor a type of
// the schema, and the XSD 1.1 assertions (xs:assert, xs:assertion), which
// neither backend evaluates. References into a namespace the schema only
// imports are not checked.
func checkXSDRefs(src []byte) error {
	dec := xml.NewDecoder(bytes.NewReader(src))
	w := &xsdRefs{defined: map[string]bool{}}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil // well-formedness is the parser's to report
		}
		switch t := tok.(type) {
		case xml.StartElement:
			line, _ := dec.InputPos()
			if err := w.start(t, line); err != nil {
				return err
			}
		case xml.EndElement:
			w.depth--
			w.scopes = w.scopes[:len(w.scopes)-1]
		}
	}
	return w.check()
}

// xsdRefs walks a schema's elements, collecting the types it defines and
// the type references it makes.
type xsdRefs struct {
	// scopes are the namespace prefixes in scope, innermost last: prefix
	// → namespace ("" is the default).
	scopes  []map[string]string
	refs    []xsdRef
	defined map[string]bool // "{ns}local"
	target  string
	depth   int
}

// xsdRef is one type reference of a schema.
type xsdRef struct {
	ns, local, raw string
	line           int
}

// lookup finds the namespace of prefix in scope.
func (w *xsdRefs) lookup(prefix string) (string, bool) {
	for i := len(w.scopes) - 1; i >= 0; i-- {
		if ns, ok := w.scopes[i][prefix]; ok {
			return ns, true
		}
	}
	return "", prefix == ""
}

// start enters an element at line: its namespace declarations, and for
// an XML Schema element what it defines and references.
func (w *xsdRefs) start(t xml.StartElement, line int) error {
	w.depth++
	sc := map[string]string{}
	for _, a := range t.Attr {
		switch {
		case a.Name.Space == "xmlns":
			sc[a.Name.Local] = a.Value
		case a.Name.Space == "" && a.Name.Local == "xmlns":
			sc[""] = a.Value
		}
	}
	w.scopes = append(w.scopes, sc)
	if t.Name.Space != xsdNS {
		return nil
	}
	switch t.Name.Local {
	case "assert", "assertion":
		return fmt.Errorf("line %d: xs:%s is XSD 1.1, which is not supported", line, t.Name.Local)
	case "schema":
		if w.depth == 1 {
			w.target = attr(t, "targetNamespace", w.target)
		}
	case "simpleType", "complexType":
		if name := attr(t, "name", ""); w.depth == 2 && name != "" {
			w.defined["{"+w.target+"}"+name] = true
		}
	}
	return w.collect(t, line)
}

// attr is the value of t's unqualified attribute name, or else def.
func attr(t xml.StartElement, name, def string) string {
	for _, a := range t.Attr {
		if a.Name.Space == "" && a.Name.Local == name {
			def = a.Value
		}
	}
	return def
}

// collect records the type references of t's attributes.
func (w *xsdRefs) collect(t xml.StartElement, line int) error {
	for _, a := range t.Attr {
		if a.Name.Space != "" {
			continue
		}
		var names []string
		switch a.Name.Local {
		case "type", "base", "itemType":
			names = []string{strings.TrimSpace(a.Value)}
		case "memberTypes":
			names = strings.Fields(a.Value)
		}
		for _, qn := range names {
			prefix, local, ok := strings.Cut(qn, ":")
			if !ok {
				prefix, local = "", qn
			}
			ns, known := w.lookup(prefix)
			if !known {
				return fmt.Errorf("line %d: type %q: undeclared namespace prefix %q", line, qn, prefix)
			}
			w.refs = append(w.refs, xsdRef{ns: ns, local: local, raw: qn, line: line})
		}
	}
	return nil
}

// check resolves the references: built-in types, and types of the target
// namespace the schema defines.
func (w *xsdRefs) check() error {
	for _, r := range w.refs {
		switch {
		case r.ns == xsdNS:
			if !builtinTypes[r.local] {
				return fmt.Errorf("line %d: type %q is not a built-in XML Schema type", r.line, r.raw)
			}
		case r.ns == w.target:
			if !w.defined["{"+r.ns+"}"+r.local] {
				return fmt.Errorf("line %d: type %q is not defined in the schema", r.line, r.raw)
			}
		}
	}
	return nil
}
