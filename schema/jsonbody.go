package schema

import (
	"bytes"

	"github.com/caddy-endpoint/endpoint/internal/jsonwalk"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// parseJSONBody parses a request body as one JSON document. On a syntax
// error it parses again with encoding/json, whose errors carry the offset
// the message reports.
func parseJSONBody(body []byte) (any, error) {
	var doc any
	if err := jsonwalk.Decoder.Unmarshal(body, &doc); err == nil {
		return doc, nil
	}
	return jsonschema.UnmarshalJSON(bytes.NewReader(body))
}
