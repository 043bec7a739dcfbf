package pipeline

import (
	"testing"

	"github.com/caddy-endpoint/endpoint/registry"
)

func TestOriginRules(t *testing.T) {
	entry := func(origins ...string) *registry.Entry {
		return &registry.Entry{Record: &registry.Record{CORSOrigins: origins}}
	}
	named := entry("https://App.example.com")
	star := entry("*", "https://x.example")
	none := entry()
	tests := []struct {
		name          string
		e             *registry.Entry
		origin        string
		allows, named bool
	}{
		{"named, other case", named, "https://app.example.com", true, true},
		{"named, exact", named, "https://App.example.com", true, true},
		{"not listed", named, "https://evil.example", false, false},
		{"no origin", named, "", false, false},
		{"star", star, "https://any.example", true, false},
		{"star and named", star, "https://X.example", true, true},
		{"no cors", none, "https://app.example.com", false, false},
	}
	for _, tt := range tests {
		if got := allowsOrigin(tt.e, tt.origin); got != tt.allows {
			t.Errorf("%s: allowsOrigin = %v, want %v", tt.name, got, tt.allows)
		}
		if got := namesOrigin(tt.e, tt.origin); got != tt.named {
			t.Errorf("%s: namesOrigin = %v, want %v", tt.name, got, tt.named)
		}
	}
	if hasCORS(none) || !hasCORS(named) {
		t.Error("hasCORS wrong")
	}
	route := &registry.Route{Methods: map[string]*registry.Entry{"GET": none, "POST": named}}
	if !routeHasCORS(route) || routeHasCORS(&registry.Route{Methods: map[string]*registry.Entry{"GET": none}}) {
		t.Error("routeHasCORS wrong")
	}
}
