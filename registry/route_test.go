package registry

import (
	"context"
	"strings"
	"testing"
)

func TestCompare(t *testing.T) {
	tests := []struct {
		a, b string
		want relation
	}{
		{"/a", "/a", equivalent},
		{"/a", "/b", disjoint},
		{"/items/new", "/items/{id}", moreSpecific},
		{"/items/{id}", "/items/new", moreGeneral},
		{"/a/{x}", "/a/{y}", equivalent},
		{"/a/{x}/b", "/a/b/{y}", overlaps},
		{"/{x}/b", "/a/{y}", overlaps},
		{"/a/{x}", "/a/{x}/b", disjoint},
		{"/a", "/a/{rest...}", disjoint},
		{"/a/b", "/a/{rest...}", moreSpecific},
		{"/a/b/c", "/a/{rest...}", moreSpecific},
		{"/a/{rest...}", "/a/{x}/c", moreGeneral},
		{"/a/{r...}", "/a/{s...}", equivalent},
		{"/a/{r...}", "/{s...}", moreSpecific},
		{"/{x}/{r...}", "/a/{s...}", moreGeneral},
		{"/{x}/b/{r...}", "/a/{s...}", overlaps},
		{"/a/{r...}", "/b/{s...}", disjoint},
		{"/{x}", "/{r...}", moreSpecific},
	}
	for _, tt := range tests {
		a, pa := parsePattern(tt.a)
		b, pb := parsePattern(tt.b)
		if len(pa)+len(pb) > 0 {
			t.Fatalf("parse %q %q: %v %v", tt.a, tt.b, pa, pb)
		}
		if got := compare(a, b); got != tt.want {
			t.Errorf("compare(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestRouteConflictsAtWrite(t *testing.T) {
	tests := []struct {
		name     string
		existing []string
		body     string
		ok       bool
	}{
		{"same route and method", []string{rec("a", "/x")}, rec("b", "/x"), false},
		{"same route other method", []string{rec("a", "/x")}, rec("b", "/x", "request_method", "DELETE"), true},
		{"literal beats wildcard", []string{rec("a", "/items/{id}")}, rec("b", "/items/new"), true},
		{"same shape other names", []string{rec("a", "/a/{x}")}, rec("b", "/a/{y}"), false},
		{"same shape other method", []string{rec("a", "/a/{x}")}, rec("b", "/a/{y}", "request_method", "DELETE"), false},
		{"crossed wildcards", []string{rec("a", "/a/{x}/b")}, rec("b", "/a/b/{y}"), false},
		{"crossed wildcards other method", []string{rec("a", "/a/{x}/b")}, rec("b", "/a/b/{y}", "request_method", "DELETE"), false},
		{"rest and longer literal", []string{rec("a", "/f/{p...}")}, rec("b", "/f/x/y"), true},
		{"archived existing", []string{rec("a", "/x", "active", "false")}, rec("b", "/x"), true},
		{"archived new", []string{rec("a", "/x")}, rec("b", "/x", "active", "false"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			for _, e := range tt.existing {
				f.create(e)
			}
			_, err := f.r.Create(context.Background(), []byte(tt.body))
			if tt.ok && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if !tt.ok {
				ds := detailsOf(err)
				if kindOf(err) != KindInvalid || len(ds) != 1 || ds[0].Field != "route" {
					t.Fatalf("err = %v, want one route detail", err)
				}
			}
		})
	}
}

func TestMatch(t *testing.T) {
	f := newFixture(t)
	for _, b := range []string{
		rec("items", "/items/{id}"),
		rec("items-new", "/items/new"),
		rec("items-del", "/items/{id}", "request_method", "DELETE"),
		rec("parts", "/items/{id}/parts/{part}"),
		rec("files", "/files/{path...}", "cors_origins", `["*"]`),
		rec("files-readme", "/files/README"),
		rec("post", "/post", "request_method", "POST", "request_content_type", "text/plain"),
		rec("hello", "/hello", "route_group", "public"),
		rec("a.b", "/a:b"),
	} {
		f.create(b)
	}
	f.sync()
	m := f.r.Live().Matcher(nil)
	tests := []struct {
		path    string
		pattern string
		params  map[string]string
	}{
		{"/items/new", "/items/new", nil},
		{"/items/42", "/items/{id}", map[string]string{"id": "42"}},
		{"/items/a%2Fb", "/items/{id}", map[string]string{"id": "a/b"}},
		{"/items/%6Eew", "/items/new", nil},
		{"/items/42/parts/7", "/items/{id}/parts/{part}", map[string]string{"id": "42", "part": "7"}},
		{"/files/README", "/files/README", nil},
		{"/files/a/b/c.txt", "/files/{path...}", map[string]string{"path": "a/b/c.txt"}},
		{"/files/", "/files/{path...}", map[string]string{"path": ""}},
		{"/files/a%20b", "/files/{path...}", map[string]string{"path": "a b"}},
		{"/hello", "/hello", nil},
		{"/a:b", "/a:b", nil},
		{"/a%3Ab", "/a:b", nil},
		{"/files", "", nil},
		{"/items", "", nil},
		{"/items/", "", nil},
		{"/items/42/", "", nil},
		{"/items/42/parts", "", nil},
		{"/items/..", "", nil},
		{"/items/%2e%2E", "", nil},
		{"/items/.", "", nil},
		{"/files/a/../../etc", "", nil},
		{"/files/a//b", "", nil},
		{"/items/%zz", "", nil},
		{"//items/1", "", nil},
		{"/", "", nil},
		{"", "", nil},
		{"items/1", "", nil},
		{"/nope", "", nil},
	}
	for _, tt := range tests {
		rt, params, ok := m.Match(tt.path)
		if tt.pattern == "" {
			if ok {
				t.Errorf("Match(%q) = %q, want no match", tt.path, rt.Pattern)
			}
			continue
		}
		if !ok || rt.Pattern != tt.pattern {
			t.Errorf("Match(%q) = %v, want %q", tt.path, rt, tt.pattern)
			continue
		}
		if len(params) != len(tt.params) || (tt.params == nil) != (params == nil) {
			t.Errorf("Match(%q) params = %v, want %v", tt.path, params, tt.params)
		}
		for k, v := range tt.params {
			if params[k] != v {
				t.Errorf("Match(%q) params = %v, want %v", tt.path, params, tt.params)
			}
		}
	}

	served := map[string]string{
		"/items/1": "GET DELETE",
		"/files/x": "GET",
		"/post":    "POST",
	}
	for path, want := range served {
		rt, _, _ := m.Match(path)
		if got := strings.Join(rt.ServedMethods(), " "); got != want {
			t.Errorf("methods of %s = %q, want %q", path, got, want)
		}
	}
}

func TestMatcherGroups(t *testing.T) {
	f := newFixture(t)
	f.create(rec("a", "/a", "route_group", "g1"))
	f.create(rec("b", "/b", "route_group", "g2"))
	f.create(rec("c", "/c"))
	f.create(rec("a-post", "/a", "route_group", "g2", "request_method", "DELETE"))
	f.sync()
	tests := []struct {
		groups []string
		paths  map[string]bool
	}{
		{nil, map[string]bool{"/a": true, "/b": true, "/c": true}},
		{[]string{"g1"}, map[string]bool{"/a": true, "/b": false, "/c": false}},
		{[]string{"g2", "g1"}, map[string]bool{"/a": true, "/b": true, "/c": false}},
		{[]string{""}, map[string]bool{"/a": false, "/b": false, "/c": true}},
		{[]string{"nope"}, map[string]bool{"/a": false, "/b": false, "/c": false}},
	}
	for _, tt := range tests {
		m := f.r.Live().Matcher(tt.groups)
		if again := f.r.Live().Matcher(tt.groups); again != m {
			t.Errorf("matcher of %v not cached", tt.groups)
		}
		for path, want := range tt.paths {
			if _, _, ok := m.Match(path); ok != want {
				t.Errorf("groups %v: Match(%s) = %v, want %v", tt.groups, path, ok, want)
			}
		}
	}
	rt, _, _ := f.r.Live().Matcher([]string{"g1"}).Match("/a")
	if got := strings.Join(rt.ServedMethods(), " "); got != "GET" || len(rt.Methods) != 1 {
		t.Errorf("group g1 route /a: methods %q", got)
	}
	rt, _, _ = f.r.Live().Matcher(nil).Match("/a")
	if got := strings.Join(rt.ServedMethods(), " "); got != "GET DELETE" {
		t.Errorf("all groups route /a: methods %q", got)
	}
}

func TestEntryPrecomputed(t *testing.T) {
	f := newFixture(t)
	f.create(rec("a", "/a", "allowed_roles", `["staff"]`,
		"request_method", "POST", "request_content_type", "application/json", "request_content_schema", "type: object"))
	f.create(rec("b", "/b"))
	f.sync()
	rt, _, _ := f.r.Live().Matcher(nil).Match("/a")
	e := rt.Methods["POST"]
	if e.Schema == nil || e.ContentType != "application/json" {
		t.Errorf("entry a: %+v", e)
	}
	if !e.AllowsRoles([]string{"x", "staff"}) || e.AllowsRoles([]string{"x"}) || e.AllowsRoles(nil) {
		t.Error("AllowsRoles wrong")
	}
	rt, _, _ = f.r.Live().Matcher(nil).Match("/b")
	e = rt.Methods["GET"]
	if e.Schema != nil || !e.AllowsRoles(nil) {
		t.Errorf("entry b: %+v", e)
	}
}

func BenchmarkMatch(b *testing.B) {
	dir := b.TempDir()
	opts := testOptions(dir, new(fakeMode))
	r, err := New(context.Background(), opts)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for _, body := range []string{
		rec("hello", "/hello"),
		rec("orders", "/api/v1/orders"),
		rec("order", "/api/v1/orders/{id}"),
		rec("lines", "/api/v1/orders/{id}/lines/{line}"),
		rec("files", "/files/{path...}"),
	} {
		if _, err := r.Create(ctx, []byte(body)); err != nil {
			b.Fatal(err)
		}
	}
	for i := range 200 {
		if _, err := r.Create(ctx, []byte(rec("n"+itoa(i), "/x"+itoa(i)+"/{id}"))); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := r.Sync(ctx, SyncOptions{}); err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct{ name, path string }{
		{"literal", "/api/v1/orders"},
		{"param", "/api/v1/orders/42"},
		{"two params", "/api/v1/orders/42/lines/7"},
		{"rest", "/files/a/b/c"},
		{"miss", "/nope/nope"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, ok := r.Live().Matcher(nil).Match(bc.path); !ok && bc.name != "miss" {
					b.Fatal("no match")
				}
			}
		})
	}
}

func itoa(i int) string {
	const digits = "0123456789"
	if i < 10 {
		return digits[i : i+1]
	}
	return itoa(i/10) + digits[i%10:i%10+1]
}

func FuzzMatch(f *testing.F) {
	r, err := New(context.Background(), testOptions(f.TempDir(), new(fakeMode)))
	if err != nil {
		f.Fatal(err)
	}
	for _, b := range []string{rec("a", "/a/{x}"), rec("b", "/a/b"), rec("c", "/f/{p...}"), rec("d", "/g/{x}/c/{y}")} {
		if _, err := r.Create(context.Background(), []byte(b)); err != nil {
			f.Fatal(err)
		}
	}
	if _, err := r.Sync(context.Background(), SyncOptions{}); err != nil {
		f.Fatal(err)
	}
	m := r.Live().Matcher(nil)
	for _, s := range []string{"/a/1", "/a/b", "/f/", "/f/%2e%2e/x", "/%", "//", "/g/x/c/y", "/a/%ZZ", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, path string) {
		rt, params, ok := m.Match(path)
		if ok && (rt == nil || (rt.params == 0) != (params == nil)) {
			t.Fatalf("Match(%q) = %v, %v", path, rt, params)
		}
		if ok && strings.Contains(path, "/../") {
			t.Fatalf("Match(%q) matched a path with ..", path)
		}
	})
}

func FuzzParsePattern(f *testing.F) {
	for _, s := range []string{"/a/{x}", "/a/{x...}", "/a/../b", "/{", "/{}", "/a//b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, route string) {
		p, probs := parsePattern(route)
		if len(probs) == 0 && (p == nil || strings.Contains(route, "//") || strings.ContainsAny(route, "?#%")) {
			t.Fatalf("parsePattern(%q) accepted", route)
		}
	})
}
