package execmode_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestStandardLibraryOnly keeps the contract free of dependencies: a
// third-party exec mode that imports it links the standard library only.
func TestStandardLibraryOnly(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not on PATH")
	}
	out, err := exec.Command(goTool, "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	var outside []string
	for _, pkg := range strings.Fields(string(out)) {
		if pkg != "github.com/caddy-endpoint/endpoint/execmode" {
			outside = append(outside, pkg)
		}
	}
	if len(outside) > 0 {
		t.Errorf("execmode imports packages outside the standard library: %s", strings.Join(outside, ", "))
	}
}
