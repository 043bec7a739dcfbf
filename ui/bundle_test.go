package ui

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// sourcesHash hashes what the bundle is built from, as web/build.mjs does:
// for each file, sorted by its path relative to web/, "path\nsize\n" and
// its bytes; execmode/names.go is among them, as ../../execmode/names.go.
func sourcesHash(t *testing.T) string {
	t.Helper()
	files := []string{"package.json", "package-lock.json", "build.mjs", "../../execmode/names.go"}
	err := filepath.WalkDir("web/src", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel("web", p)
		files = append(files, filepath.ToSlash(rel))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(files)
	h := sha256.New()
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join("web", f))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(h, "%s\n%d\n", f, len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// TestBundleMatchesSources: the committed assets are the build of the
// committed sources and lockfile (run `make ui` after changing web/).
func TestBundleMatchesSources(t *testing.T) {
	f, err := assets.Open("assets/BUILD.sha256")
	if err != nil {
		t.Fatalf("no build record next to the bundle: %v", err)
	}
	defer f.Close()
	recorded := map[string]string{}
	var sources string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		if s, ok := strings.CutPrefix(line, "sources "); ok {
			sources = s
			continue
		}
		sum, name, ok := strings.Cut(line, "  ")
		if !ok {
			t.Fatalf("bad line in BUILD.sha256: %q", line)
		}
		recorded[name] = sum
	}
	if got := sourcesHash(t); got != sources {
		t.Fatalf("ui/web changed since the bundle was built (sources %s, recorded %s): run `make ui` and commit ui/assets", got, sources)
	}
	entries, err := fs.ReadDir(assets, "assets")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if e.Name() == "BUILD.sha256" {
			continue
		}
		names = append(names, e.Name())
		b, err := fs.ReadFile(assets, "assets/"+e.Name())
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		if hex.EncodeToString(sum[:]) != recorded[e.Name()] {
			t.Errorf("assets/%s differs from the build of the sources: run `make ui`", e.Name())
		}
	}
	for name := range recorded {
		if !slices.Contains(names, name) {
			t.Errorf("assets/%s is recorded but missing", name)
		}
	}
	for _, need := range []string{"index.html", "app.js", "app.css", "THIRD_PARTY_LICENSES.txt"} {
		if !slices.Contains(names, need) {
			t.Errorf("assets/%s is missing", need)
		}
	}
}

// TestAssetsLoadNothingFromTheNetwork: the page refers to its own files
// only, which the Content-Security-Policy would enforce anyway.
func TestAssetsLoadNothingFromTheNetwork(t *testing.T) {
	for _, name := range []string{"index.html", "app.css"} {
		b, err := fs.ReadFile(assets, "assets/"+name)
		if err != nil {
			t.Fatal(err)
		}
		for _, bad := range []string{"http://", "https://", "//cdn", "<script>", "style=\""} {
			if strings.Contains(string(b), bad) {
				t.Errorf("assets/%s holds %q", name, bad)
			}
		}
	}
	lic, err := fs.ReadFile(assets, "assets/THIRD_PARTY_LICENSES.txt")
	if err != nil {
		t.Fatal(err)
	}
	for _, pkg := range []string{"@codemirror/view", "@codemirror/state", "@lezer/python", "diff "} {
		if !strings.Contains(string(lic), pkg) {
			t.Errorf("THIRD_PARTY_LICENSES.txt lacks %s", pkg)
		}
	}
}
