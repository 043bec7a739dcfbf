package schema

// Document returns a JSON Schema source (JSON or YAML) as plain JSON
// values, for embedding in an OpenAPI document.
func Document(source string) (any, error) {
	return decodeSchemaSource(source)
}
