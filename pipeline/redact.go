package pipeline

import (
	"bytes"
	"cmp"
	"regexp"
	"slices"
	"strings"
)

// quoted matches a Go- or Starlark-quoted string in an error message.
var quoted = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'`)

// word matches a run of characters that could carry a value.
var word = regexp.MustCompile(`[^\s"'` + "`" + `,;()\[\]{}]{4,}`)

// redactedMark replaces what may not reach the log.
const redactedMark = "…"

// redact removes from a snippet error what came from the request body, the
// credential headers or a secret, so that the full error (kind, line,
// message) can be logged without them: quoted strings and words of four or
// more characters found in the body or credentials become "…", and so does
// any secret value. It runs only on failures.
func redact(msg string, body []byte, credentials []string, secrets []string) string {
	for _, s := range secrets {
		if len(s) >= 4 {
			msg = strings.ReplaceAll(msg, s, redactedMark)
		}
	}
	sensitive := func(s string) bool {
		if len(s) < 3 {
			return false
		}
		if bytes.Contains(body, []byte(s)) {
			return true
		}
		for _, c := range credentials {
			if c != "" && strings.Contains(c, s) {
				return true
			}
		}
		return false
	}
	msg = quoted.ReplaceAllStringFunc(msg, func(q string) string {
		if sensitive(q[1 : len(q)-1]) {
			return `"` + redactedMark + `"`
		}
		return q
	})
	return word.ReplaceAllStringFunc(msg, func(w string) string {
		if sensitive(w) {
			return redactedMark
		}
		return w
	})
}

// minRedacted is the shortest secret value redacted: shorter values would
// blank out ordinary words.
const minRedacted = 4

// newSecretRedactor replaces every secret value (of minRedacted bytes or
// more) with the redaction mark, longest first so that a secret holding
// another is replaced whole. It returns nil when there is nothing to
// redact.
func newSecretRedactor(secrets []string) *strings.Replacer {
	vals := make([]string, 0, len(secrets))
	for _, s := range secrets {
		if len(s) >= minRedacted {
			vals = append(vals, s)
		}
	}
	if len(vals) == 0 {
		return nil
	}
	slices.SortFunc(vals, func(a, b string) int { return cmp.Or(cmp.Compare(len(b), len(a)), strings.Compare(a, b)) })
	pairs := make([]string, 0, 2*len(vals))
	for _, v := range vals {
		pairs = append(pairs, v, redactedMark)
	}
	return strings.NewReplacer(pairs...)
}

// redactSecrets removes the secret values from words of a program that
// leave the process: log() and print() lines, dry-run errors.
func (p *Pipeline) redactSecrets(s string) string {
	if p.secrets == nil {
		return s
	}
	return p.secrets.Replace(s)
}
