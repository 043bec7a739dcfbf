package registry

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// randomRoute builds a route from a small alphabet so that random routes
// collide, nest and overlap often.
func randomRoute(rnd *rand.Rand) string {
	n := 1 + rnd.IntN(4)
	var b strings.Builder
	for i := 0; i < n; i++ {
		b.WriteByte('/')
		switch k := rnd.IntN(10); {
		case k < 6:
			b.WriteString([]string{"a", "b", "c"}[rnd.IntN(3)])
		case k < 9 || i < n-1:
			fmt.Fprintf(&b, "{p%d}", i)
		default:
			b.WriteString("{rest...}")
		}
	}
	return b.String()
}

// TestRouteIndexFindsEveryConflict: the index reports, for random sets of
// routes and methods, exactly the conflicts that comparing every pair
// finds, and forgets removed routes.
func TestRouteIndexFindsEveryConflict(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	for round := 0; round < 300; round++ {
		var recs []*Record
		for i := 0; i < 1+rnd.IntN(12); i++ {
			recs = append(recs, &Record{
				Name:           fmt.Sprintf("r%02d", i),
				Routes:         []string{randomRoute(rnd)},
				RequestMethods: []string{[]string{"GET", "POST"}[rnd.IntN(2)]},
			})
		}
		var ix routeIndex
		for _, rec := range recs {
			ix.add(routedOf(rec)...)
		}
		for _, rec := range recs {
			probe := routedOf(rec)
			var want []string
			for _, other := range recs {
				if other == rec {
					continue
				}
				if msg := conflict(probe[0], routedOf(other)[0]); msg != "" {
					want = append(want, msg)
				}
			}
			var got []string
			for _, d := range ix.conflicts(probe, func(o *Record) bool { return o == rec }) {
				got = append(got, d.Message)
			}
			slices.Sort(want)
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Fatalf("round %d, %s %s: index found %q, all pairs %q", round, rec.RequestMethod, rec.Route, got, want)
			}
		}
		// removing every record empties what any lookup sees
		for _, rec := range recs {
			ix.remove(routedOf(rec)...)
		}
		for _, rec := range recs {
			ix.overlapping(routedOf(rec)[0].pat, func(o routed) {
				t.Fatalf("round %d: %s still indexed after removal", round, o.pat.raw)
			})
		}
	}
}

// TestConflictsOrder: conflicts of a set come per later record by name,
// then by the name of the earlier one, as the all-pairs check gave them.
func TestConflictsOrder(t *testing.T) {
	recs := []*Record{
		{Name: "c", Routes: []string{"/x/{id}"}, RequestMethods: []string{"GET"}},
		{Name: "a", Routes: []string{"/x/{n}"}, RequestMethods: []string{"GET"}},
		{Name: "b", Routes: []string{"/{k}/1"}, RequestMethods: []string{"GET"}},
		{Name: "d", Routes: []string{"/x/{m}"}, RequestMethods: []string{"POST"}},
	}
	var got []string
	for _, d := range conflicts(recs, nil) {
		got = append(got, d.Name+": "+d.Message)
	}
	want := []string{
		`b: overlaps /x/{n} of "a" and neither is more specific`,
		`c: matches the same paths as /x/{n} of "a"`,
		`c: overlaps /{k}/1 of "b" and neither is more specific`,
		`d: matches the same paths as /x/{n} of "a"`,
		`d: overlaps /{k}/1 of "b" and neither is more specific`,
		`d: matches the same paths as /x/{id} of "c"`,
	}
	if !slices.Equal(got, want) {
		t.Fatalf("conflicts:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// scaleRecords returns n records with routes shaped like a real API:
// /svcK/items, /svcK/items/{id}, /svcK/items/{id}/notes and a few
// subtrees.
func scaleRecords(n int) []*Record {
	recs := make([]*Record, 0, n)
	for i := 0; i < n; i++ {
		var route string
		switch i % 4 {
		case 0:
			route = fmt.Sprintf("/svc%d/items", i/4)
		case 1:
			route = fmt.Sprintf("/svc%d/items/{id}", i/4)
		case 2:
			route = fmt.Sprintf("/svc%d/items/{id}/notes", i/4)
		default:
			route = fmt.Sprintf("/svc%d/files/{path...}", i/4)
		}
		recs = append(recs, &Record{Name: fmt.Sprintf("e%06d", i), Routes: []string{route}, RequestMethods: []string{"GET"}})
	}
	return recs
}

// BenchmarkRouteConflictCheck: checking one new route against an index of
// n routes (a write), and every route of a set against each other (a sync
// or a start).
func BenchmarkRouteConflictCheck(b *testing.B) {
	for _, n := range []int{1_000, 10_000, 100_000} {
		recs := scaleRecords(n)
		var ix routeIndex
		for _, rec := range recs {
			ix.add(routedOf(rec)...)
		}
		probe := routedOf(&Record{Name: "new", Routes: []string{"/svc7/items/{id}/tags"}, RequestMethods: []string{"GET"}})
		b.Run(fmt.Sprintf("one/%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if ds := ix.conflicts(probe, nil); len(ds) != 0 {
					b.Fatal(ds)
				}
			}
		})
		if n > 10_000 {
			continue
		}
		b.Run(fmt.Sprintf("set/%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if ds := conflicts(recs, nil); len(ds) != 0 {
					b.Fatal(ds)
				}
			}
		})
	}
}

// BenchmarkTableBuild: building the live table (matcher included) of n
// compiled entries.
func BenchmarkTableBuild(b *testing.B) {
	for _, n := range []int{1_000, 10_000} {
		var entries []*Entry
		for _, rec := range scaleRecords(n) {
			entries = append(entries, newEntry(rec, rec.view(), fakeProgram{}, nil, false))
		}
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				newTable(1, slices.Clone(entries))
			}
		})
	}
}

// TestPublishedRoutesCheckOnlyTheChange: once a set is published, the
// check of a candidate set that changes a few records looks only at those
// and the routes they can overlap, and finds exactly what a check of the
// whole set finds, declared records included; a selective sync that would
// serve a route twice is refused that way.
func TestPublishedRoutesCheckOnlyTheChange(t *testing.T) {
	ctx := context.Background()
	decl := []Record{{Name: "decl", Route: "/decl/{id}", CodeSnippet: "d"}}
	f := newFixture(t, func(o *Options) { o.Declared = decl })
	for i := range 120 {
		f.create(rec(fmt.Sprintf("r%03d", i), fmt.Sprintf("/r/%03d/{id}", i)))
	}
	f.sync()
	cfg := f.r.cfg
	edit := func(set map[string]*Record, name, route string) {
		c := cloneRecord(set[name])
		c.Version++
		c.Routes = []string{route}
		set[name] = c
	}
	cases := map[string]func(set map[string]*Record){
		"no conflict":       func(set map[string]*Record) { edit(set, "r005", "/elsewhere") },
		"same paths":        func(set map[string]*Record) { edit(set, "r010", "/r/011/{x}") },
		"declared":          func(set map[string]*Record) { edit(set, "r020", "/decl/{y}") },
		"two changed":       func(set map[string]*Record) { edit(set, "r030", "/both/{a}"); edit(set, "r031", "/both/{b}") },
		"added":             func(set map[string]*Record) { set["new"] = &Record{Name: "new", Routes: []string{"/r/{n}/{id}"}} },
		"removed and taken": func(set map[string]*Record) { delete(set, "r040"); edit(set, "r041", "/r/040/{id}") },
		"archived and taken": func(set map[string]*Record) {
			c := cloneRecord(set["r050"])
			c.Version++
			c.Active = new(bool)
			set["r050"] = c
			edit(set, "r051", "/r/050/{id}")
		},
	}
	for name, change := range cases {
		set := maps.Clone(f.r.published)
		change(set)
		for _, rec := range set {
			normalize(rec)
		}
		f.r.routes.mu.Lock()
		u := f.r.routes.changeTo(cfg, set)
		f.r.routes.mu.Unlock()
		if u == nil {
			t.Fatalf("%s: checked whole", name)
		}
		_, got := f.r.strictTable(cfg, set)
		whole := &Registry{routes: new(publishedRoutes), cache: f.r.cache}
		_, want := whole.strictTable(cfg, set)
		if !slices.Equal(got, want) {
			t.Fatalf("%s: the change's check found %+v, the whole set's %+v", name, got, want)
		}
		if wantConflict := name != "no conflict" && name != "removed and taken" && name != "archived and taken"; wantConflict != (len(got) > 0) {
			t.Fatalf("%s: conflicts %+v", name, got)
		}
	}

	// published B at /x, draft B moved to /y, draft A takes /x: a sync of
	// A alone would serve /x twice
	f.create(rec("b", "/x"))
	f.sync()
	if _, err := f.r.Patch(ctx, "b", []byte(`{"route": "/y"}`), nil); err != nil {
		t.Fatal(err)
	}
	f.create(rec("a", "/x"))
	_, err := f.r.Sync(ctx, SyncOptions{Only: []string{"a"}})
	if ds := detailsOf(err); len(ds) != 1 || ds[0].Name != "b" || ds[0].Field != "route" {
		t.Fatalf("selective sync serving /x twice: %v", err)
	}
	if res, err := f.r.Sync(ctx, SyncOptions{Only: []string{"a", "b"}}); err != nil || len(res.Added) != 1 {
		t.Fatalf("selective sync of both: %+v %v", res, err)
	}
	if served(f.r, "GET", "/x") != "code of a" || served(f.r, "GET", "/y") != "code of b" {
		t.Fatal("after the selective sync of both")
	}
}
