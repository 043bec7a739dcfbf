package ui

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig"
	_ "github.com/caddyserver/caddy/v2/modules/caddyhttp/caddyauth"
)

var update = flag.Bool("update", false, "rewrite the expected JSON of testdata/*.caddytest")

// TestAdapt adapts each testdata/*.caddytest (a Caddyfile, a line of ten
// dashes, the expected JSON): endpoint_ui comes after basic_auth whatever
// the order it is written in, and a prefix becomes a path matcher.
func TestAdapt(t *testing.T) {
	files, err := filepath.Glob("testdata/*.caddytest")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata/*.caddytest: %v", err)
	}
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		input, want, ok := strings.Cut(string(raw), "----------\n")
		if !ok {
			t.Fatalf("%s: no separator", file)
		}
		out, warnings, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(input), nil)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		for _, w := range warnings {
			t.Errorf("%s: warning: %s", file, w.String())
		}
		var pretty bytes.Buffer
		if err := json.Indent(&pretty, out, "", "\t"); err != nil {
			t.Fatal(err)
		}
		got := pretty.String() + "\n"
		if *update {
			if err := os.WriteFile(file, []byte(input+"----------\n"+got), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if got != want {
			t.Errorf("%s: adapted JSON differs (go test -update rewrites it)\n--- got\n%s--- want\n%s", file, got, want)
		}
	}
}
