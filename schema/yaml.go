package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// yamlMaxValues bounds how many JSON values a YAML schema may expand to,
// aliases included, so that an alias bomb fails instead of eating memory.
const yamlMaxValues = 100_000

// yamlMaxDepth bounds nesting, which also stops alias cycles.
const yamlMaxDepth = 512

// jsonNumber matches the JSON number grammar (RFC 8259 §6).
var jsonNumber = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$`)

// yamlToJSON parses a single YAML document into the values encoding/json
// produces with UseNumber: map[string]any, []any, string, json.Number,
// bool and nil. Timestamps, binary and other scalar tags stay strings as
// written, so an unquoted date is the string "2024-01-02".
func yamlToJSON(src []byte) (any, error) {
	dec := yaml.NewDecoder(bytes.NewReader(src))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("schema is empty")
		}
		return nil, err
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("line %d: a schema is a single YAML document, found another", extra.Line)
	}
	c := yamlConverter{budget: yamlMaxValues}
	return c.convert(&doc, 0)
}

type yamlConverter struct {
	budget int
}

func (c *yamlConverter) convert(n *yaml.Node, depth int) (any, error) {
	if depth > yamlMaxDepth {
		return nil, fmt.Errorf("line %d, column %d: nesting deeper than %d (or an alias cycle)", n.Line, n.Column, yamlMaxDepth)
	}
	c.budget--
	if c.budget < 0 {
		return nil, fmt.Errorf("line %d, column %d: schema expands to more than %d values (alias bomb?)", n.Line, n.Column, yamlMaxValues)
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, errors.New("schema is empty")
		}
		return c.convert(n.Content[0], depth)
	case yaml.AliasNode:
		return c.convert(n.Alias, depth+1)
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for _, item := range n.Content {
			v, err := c.convert(item, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.MappingNode:
		out := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind == yaml.AliasNode {
				k = k.Alias
			}
			if k.Kind != yaml.ScalarNode || k.ShortTag() != "!!str" {
				tag := k.ShortTag()
				if k.ShortTag() == "!!merge" {
					return nil, fmt.Errorf("line %d, column %d: merge keys (<<) are not supported", k.Line, k.Column)
				}
				return nil, fmt.Errorf("line %d, column %d: mapping key %q is a %s, not a string (quote it)", k.Line, k.Column, k.Value, strings.TrimPrefix(tag, "!!"))
			}
			if _, dup := out[k.Value]; dup {
				return nil, fmt.Errorf("line %d, column %d: duplicate key %q", k.Line, k.Column, k.Value)
			}
			val, err := c.convert(v, depth+1)
			if err != nil {
				return nil, err
			}
			out[k.Value] = val
		}
		return out, nil
	case yaml.ScalarNode:
		return yamlScalar(n)
	}
	return nil, fmt.Errorf("line %d, column %d: unsupported YAML node", n.Line, n.Column)
}

func yamlScalar(n *yaml.Node) (any, error) {
	switch n.ShortTag() {
	case "!!null":
		return nil, nil
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err != nil {
			return nil, fmt.Errorf("line %d, column %d: %v", n.Line, n.Column, err)
		}
		return b, nil
	case "!!int":
		return yamlInt(n)
	case "!!float":
		return yamlFloat(n)
	case "!!str", "!!timestamp", "!!binary":
		return n.Value, nil
	}
	return nil, fmt.Errorf("line %d, column %d: unsupported YAML tag %s", n.Line, n.Column, n.Tag)
}

// yamlInt keeps the digits as written when they already form a JSON
// number, and converts other YAML 1.1/1.2 spellings (0x1f, 0o17, 1_000)
// through math/big so that nothing is rounded.
func yamlInt(n *yaml.Node) (any, error) {
	s := n.Value
	if jsonNumber.MatchString(s) {
		return json.Number(s), nil
	}
	clean := strings.ReplaceAll(strings.TrimPrefix(s, "+"), "_", "")
	neg := strings.HasPrefix(clean, "-")
	clean = strings.TrimPrefix(clean, "-")
	base := 10
	switch {
	case strings.HasPrefix(clean, "0x"), strings.HasPrefix(clean, "0X"):
		base, clean = 16, clean[2:]
	case strings.HasPrefix(clean, "0o"), strings.HasPrefix(clean, "0O"):
		base, clean = 8, clean[2:]
	case strings.HasPrefix(clean, "0b"), strings.HasPrefix(clean, "0B"):
		base, clean = 2, clean[2:]
	case len(clean) > 1 && clean[0] == '0':
		base, clean = 8, clean[1:]
	}
	i, ok := new(big.Int).SetString(clean, base)
	if !ok {
		return nil, fmt.Errorf("line %d, column %d: cannot read integer %q", n.Line, n.Column, s)
	}
	if neg {
		i.Neg(i)
	}
	return json.Number(i.String()), nil
}

func yamlFloat(n *yaml.Node) (any, error) {
	s := n.Value
	if jsonNumber.MatchString(s) {
		return json.Number(s), nil
	}
	lower := strings.ToLower(s)
	if strings.Contains(lower, "inf") || strings.Contains(lower, "nan") {
		return nil, fmt.Errorf("line %d, column %d: %s is not a JSON number", n.Line, n.Column, s)
	}
	f, _, err := big.ParseFloat(strings.ReplaceAll(s, "_", ""), 10, 256, big.ToNearestEven)
	if err != nil {
		return nil, fmt.Errorf("line %d, column %d: cannot read number %q", n.Line, n.Column, s)
	}
	out := f.Text('g', -1)
	if !jsonNumber.MatchString(out) {
		return nil, fmt.Errorf("line %d, column %d: cannot read number %q", n.Line, n.Column, s)
	}
	return json.Number(out), nil
}
