package snippet

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"

	"github.com/caddy-endpoint/endpoint/execmode"
)

// isObject reports whether v is a value whose attributes the help must
// list (modules and the snippet's own objects, not dicts or strings).
func isObject(v starlark.Value) bool {
	switch v.(type) {
	case *starlarkstruct.Module, *request, *headerView, *identity, *endpointView, *envValue, *storeValue, *httpValue:
		return true
	}
	return false
}

func names(entries []execmode.HelpEntry) []string {
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = e.Name
	}
	return out
}

// checkMembers compares help entry h with value v, recursively.
func checkMembers(t *testing.T, path string, h execmode.HelpEntry, v starlark.Value) {
	t.Helper()
	if h.Signature == "" || h.Doc == "" {
		t.Errorf("%s: empty signature or doc", path)
	}
	if !isObject(v) {
		if len(h.Members) > 0 {
			t.Errorf("%s: help lists members of a %s", path, v.Type())
		}
		return
	}
	obj := v.(starlark.HasAttrs)
	have := slices.Sorted(slices.Values(obj.AttrNames()))
	documented := names(h.Members)
	if !slices.IsSorted(documented) {
		t.Errorf("%s: help members are not sorted: %v", path, documented)
	}
	slices.Sort(documented)
	if !slices.Equal(have, documented) {
		t.Errorf("%s: value has %v, help lists %v", path, have, documented)
		return
	}
	for _, mem := range h.Members {
		mv, err := obj.Attr(mem.Name)
		if err != nil || mv == nil {
			t.Errorf("%s.%s: Attr = %v, %v", path, mem.Name, mv, err)
			continue
		}
		checkMembers(t, path+"."+mem.Name, mem, mv)
	}
}

// TestHelpMatchesEnvironment proves Help and the environment a snippet
// gets hold exactly the same names, members included.
func TestHelpMatchesEnvironment(t *testing.T) {
	src := "result = {}\nx = [" + strings.Join(names(Help()), ", ") + "]"
	p, err := Compile(src)
	if err != nil {
		t.Fatalf("a snippet using every help name does not compile: %v", err)
	}
	r := p.runs.Get().(*run)
	r.begin(t.Context(), testInvocation())
	defer r.end()

	// what the snippet sees: the module's predeclared names (but the
	// `result` placeholder) and the wrapping function's parameters
	help := Help()
	env := make(starlark.StringDict)
	for k, v := range staticEnv {
		if _, op := checkedOps[k]; !op && k != "result" {
			env[k] = v
		}
	}
	for i, pa := range p.params {
		env[pa.name] = r.args[i]
	}
	var keys []string
	for _, k := range env.Keys() {
		if _, op := checkedOps[k]; !op {
			keys = append(keys, k)
		}
	}
	if got, want := slices.Sorted(slices.Values(keys)), slices.Sorted(slices.Values(names(help))); !slices.Equal(got, want) {
		t.Fatalf("environment %v, help %v", got, want)
	}
	if len(table) != len(tableIndex) {
		t.Fatal("the table names a predeclared name twice")
	}
	for _, h := range help {
		checkMembers(t, h.Name, h, env[h.Name])
	}

	// A name missing from the table is an undefined name.
	if _, err := Compile("result = {}\nx = open"); err == nil {
		t.Error("a name outside the table compiled")
	}
}

func TestHelpJSON(t *testing.T) {
	data, err := json.Marshal(Help())
	if err != nil {
		t.Fatal(err)
	}
	var back []map[string]any
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	req := back[0]
	if req["name"] != "request" || req["signature"] == "" || req["doc"] == "" {
		t.Errorf("first entry = %v", req)
	}
	members, _ := req["members"].([]any)
	if len(members) != len(requestAttrs) {
		t.Errorf("request members = %v", members)
	}
	if strings.Contains(string(data), "s3cret") {
		t.Error("help holds a secret")
	}
	h := Help()
	h[0].Members[0].Name = "changed"
	if Help()[0].Members[0].Name == "changed" {
		t.Error("Help shares its entries with the caller")
	}
}
