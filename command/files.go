package command

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	yaml "go.yaml.in/yaml/v3"

	"github.com/caddy-endpoint/endpoint/execmode"
)

// The directory format of export, diff and apply: per record NAME.yaml
// (the record, its snippet and schema replaced by code_file and
// schema_file), NAME.star (the snippet) and NAME.schema.yaml, .json or
// .xsd (the schema). The same files serve as declared endpoints.

// fieldOrder is the order of a record's fields in NAME.yaml; other fields
// follow, sorted.
var fieldOrder = []string{
	"name", "routes", "route", "route_group", "auth_type", "exec_as_user", "allowed_roles",
	"request_methods", "request_method", "request_content_type", "schema_file", "exec_mode", "code_file",
	"cors_origins", "active", "examples",
}

// readOnlyFields are set by the registry, never written.
var readOnlyFields = []string{"sync_state", "version", "updated_at"}

// fieldDefaults are the values a record has when it omits the field: for
// a diff, a file that leaves one out and an export that spells it out are
// the same record.
var fieldDefaults = map[string]string{
	"auth_type":       "user",
	"request_methods": "[GET]",
	"exec_mode":       "code",
	"active":          "true",
}

// fileSet is a directory's content: file name → bytes.
type fileSet map[string][]byte

// names returns the file names, sorted.
func (fs fileSet) names() []string {
	return slices.Sorted(func(yield func(string) bool) {
		for n := range fs {
			if !yield(n) {
				return
			}
		}
	})
}

// renderRecords turns records, as the admin API sends them, into the
// files of their directory. The same records always give the same bytes.
// Fields are written as given; canonical also spells out defaults and
// turns the one-value forms (route, request_method) into lists, so that
// two ways of writing one record render the same.
func renderRecords(records []json.RawMessage, canonical bool) (fileSet, error) {
	files := fileSet{}
	owner := map[string]string{}
	for _, raw := range records {
		one, name, err := renderRecord(raw, canonical)
		if err != nil {
			return nil, err
		}
		for file, content := range one {
			if other, ok := owner[file]; ok {
				return nil, fmt.Errorf("endpoints %q and %q both need the file %s", other, name, file)
			}
			owner[file] = name
			files[file] = content
		}
	}
	return files, nil
}

// renderRecord renders one record and returns its files and name. The
// record's name (execmode.NamePattern) also keeps its file names inside
// the directory.
func renderRecord(raw json.RawMessage, canonical bool) (fileSet, string, error) {
	fields, name, err := recordFields(raw)
	if err != nil {
		return nil, "", err
	}
	if canonical {
		canonicalize(fields)
	}
	for f, n := range fields {
		if isEmpty(n) {
			delete(fields, f)
		}
	}
	files, err := moveToFiles(fields, name)
	if err != nil {
		return nil, "", err
	}
	data, err := encodeRecord(fields)
	if err != nil {
		return nil, "", fmt.Errorf("writing endpoint %q as YAML: %v", name, err)
	}
	files[name+".yaml"] = data
	return files, name, nil
}

// recordFields reads a record as its fields by name, without the
// read-only ones, and its name.
func recordFields(raw json.RawMessage) (map[string]*yaml.Node, string, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, "", fmt.Errorf("reading a record: %v", err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, "", errors.New("reading a record: not a JSON object")
	}
	fields := map[string]*yaml.Node{}
	top := doc.Content[0]
	for i := 0; i+1 < len(top.Content); i += 2 {
		fields[top.Content[i].Value] = top.Content[i+1]
	}
	name := ""
	if n := fields["name"]; n != nil && n.Kind == yaml.ScalarNode {
		name = n.Value
	}
	if !execmode.ValidName(name) {
		return nil, "", fmt.Errorf("a record has an invalid name %q", name)
	}
	for _, f := range readOnlyFields {
		delete(fields, f)
	}
	return fields, name, nil
}

// canonicalize turns the one-value forms into lists and fills the
// defaults, so that two ways of writing one record render the same.
func canonicalize(fields map[string]*yaml.Node) {
	singularToList(fields, "route", "routes")
	singularToList(fields, "request_method", "request_methods")
	for f, def := range fieldDefaults {
		if fields[f] == nil || isNull(fields[f]) {
			var n yaml.Node
			_ = yaml.Unmarshal([]byte(def), &n)
			fields[f] = n.Content[0]
		}
	}
}

// moveToFiles takes the code snippet and the schema of a record out of
// its fields into files of their own, named in code_file and schema_file.
func moveToFiles(fields map[string]*yaml.Node, name string) (fileSet, error) {
	files := fileSet{}
	if n := fields["code_snippet"]; n != nil {
		if n.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("endpoint %q: code_snippet is not a string", name)
		}
		file := name + ".star"
		files[file] = []byte(n.Value)
		delete(fields, "code_snippet")
		fields["code_file"] = scalar(file)
	}
	if n := fields["request_content_schema"]; n != nil {
		if n.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("endpoint %q: request_content_schema is not a string", name)
		}
		file := name + ".schema." + schemaExt(fields["request_content_type"], n.Value)
		files[file] = []byte(n.Value)
		delete(fields, "request_content_schema")
		fields["schema_file"] = scalar(file)
	}
	return files, nil
}

// encodeRecord writes the fields as YAML: those of fieldOrder first, in
// that order, then the others sorted.
func encodeRecord(fields map[string]*yaml.Node) ([]byte, error) {
	out := &yaml.Node{Kind: yaml.MappingNode}
	add := func(f string) {
		n := fields[f]
		plain(n)
		out.Content = append(out.Content, scalar(f), n)
		delete(fields, f)
	}
	for _, f := range fieldOrder {
		if fields[f] != nil {
			add(f)
		}
	}
	for _, f := range slices.Sorted(maps.Keys(fields)) {
		add(f)
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(out); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// singularToList turns the one-value form of a field into its list form.
func singularToList(fields map[string]*yaml.Node, one, list string) {
	n := fields[one]
	if n == nil {
		return
	}
	delete(fields, one)
	if fields[list] == nil && n.Kind == yaml.ScalarNode && !isNull(n) {
		fields[list] = &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Content: []*yaml.Node{n}}
	}
}

func scalar(s string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

// isEmpty reports values that say nothing: null, "", [] and {}.
func isEmpty(n *yaml.Node) bool {
	switch n.Kind {
	case yaml.ScalarNode:
		return isNull(n) || (n.Tag == "!!str" && n.Value == "")
	case yaml.SequenceNode, yaml.MappingNode:
		return len(n.Content) == 0
	}
	return false
}

// plain drops the JSON presentation (flow style, quotes) so that the
// encoder picks YAML's block style, and sorts the keys of nested objects.
func plain(n *yaml.Node) {
	n.Style = 0
	n.Line, n.Column = 0, 0
	if n.Kind == yaml.MappingNode {
		type pair struct{ k, v *yaml.Node }
		pairs := make([]pair, 0, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			pairs = append(pairs, pair{n.Content[i], n.Content[i+1]})
		}
		slices.SortStableFunc(pairs, func(a, b pair) int { return strings.Compare(a.k.Value, b.k.Value) })
		n.Content = n.Content[:0]
		for _, p := range pairs {
			n.Content = append(n.Content, p.k, p.v)
		}
	}
	for _, c := range n.Content {
		plain(c)
	}
}

// schemaExt names a schema file for what it holds: XSD for XML bodies,
// else JSON or YAML by its first character.
func schemaExt(contentType *yaml.Node, schema string) string {
	if contentType != nil && strings.EqualFold(contentType.Value, "application/xml") {
		return "xsd"
	}
	if strings.HasPrefix(strings.TrimSpace(schema), "{") {
		return "json"
	}
	return "yaml"
}

// localRecord is one record read from a directory.
type localRecord struct {
	// File is the record's YAML file.
	File string
	// Name is the record's name.
	Name string
	// Fields is the record as the admin API takes it: code and schema
	// read from their files.
	Fields map[string]any
	// Uses are the files the record reads (code_file, schema_file).
	Uses []string
}

// JSON returns the record as the admin API takes it.
func (r localRecord) JSON() (json.RawMessage, error) {
	b, err := json.Marshal(r.Fields)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", r.File, err)
	}
	return b, nil
}

// isYAML reports a file name the directory format reads as YAML.
func isYAML(name string) bool {
	return strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml")
}

// isSchemaName reports a file name of the NAME.schema.* form.
func isSchemaName(name string) bool {
	for _, ext := range []string{".schema.yaml", ".schema.yml", ".schema.json", ".schema.xsd"} {
		if strings.HasSuffix(name, ext) {
			return true
		}
	}
	return false
}

// readDir reads the records of a directory: every *.yaml (or *.yml) file
// at its top level that is not a record's schema file and not named
// NAME.schema.*. Paths in code_file and schema_file are relative to the
// record's file.
func readDir(dir string) ([]localRecord, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("reading directory %s: %v", dir, err)
	}
	type parsed struct {
		file   string
		fields map[string]any
	}
	var docs []parsed
	schemaFiles := map[string]bool{}
	for _, e := range entries {
		if e.IsDir() || !isYAML(e.Name()) {
			continue
		}
		path := filepath.Join(dir, e.Name())
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %v", path, err)
		}
		var fields map[string]any
		if err := yaml.Unmarshal(b, &fields); err != nil {
			if isSchemaName(e.Name()) {
				continue // a schema file is checked by the record using it
			}
			return nil, fmt.Errorf("reading %s: %v", path, err)
		}
		docs = append(docs, parsed{path, fields})
		if s, ok := fields["schema_file"].(string); ok && !isSchemaName(e.Name()) {
			schemaFiles[filepath.Clean(filepath.Join(dir, s))] = true
		}
	}
	var recs []localRecord
	byName := map[string]string{}
	for _, d := range docs {
		if schemaFiles[filepath.Clean(d.file)] || isSchemaName(filepath.Base(d.file)) {
			continue
		}
		rec, err := loadRecord(d.file, d.fields)
		if err != nil {
			return nil, err
		}
		if other, ok := byName[rec.Name]; ok {
			return nil, fmt.Errorf("%s and %s both define endpoint %q", other, d.file, rec.Name)
		}
		byName[rec.Name] = d.file
		recs = append(recs, rec)
	}
	slices.SortFunc(recs, func(a, b localRecord) int { return strings.Compare(a.Name, b.Name) })
	return recs, nil
}

// loadRecord checks one record file and reads the files it names.
func loadRecord(file string, fields map[string]any) (localRecord, error) {
	rec := localRecord{File: file, Fields: fields}
	if fields == nil {
		return rec, fmt.Errorf("%s: empty file: want an endpoint record", file)
	}
	name, _ := fields["name"].(string)
	if name == "" {
		return rec, fmt.Errorf("%s: no name: want an endpoint record", file)
	}
	if !execmode.ValidName(name) {
		return rec, fmt.Errorf("%s: invalid name %q", file, name)
	}
	rec.Name = name
	for _, f := range readOnlyFields {
		delete(fields, f)
	}
	inline := func(fileField, field string) error {
		v, ok := fields[fileField]
		if !ok {
			return nil
		}
		rel, ok := v.(string)
		if !ok || rel == "" {
			return fmt.Errorf("%s: %s must be a file name", file, fileField)
		}
		if _, both := fields[field]; both {
			return fmt.Errorf("%s: both %s and %s are set", file, field, fileField)
		}
		path := rel
		if !filepath.IsAbs(path) {
			path = filepath.Join(filepath.Dir(file), rel)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("%s: %s %s does not exist", file, fileField, rel)
			}
			return fmt.Errorf("%s: reading %s: %v", file, fileField, err)
		}
		fields[field] = string(b)
		delete(fields, fileField)
		rec.Uses = append(rec.Uses, path)
		return nil
	}
	if err := inline("code_file", "code_snippet"); err != nil {
		return rec, err
	}
	if err := inline("schema_file", "request_content_schema"); err != nil {
		return rec, err
	}
	return rec, nil
}

// renderLocal renders records read from a directory in canonical form, so
// that a diff shows what differs, not how it is written.
func renderLocal(recs []localRecord) (fileSet, error) {
	raws := make([]json.RawMessage, 0, len(recs))
	for _, r := range recs {
		raw, err := r.JSON()
		if err != nil {
			return nil, err
		}
		raws = append(raws, raw)
	}
	return renderRecords(raws, true)
}
