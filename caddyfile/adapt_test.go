package caddyfile

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig"
)

var update = flag.Bool("update", false, "rewrite the expected JSON of the testdata/**/*.caddytest files")

// GoldenFilename is the Caddyfile name the goldens are adapted as, so that
// code_file and schema_file resolve to the same absolute paths everywhere.
const GoldenFilename = "/etc/caddy/Caddyfile"

const goldenSeparator = "----------\n"

// AdaptGoldens adapts every dir/*.caddytest (a Caddyfile, a line of ten
// dashes, the expected JSON) and compares the result with the expected JSON,
// or rewrites it with -update. It returns the adapted JSON by file name.
func AdaptGoldens(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.caddytest"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no .caddytest files in %s", dir)
	}
	adapter := caddyconfig.GetAdapter("caddyfile")
	if adapter == nil {
		t.Fatal("caddyfile adapter not registered")
	}
	adapted := make(map[string][]byte)
	for _, file := range files {
		name := filepath.Base(file)
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		input, want, ok := strings.Cut(string(raw), goldenSeparator)
		if !ok {
			t.Errorf("%s: no %q separator", name, strings.TrimSpace(goldenSeparator))
			continue
		}
		out, warnings, err := adapter.Adapt([]byte(input), map[string]any{"filename": GoldenFilename})
		if err != nil {
			t.Errorf("%s: adapting: %v", name, err)
			continue
		}
		for _, w := range warnings {
			t.Errorf("%s: warning: %s", name, w.String())
		}
		var pretty bytes.Buffer
		if err := json.Indent(&pretty, out, "", "\t"); err != nil {
			t.Errorf("%s: indenting adapted JSON: %v", name, err)
			continue
		}
		got := pretty.String() + "\n"
		adapted[name] = out
		if *update {
			if err := os.WriteFile(file, []byte(input+goldenSeparator+got), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if got != want {
			t.Errorf("%s: adapted JSON differs (run go test -update to rewrite)\n--- got\n%s--- want\n%s", name, got, want)
		}
	}
	return adapted
}

// DecodeStrict decodes raw into v refusing unknown fields and checks that
// v encodes back to the same JSON, so that no field was dropped.
func DecodeStrict(t *testing.T, raw []byte, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decoding strictly into %T: %v", v, err)
	}
	again, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var a, b any
	if err := json.Unmarshal(raw, &a); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(again, &b); err != nil {
		t.Fatal(err)
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if !bytes.Equal(ja, jb) {
		t.Fatalf("%T does not round-trip:\n in: %s\nout: %s", v, ja, jb)
	}
}

func TestGlobalGoldens(t *testing.T) {
	AdaptGoldens(t, "testdata")
}
