package command

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func raws(t *testing.T, recs ...string) []json.RawMessage {
	t.Helper()
	out := make([]json.RawMessage, len(recs))
	for i, r := range recs {
		if !json.Valid([]byte(r)) {
			t.Fatalf("invalid JSON: %s", r)
		}
		out[i] = json.RawMessage(r)
	}
	return out
}

func TestRenderRecordCanonical(t *testing.T) {
	files, err := renderRecords(raws(t,
		`{"name":"orders","version":3,"sync_state":"to_sync","updated_at":"2026-01-01T00:00:00Z",
		  "routes":["/orders","/orders/{id}"],"request_methods":["POST","PUT"],"auth_type":"bearer",
		  "request_content_type":"application/json","request_content_schema":"{\"type\":\"object\"}",
		  "code_snippet":"result = {}\n","route_group":"","allowed_roles":[],
		  "examples":[{"name":"one","request":{"method":"POST","headers":{"Z":"1","A":"2"}},"expect":{"status":200}}]}`,
		`{"name":"xml","route":"/x","request_method":"POST","request_content_type":"application/xml","request_content_schema":"<xs:schema/>"}`,
		`{"name":"plain","routes":["/p"],"status_note":"200"}`,
	), true)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"orders.yaml": `name: orders
routes:
  - /orders
  - /orders/{id}
auth_type: bearer
request_methods:
  - POST
  - PUT
request_content_type: application/json
schema_file: orders.schema.json
exec_mode: code
code_file: orders.star
active: true
examples:
  - expect:
      status: 200
    name: one
    request:
      headers:
        A: "2"
        Z: "1"
      method: POST
`,
		"orders.star":        "result = {}\n",
		"orders.schema.json": `{"type":"object"}`,
		"xml.yaml": `name: xml
routes:
  - /x
auth_type: user
request_methods:
  - POST
request_content_type: application/xml
schema_file: xml.schema.xsd
exec_mode: code
active: true
`,
		"xml.schema.xsd": "<xs:schema/>",
		"plain.yaml": `name: plain
routes:
  - /p
auth_type: user
request_methods:
  - GET
exec_mode: code
active: true
status_note: "200"
`,
	}
	if len(files) != len(want) {
		t.Errorf("files %v, want %d", files.names(), len(want))
	}
	for name, content := range want {
		if got := string(files[name]); got != content {
			t.Errorf("%s:\n%s\nwant:\n%s", name, got, content)
		}
	}
}

// An export writes the fields as the admin API gives them, in order,
// without inventing defaults.
func TestRenderRecordAsGiven(t *testing.T) {
	files, err := renderRecords(raws(t, `{"name":"a","request_method":"GET","route":"/a","sync_state":"in_sync","code_snippet":"x","route_group":""}`), false)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(files["a.yaml"]), "name: a\nroute: /a\nrequest_method: GET\ncode_file: a.star\n"; got != want {
		t.Fatalf("a.yaml:\n%s\nwant:\n%s", got, want)
	}
}

func TestRenderRefuses(t *testing.T) {
	for _, tc := range []struct{ name, rec, want string }{
		{"bad name", `{"name":"../x","routes":["/x"]}`, "invalid name"},
		{"no name", `{"routes":["/x"]}`, "invalid name"},
		{"not an object", `[1]`, "not a JSON object"},
		{"code not a string", `{"name":"a","code_snippet":[1]}`, "code_snippet is not a string"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := renderRecords(raws(t, tc.rec), false)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
	// a record named like another's schema file
	_, err := renderRecords(raws(t,
		`{"name":"a","routes":["/a"],"request_methods":["POST"],"request_content_type":"application/json","request_content_schema":"type: object"}`,
		`{"name":"a.schema","routes":["/b"]}`), false)
	if err == nil || !strings.Contains(err.Error(), "both need the file a.schema.yaml") {
		t.Fatalf("collision: %v", err)
	}
}

// A directory written by export reads back as the same records, and a
// hand-written file that omits defaults or uses the one-value forms
// renders the same as the export.
func TestDirRoundTrip(t *testing.T) {
	recs := raws(t,
		`{"name":"a","routes":["/a"],"auth_type":"user","request_methods":["GET"],"exec_mode":"code","active":true,"code_snippet":"result = {\"payload\": 1}"}`,
		`{"name":"b","routes":["/b"],"request_methods":["POST"],"request_content_type":"application/json","request_content_schema":"type: object\n","code_snippet":"result = {}\n","active":false}`,
	)
	files, err := renderRecords(recs, false)
	if err != nil {
		t.Fatal(err)
	}
	canonical, err := renderRecords(recs, true)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, _, err := writeDir(dir, files); err != nil {
		t.Fatal(err)
	}
	local, err := readDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(local) != 2 || local[0].Name != "a" || local[1].Name != "b" {
		t.Fatalf("read %+v", local)
	}
	if got := local[1].Fields["request_content_schema"]; got != "type: object\n" {
		t.Errorf("schema read back as %q", got)
	}
	if got := local[0].Fields["code_snippet"]; got != `result = {"payload": 1}` {
		t.Errorf("code read back as %q", got)
	}
	again, err := renderLocal(local)
	if err != nil {
		t.Fatal(err)
	}
	if d := diffSets("a", "b", canonical, again); len(d) != 0 {
		t.Fatalf("round trip differs: %+v", d)
	}

	// the short forms and omitted defaults
	hand := t.TempDir()
	os.WriteFile(filepath.Join(hand, "first.yml"), []byte("name: a\nroute: /a\ncode_file: code/a.star\n"), 0o644)
	os.MkdirAll(filepath.Join(hand, "code"), 0o755)
	os.WriteFile(filepath.Join(hand, "code", "a.star"), []byte(`result = {"payload": 1}`), 0o644)
	os.WriteFile(filepath.Join(hand, "b.yaml"), []byte("name: b\nrequest_method: POST\nroutes: [/b]\nactive: false\n"+
		"request_content_type: application/json\nschema_file: b-schema.yaml\ncode_file: b.star\nversion: 9\n"), 0o644)
	os.WriteFile(filepath.Join(hand, "b-schema.yaml"), []byte("type: object\n"), 0o644)
	os.WriteFile(filepath.Join(hand, "b.star"), []byte("result = {}\n"), 0o644)
	os.WriteFile(filepath.Join(hand, "notes.txt"), []byte("not a record"), 0o644)
	local, err = readDir(hand)
	if err != nil {
		t.Fatal(err)
	}
	handFiles, err := renderLocal(local)
	if err != nil {
		t.Fatal(err)
	}
	if d := diffSets("a", "b", canonical, handFiles); len(d) != 0 {
		t.Fatalf("hand-written files differ: %+v", d)
	}
}

func TestReadDirRefuses(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"no name", map[string]string{"a.yaml": "routes: [/a]\n"}, "no name"},
		{"bad name", map[string]string{"a.yaml": "name: ../a\n"}, "invalid name"},
		{"missing code file", map[string]string{"a.yaml": "name: a\ncode_file: a.star\n"}, "code_file a.star does not exist"},
		{"both code forms", map[string]string{"a.yaml": "name: a\ncode_file: a.star\ncode_snippet: x\n", "a.star": "x"}, "both code_snippet and code_file"},
		{"duplicate", map[string]string{"a.yaml": "name: a\n", "b.yaml": "name: a\n"}, `both define endpoint "a"`},
		{"bad yaml", map[string]string{"a.yaml": "name: [\n"}, "a.yaml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for n, c := range tc.files {
				os.WriteFile(filepath.Join(dir, n), []byte(c), 0o644)
			}
			_, err := readDir(dir)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

// Exporting again writes nothing when nothing changed, and removes the
// files of records that are gone, leaving other files alone.
func TestWriteDirIdempotentAndPrunes(t *testing.T) {
	dir := t.TempDir()
	two, _ := renderRecords(raws(t, `{"name":"a","routes":["/a"],"code_snippet":"x"}`, `{"name":"b","routes":["/b"],"code_snippet":"y"}`), false)
	if w, _, err := writeDir(dir, two); err != nil || len(w) != 4 {
		t.Fatalf("first write %v %v", w, err)
	}
	os.WriteFile(filepath.Join(dir, "README.md"), []byte("mine"), 0o644)
	if w, r, err := writeDir(dir, two); err != nil || len(w) != 0 || len(r) != 0 {
		t.Fatalf("second write %v %v %v", w, r, err)
	}
	one, _ := renderRecords(raws(t, `{"name":"a","routes":["/a"],"code_snippet":"x"}`), false)
	_, removed, err := writeDir(dir, one)
	if err != nil || strings.Join(removed, ",") != "b.star,b.yaml" {
		t.Fatalf("removed %v %v", removed, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "README.md")); err != nil {
		t.Fatal("a file that is not an export's was removed")
	}
}

func TestNewLines(t *testing.T) {
	at := func(s int) time.Time { return time.Unix(int64(s), 0) }
	l := func(s int, m string) logLine { return logLine{Time: at(s), Endpoint: "e", Level: "info", Message: m} }
	buf := []logLine{l(1, "a"), l(2, "b"), l(3, "c")}
	if got := newLines(buf, nil); len(got) != 3 {
		t.Fatalf("first read: %v", got)
	}
	last := l(2, "b")
	last.Time = last.Time.In(time.FixedZone("x", 3600)) // same instant, other zone
	if got := newLines(buf, &last); len(got) != 1 || got[0].Message != "c" {
		t.Fatalf("after b: %v", got)
	}
	gone := l(0, "z")
	if got := newLines(buf, &gone); len(got) != 3 {
		t.Fatalf("after a wrapped buffer: %v", got)
	}
}
