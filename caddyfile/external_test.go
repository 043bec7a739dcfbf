package caddyfile_test

import (
	"encoding/json"
	"sort"
	"testing"

	endpoint "github.com/caddy-endpoint/endpoint"
	ecaddyfile "github.com/caddy-endpoint/endpoint/caddyfile"
)

// TestHandlerGoldens checks that the goldens hold the `endpoint`
// handlers the Caddyfiles declare, each in the root package's Handler.
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
