package caddyfile_test

import (
	"encoding/json"
	"reflect"
	"sort"
	"strings"
	"testing"

	endpoint "github.com/caddy-endpoint/endpoint"
	ecaddyfile "github.com/caddy-endpoint/endpoint/caddyfile"
)

// TestGoldensDecodeIntoApp decodes the endpoint app of every golden
// strictly into the root package's App: a key the mirror writes that App
// does not know fails here.
func TestGoldensDecodeIntoApp(t *testing.T) {
	for _, dir := range []string{"testdata", "testdata/handler"} {
		for name, out := range ecaddyfile.AdaptGoldens(t, dir) {
			t.Run(name, func(t *testing.T) {
				apps := appsOf(t, out)
				raw, ok := apps["endpoint"]
				if !ok {
					return // a site without the global option
				}
				ecaddyfile.DecodeStrict(t, raw, new(endpoint.App))
			})
		}
	}
}

// TestHandlerGoldens decodes every adapted `endpoint` handler strictly into
// the root package's Handler and checks the goldens hold the handlers the
// Caddyfiles declare.
func TestHandlerGoldens(t *testing.T) {
	wantCount := map[string]int{
		"handler_bare.caddytest":               1,
		"handler_order_and_matchers.caddytest": 2,
		"handler_spec_full.caddytest":          1,
	}
	for name, out := range ecaddyfile.AdaptGoldens(t, "testdata/handler") {
		t.Run(name, func(t *testing.T) {
			var cfg any
			if err := json.Unmarshal(out, &cfg); err != nil {
				t.Fatal(err)
			}
			handlers := findHandlers(cfg, "endpoint")
			if want, ok := wantCount[name]; !ok {
				t.Fatalf("no expected handler count for %s", name)
			} else if len(handlers) != want {
				t.Fatalf("%d endpoint handlers, want %d", len(handlers), want)
			}
			for _, h := range handlers {
				delete(h, "handler")
				raw, err := json.Marshal(h)
				if err != nil {
					t.Fatal(err)
				}
				ecaddyfile.DecodeStrict(t, raw, new(endpoint.Handler))
			}
		})
	}
}

// TestMirrorMatchesApp compares the JSON shape (every key path and its Go
// type) of the package's mirror with the root App, both ways.
func TestMirrorMatchesApp(t *testing.T) {
	got := jsonShape(reflect.TypeOf(ecaddyfile.AppConfig{}))
	want := jsonShape(reflect.TypeOf(endpoint.App{}))
	if len(want) < 20 {
		t.Fatalf("the shape of endpoint.App has only %d keys: %q", len(want), want)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("the Caddyfile mirror of the app config drifted from endpoint.App\nmirror: %s\n   App: %s",
			strings.Join(got, "\n        "), strings.Join(want, "\n        "))
	}
}

func appsOf(t *testing.T, config []byte) map[string]json.RawMessage {
	t.Helper()
	var cfg struct {
		Apps map[string]json.RawMessage `json:"apps"`
	}
	if err := json.Unmarshal(config, &cfg); err != nil {
		t.Fatal(err)
	}
	return cfg.Apps
}

// findHandlers returns every JSON object, at any depth, whose "handler"
// is name.
func findHandlers(v any, name string) []map[string]any {
	var found []map[string]any
	switch v := v.(type) {
	case map[string]any:
		if v["handler"] == name {
			found = append(found, v)
		}
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			found = append(found, findHandlers(v[k], name)...)
		}
	case []any:
		for _, e := range v {
			found = append(found, findHandlers(e, name)...)
		}
	}
	return found
}

// jsonShape lists the JSON key paths of t with the Go type at each leaf,
// sorted. Map keys and slice elements are written as "*" and "[]".
func jsonShape(t reflect.Type) []string {
	var out []string
	var walk func(t reflect.Type, path string)
	walk = func(t reflect.Type, path string) {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		switch {
		case t.Kind() == reflect.Struct && t.PkgPath() != "time":
			for i := range t.NumField() {
				f := t.Field(i)
				if !f.IsExported() {
					continue
				}
				tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
				if tag == "-" {
					continue
				}
				if f.Anonymous && tag == "" {
					walk(f.Type, path)
					continue
				}
				if tag == "" {
					tag = f.Name
				}
				walk(f.Type, path+"."+tag)
			}
		case t.Kind() == reflect.Map:
			walk(t.Elem(), path+".*")
		case t.Kind() == reflect.Slice:
			walk(t.Elem(), path+"[]")
		default:
			out = append(out, path+" "+t.String())
		}
	}
	walk(t, "")
	sort.Strings(out)
	return out
}
