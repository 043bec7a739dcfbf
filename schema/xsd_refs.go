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
	type scope map[string]string // prefix → namespace ("" is the default)
	var scopes []scope
	lookup := func(prefix string) (string, bool) {
		for i := len(scopes) - 1; i >= 0; i-- {
			if ns, ok := scopes[i][prefix]; ok {
				return ns, true
			}
		}
		return "", prefix == ""
	}
	type ref struct {
		ns, local, raw string
		line           int
	}
	var refs []ref
	defined := map[string]bool{} // "{ns}local"
	target := ""
	depth := 0
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
			depth++
			sc := scope{}
			for _, a := range t.Attr {
				switch {
				case a.Name.Space == "xmlns":
					sc[a.Name.Local] = a.Value
				case a.Name.Space == "" && a.Name.Local == "xmlns":
					sc[""] = a.Value
				}
			}
			scopes = append(scopes, sc)
			if t.Name.Space != xsdNS {
				continue
			}
			line, _ := dec.InputPos()
			switch t.Name.Local {
			case "assert", "assertion":
				return fmt.Errorf("line %d: xs:%s is XSD 1.1, which is not supported", line, t.Name.Local)
			case "schema":
				if depth == 1 {
					for _, a := range t.Attr {
						if a.Name.Space == "" && a.Name.Local == "targetNamespace" {
							target = a.Value
						}
					}
				}
			case "simpleType", "complexType":
				if depth == 2 {
					for _, a := range t.Attr {
						if a.Name.Space == "" && a.Name.Local == "name" {
							defined["{"+target+"}"+a.Value] = true
						}
					}
				}
			}
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
					ns, known := lookup(prefix)
					if !known {
						return fmt.Errorf("line %d: type %q: undeclared namespace prefix %q", line, qn, prefix)
					}
					refs = append(refs, ref{ns: ns, local: local, raw: qn, line: line})
				}
			}
		case xml.EndElement:
			depth--
			scopes = scopes[:len(scopes)-1]
		}
	}
	for _, r := range refs {
		switch {
		case r.ns == xsdNS:
			if !builtinTypes[r.local] {
				return fmt.Errorf("line %d: type %q is not a built-in XML Schema type", r.line, r.raw)
			}
		case r.ns == target:
			if !defined["{"+r.ns+"}"+r.local] {
				return fmt.Errorf("line %d: type %q is not defined in the schema", r.line, r.raw)
			}
		}
	}
	return nil
}
