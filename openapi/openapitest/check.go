// Package openapitest checks an OpenAPI 3.1 document for tests: that it
// is valid against the official OpenAPI 3.1 schema, and that every $ref
// in it resolves from the document.
//
// oas-3.1-schema-2022-10-07.json is the OpenAPI Initiative's schema of
// OpenAPI 3.1 documents, https://spec.openapis.org/oas/3.1/schema/2022-10-07
// (Apache-2.0), kept verbatim.
package openapitest

import (
	"bytes"
	_ "embed"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

//go:embed oas-3.1-schema-2022-10-07.json
var oasSchema []byte

const oasSchemaURL = "https://spec.openapis.org/oas/3.1/schema/2022-10-07"

// Check validates raw, an OpenAPI document as JSON, against the OpenAPI
// 3.1 schema and walks every "$ref" of it: each must be a fragment whose
// JSON Pointer leads to a value of the document.
func Check(raw []byte) error {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return fmt.Errorf("decoding the document: %v", err)
	}
	meta, err := jsonschema.UnmarshalJSON(bytes.NewReader(oasSchema))
	if err != nil {
		return fmt.Errorf("decoding the OpenAPI 3.1 schema: %v", err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(oasSchemaURL, meta); err != nil {
		return err
	}
	sch, err := c.Compile(oasSchemaURL)
	if err != nil {
		return fmt.Errorf("compiling the OpenAPI 3.1 schema: %v", err)
	}
	if err := sch.Validate(doc); err != nil {
		return fmt.Errorf("the document is not valid OpenAPI 3.1: %v", err)
	}
	var problems []string
	walkRefs(doc, "#", func(at, ref string) {
		if err := resolve(doc, ref); err != nil {
			problems = append(problems, fmt.Sprintf("%s: $ref %q: %v", at, ref, err))
		}
	})
	if len(problems) > 0 {
		return fmt.Errorf("unresolved references:\n%s", strings.Join(problems, "\n"))
	}
	return nil
}

// Refs lists every "$ref" value of the document, for tests that want to
// see some were checked.
func Refs(raw []byte) ([]string, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	var refs []string
	walkRefs(doc, "#", func(_, ref string) { refs = append(refs, ref) })
	return refs, nil
}

func walkRefs(v any, at string, found func(at, ref string)) {
	switch v := v.(type) {
	case map[string]any:
		for k, sub := range v {
			if k == "$ref" {
				if ref, ok := sub.(string); ok {
					found(at, ref)
					continue
				}
			}
			walkRefs(sub, at+"/"+k, found)
		}
	case []any:
		for i, sub := range v {
			walkRefs(sub, at+"/"+strconv.Itoa(i), found)
		}
	}
}

// resolve follows ref, which must be "#" and a JSON Pointer, from doc.
func resolve(doc any, ref string) error {
	frag, ok := strings.CutPrefix(ref, "#")
	if !ok {
		return fmt.Errorf("not a reference into the document")
	}
	frag, err := url.PathUnescape(frag)
	if err != nil {
		return err
	}
	if frag == "" {
		return nil
	}
	if !strings.HasPrefix(frag, "/") {
		return fmt.Errorf("not a JSON Pointer")
	}
	cur := doc
	for _, tok := range strings.Split(frag[1:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch c := cur.(type) {
		case map[string]any:
			next, ok := c[tok]
			if !ok {
				return fmt.Errorf("no member %q", tok)
			}
			cur = next
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(c) {
				return fmt.Errorf("no element %q", tok)
			}
			cur = c[i]
		default:
			return fmt.Errorf("%q leads into a scalar", tok)
		}
	}
	return nil
}
