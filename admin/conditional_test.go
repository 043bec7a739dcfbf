package admin

import (
	"net/http"
	"testing"
	"time"

	"github.com/caddy-endpoint/endpoint/registry"
)

func TestConditionalWrites(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	later := at.Add(time.Second)
	v1 := registry.Record{Name: "a", Version: 1, UpdatedAt: &at}
	v2 := registry.Record{Name: "a", Version: 2, UpdatedAt: &later}
	remade := registry.Record{Name: "a", Version: 1, UpdatedAt: &later}
	tag := etag(v1)
	if tag[0] != '"' || tag[len(tag)-1] != '"' {
		t.Fatalf("ETag %s is not quoted", tag)
	}
	if etag(v2) == tag || etag(remade) == tag {
		t.Fatal("the ETag does not change with the version and the update time")
	}
	if etag(v1) != tag {
		t.Fatal("the ETag of one state is not stable")
	}

	req := func(header, value string) *http.Request {
		r, _ := http.NewRequest(http.MethodPut, "/endpoint/endpoints/a", nil)
		if header != "" {
			r.Header.Set(header, value)
		}
		return r
	}
	tests := []struct {
		name string
		pre  func(*http.Request) func(*registry.Record) bool
		r    *http.Request
		cur  *registry.Record
		want bool
	}{
		{"no header", wrap(ifMatch), req("", ""), nil, true},
		{"current tag", wrap(ifMatch), req("If-Match", tag), &v1, true},
		{"stale tag", wrap(ifMatch), req("If-Match", tag), &v2, false},
		{"list with current", wrap(ifMatch), req("If-Match", etag(v2)+", "+tag), &v1, true},
		{"weak never matches", wrap(ifMatch), req("If-Match", "W/"+tag), &v1, false},
		{"star on existing", wrap(ifMatch), req("If-Match", "*"), &v1, true},
		{"star on missing", wrap(ifMatch), req("If-Match", "*"), nil, false},
		{"tag on missing", wrap(ifMatch), req("If-Match", tag), nil, false},
		{"create only, missing", wrap(putPrecondition), req("If-None-Match", "*"), nil, true},
		{"create only, existing", wrap(putPrecondition), req("If-None-Match", "*"), &v1, false},
		{"put with If-Match", wrap(putPrecondition), req("If-Match", tag), &v2, false},
	}
	for _, tt := range tests {
		if got := tt.pre(tt.r)(tt.cur); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

// wrap turns a precondition maker into one whose nil (no requirement)
// is a function that passes.
func wrap(f func(*http.Request) registry.Precondition) func(*http.Request) func(*registry.Record) bool {
	return func(r *http.Request) func(*registry.Record) bool {
		pre := f(r)
		if pre == nil {
			return func(*registry.Record) bool { return true }
		}
		return pre
	}
}

func TestNoneMatch(t *testing.T) {
	tests := []struct {
		header, tag string
		want        bool
	}{
		{`"1-a"`, `"1-a"`, true},
		{`W/"1-a"`, `"1-a"`, true},
		{`"0-b", "1-a"`, `"1-a"`, true},
		{`*`, `"1-a"`, true},
		{`"0-b"`, `"1-a"`, false},
		{``, `"1-a"`, false},
	}
	for _, tt := range tests {
		if got := noneMatch(tt.header, tt.tag); got != tt.want {
			t.Errorf("noneMatch(%q, %q) = %v, want %v", tt.header, tt.tag, got, tt.want)
		}
	}
}
