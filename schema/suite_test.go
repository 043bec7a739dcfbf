package schema

import (
	"bufio"
	"encoding/json"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/caddy-endpoint/endpoint/internal/jsonwalk"
)

// suitePath is where the official JSON-Schema-Test-Suite's draft 2020-12
// folder is kept: ../shared/testdata beside the project's root (see its
// README), found from this package's directory upwards.
const suitePath = "shared/testdata/JSON-Schema-Test-Suite/draft2020-12"

func findSuite(t *testing.T) string {
	t.Helper()
	// a clone elsewhere names the suite's draft2020-12 folder itself
	if dir := os.Getenv("JSON_SCHEMA_SUITE"); dir != "" {
		return dir
	}
	dir, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	for {
		candidate := filepath.Join(filepath.Dir(dir), suitePath)
		if _, err := os.Stat(candidate); err == nil {
			return candidate
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("the JSON-Schema-Test-Suite is not at ../%s from the project's root or above it; set JSON_SCHEMA_SUITE to its draft2020-12 folder", suitePath)
		}
		dir = parent
	}
}

type suiteGroup struct {
	Description string          `json:"description"`
	Schema      json.RawMessage `json:"schema"`
	Tests       []struct {
		Description string          `json:"description"`
		Data        json.RawMessage `json:"data"`
		Valid       bool            `json:"valid"`
	} `json:"tests"`
}

// deviationsFile lists, one "file: group: test" per line, the tests of
// the suite whose expected answer the validator does not give (or
// "file: group" for a group whose schema it refuses); the test
// fails if one of them passes (so the list stays exact) or another fails.
// `go test ./schema/ -run TestJSONSchemaSuite -update-deviations` rewrites it.
const deviationsFile = "testdata/suite-deviations.txt"

var updateDeviations = flag.Bool("update-deviations", false, "rewrite "+deviationsFile)

// deviationReasons says, per file of the suite, why the validator answers
// some of its tests differently. Every listed deviation's file has one.
var deviationReasons = map[string]string{
	"optional/ecmascript-regex.json":        "patterns use Go's regexp (RE2: linear time, no lookaround or backreferences; \\d, \\w, \\s and \\b are ASCII), not ECMA-262",
	"optional/format/ecmascript-regex.json": "the regex format is Go's regexp syntax, not ECMA-262",
	"optional/format/hostname.json":         "the library's hostname format checks labels but does not decode A-labels (punycode) or apply IDNA 2008 rules",
	"optional/format/idn-hostname.json":     "idn-hostname is golang.org/x/net/idna's registration profile, which differs from the suite on contextual rules and some code points",
	"optional/format/idn-email.json":        "this project's idn-email (formats.go) refuses C1 controls in the local part and domain labels not in Unicode NFC",
	"optional/format/email.json":            "the library's email format accepts an empty local part",
	"optional/format/uri.json":              "the library's uri format is net/url's parser, which accepts some characters RFC 3986 does not",
	"optional/format/uri-reference.json":    "uri-reference is net/url's parser (see uri.json)",
	"optional/format/iri.json":              "iri is net/url's parser, which refuses an IPvFuture host with an uppercase version letter",
	"optional/format/uri-template.json":     "the library's uri-template format parses the template as a URL: it refuses some operators RFC 6570 allows and accepts some malformed expressions",
	"optional/format/duration.json":         "the library's duration format accepts some unit combinations RFC 3339 appendix A does not",
	"optional/format/ipv4.json":             "the library's ipv4 format accepts a leading plus sign",
}

func readDeviations(t *testing.T) map[string]bool {
	t.Helper()
	f, err := os.Open(deviationsFile)
	if os.IsNotExist(err) {
		return map[string]bool{}
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := sc.Text(); line != "" && !strings.HasPrefix(line, "#") {
			out[line] = true
		}
	}
	return out
}

func writeDeviations(t *testing.T, keys []string) {
	t.Helper()
	slices.Sort(keys)
	text := "# Tests of the JSON-Schema-Test-Suite (draft 2020-12) the validator answers\n" +
		"# differently; the reasons per file are in suite_test.go (deviationReasons).\n" +
		strings.Join(keys, "\n") + "\n"
	if err := os.WriteFile(deviationsFile, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// onlyFormat reports whether every violation is of the format keyword:
// format.json expects format to be an annotation, and this project asserts
// it (see the suite's README).
func onlyFormat(vs []Violation) bool {
	for _, v := range vs {
		if v.Type != "format" {
			return false
		}
	}
	return len(vs) > 0
}

// refusedBySuiteReadme says whether a group's schema is one the project
// refuses by design: it $refs a remote document (the compiler loads
// nothing outside the schema) or names a $schema other than draft 2020-12.
func refusedBySuiteReadme(schema json.RawMessage) bool {
	s := string(schema)
	if strings.Contains(s, "http://localhost:1234") {
		return true
	}
	var doc any
	if json.Unmarshal(schema, &doc) != nil {
		return false
	}
	return checkDraft(doc) != nil
}

// TestJSONSchemaSuite runs every group of the official draft 2020-12 suite
// (optional and format folders included) through Compile and Validate, and
// through the fast path on its own: the fast path may only prove valid what
// the library accepts.
func TestJSONSchemaSuite(t *testing.T) {
	suiteDir := findSuite(t)
	listed := readDeviations(t)
	var deviating []string
	var files, groups, cases, refused, fastProved, streamSchemas, streamedValid int
	err := filepath.WalkDir(suiteDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".json") {
			return err
		}
		rel, _ := filepath.Rel(suiteDir, path)
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		var gs []suiteGroup
		if err := json.Unmarshal(data, &gs); err != nil {
			t.Fatalf("%s: %v", rel, err)
		}
		files++
		for _, g := range gs {
			groups++
			key := rel + ": " + g.Description
			v, cerr := Compile("application/json", string(g.Schema))
			if cerr != nil && refusedBySuiteReadme(g.Schema) {
				refused++
				if msg := cerr.Error(); !strings.Contains(msg, "references outside the schema") && !strings.Contains(msg, "draft 2020-12") {
					t.Errorf("%s: refused for another reason than a remote $ref or another $schema: %v", key, cerr)
				}
				continue
			}
			if cerr != nil {
				deviating = append(deviating, key)
				if deviationReasons[rel] == "" || !listed[key] && !*updateDeviations {
					t.Errorf("%s: %v", key, cerr)
				}
				continue
			}
			if listed[key] {
				t.Errorf("%s: listed in %s but compiles", key, deviationsFile)
			}
			jv := v.(*jsonValidator)
			for _, tc := range g.Tests {
				cases++
				tkey := key + ": " + tc.Description
				_, vs := v.Validate(tc.Data)
				got := len(vs) == 0
				switch {
				case got == tc.Valid:
					if listed[tkey] {
						t.Errorf("%s: listed in %s but answered as the suite expects", tkey, deviationsFile)
					}
				case rel == "format.json" && tc.Valid && onlyFormat(vs):
				default:
					deviating = append(deviating, tkey)
					if deviationReasons[rel] == "" {
						t.Errorf("%s: valid = %v, want %v (%+v)", tkey, got, tc.Valid, vs)
					} else if !listed[tkey] && !*updateDeviations {
						t.Errorf("%s: valid = %v, want %v (%+v); not in %s", tkey, got, tc.Valid, vs, deviationsFile)
					}
				}
				if jv.fast == nil {
					continue
				}
				doc, err := parseJSONBody(tc.Data)
				if err != nil {
					continue
				}
				treeProved := jv.fast.proves(doc, len(tc.Data))
				if treeProved {
					fastProved++
					if err := jv.schema.Validate(doc); err != nil {
						t.Errorf("%s: the fast path proved valid what the library refuses: %v", tkey, err)
					}
				}
				if !streams(jv.fast) {
					continue
				}
				streamSchemas++
				if shape, streamProved := provesStreaming(jv.fast, tc.Data); streamProved {
					streamedValid++
					if plain := jsonwalk.ShapeOf(tc.Data); shape != plain {
						t.Errorf("%s: the streaming proof saw the shape %+v, a plain walk %+v", tkey, shape, plain)
					}
					if err := jv.schema.Validate(doc); err != nil {
						t.Errorf("%s: the streaming proof proved valid what the library refuses: %v", tkey, err)
					}
				} else if treeProved && !streamLeaves(doc, hasValueKeywords(jv.fast, map[*fastNode]bool{})) {
					t.Errorf("%s: the tree proves it, the streaming proof does not", tkey)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if *updateDeviations {
		writeDeviations(t, deviating)
	}
	t.Logf("suite: %d files, %d groups (%d refused by design), %d tests, %d deviating as listed, %d proved valid by the fast path; %d tests with a schema that streams, %d of them proved valid while streaming",
		files, groups, refused, cases, len(deviating), fastProved, streamSchemas, streamedValid)
}

// streamLeaves: the streaming proof leaves to the library a container
// that const, enum or format could look at, and a string with a control
// character (it cannot tell an escaped one from a raw one, which sonic's
// validator lets through).
func streamLeaves(doc any, valueKeywords bool) bool {
	switch x := doc.(type) {
	case string:
		return jsonwalk.HasControl(x)
	case map[string]any:
		for k, v := range x {
			if jsonwalk.HasControl(k) || streamLeaves(v, valueKeywords) {
				return true
			}
		}
		return valueKeywords
	case []any:
		for _, v := range x {
			if streamLeaves(v, valueKeywords) {
				return true
			}
		}
		return valueKeywords
	}
	return false
}

// hasValueKeywords: a node reachable from n has const, enum or format.
func hasValueKeywords(n *fastNode, seen map[*fastNode]bool) bool {
	if n == nil || seen[n] {
		return false
	}
	seen[n] = true
	if n.constVal != nil || n.enum != nil || n.format != nil {
		return true
	}
	return slices.ContainsFunc(n.members(), func(m *fastNode) bool { return hasValueKeywords(m, seen) })
}
