package endpoint

import (
	"bytes"
	"regexp"
	"strings"
)

// quoted matches a Go- or Starlark-quoted string in an error message.
var quoted = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'`)

// redactedMark replaces what may not reach the log.
const redactedMark = `"…"`

// redact removes from a snippet error what came from the request body, the
// credentials headers or a secret, so that the full error (kind, line,
// message) can be logged without them. It runs only on failures.
func redact(msg string, body []byte, credentials []string, secrets []string) string {
	for _, s := range secrets {
		if len(s) >= 4 {
			msg = strings.ReplaceAll(msg, s, "…")
		}
	}
	return quoted.ReplaceAllStringFunc(msg, func(q string) string {
		inner := q[1 : len(q)-1]
		if len(inner) < 3 {
			return q
		}
		if bytes.Contains(body, []byte(inner)) {
			return redactedMark
		}
		for _, c := range credentials {
			if c != "" && strings.Contains(c, inner) {
				return redactedMark
			}
		}
		return q
	})
}
