package schema

import (
	"fmt"
	"mime"
	"strings"
)

// Compile parses and compiles source for bodies of contentType, which is
// application/json (a JSON Schema 2020-12 written as JSON or YAML) or
// application/xml (an XSD). The error names the problem, with line and
// column where the parser reports them. The result is immutable and safe
// for concurrent use.
func Compile(contentType, source string) (Validator, error) {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		mt = strings.ToLower(strings.TrimSpace(contentType))
	}
	switch mt {
	case "application/json":
		return compileJSON(source)
	case "application/xml":
		return compileXSD(source)
	}
	return nil, fmt.Errorf("compiling schema: content type %q takes no schema (only application/json and application/xml do)", contentType)
}
