package registry

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/caddyserver/certmagic"
)

func TestSyncLifecycle(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	if st := f.r.Status(); st.Revision != 0 || !st.InSync || st.Pending.Added == nil || st.Pending.Changed == nil || st.Pending.Removed == nil {
		t.Fatalf("empty status = %+v", st)
	}

	f.create(rec("a", "/a", "code_snippet", "a1"))
	f.create(rec("old", "/old", "active", "false"))
	if got := served(f.r, "GET", "/a"); got != "" {
		t.Fatal("a draft is served before sync")
	}
	st := f.r.Status()
	if st.InSync || !slices.Equal(st.Pending.Added, []string{"a", "old"}) {
		t.Fatalf("status = %+v", st)
	}

	res := f.sync()
	if res.Revision != 1 || !slices.Equal(res.Added, []string{"a", "old"}) || res.Changed == nil || res.Removed == nil {
		t.Fatalf("sync = %+v", res)
	}
	if got := served(f.r, "GET", "/a"); got != "a1" {
		t.Fatalf("served %q after sync", got)
	}
	if served(f.r, "GET", "/old") != "" {
		t.Error("an archived record is served")
	}
	for _, r := range f.r.List(Filter{}) {
		if r.SyncState != StateInSync {
			t.Errorf("%s is %s after sync", r.Name, r.SyncState)
		}
	}

	// Every kind of change stays staged until the next sync.
	if _, err := f.r.Patch(ctx, "a", []byte(`{"code_snippet": "a2"}`), nil); err != nil {
		t.Fatal(err)
	}
	f.create(rec("b", "/b"))
	if err := f.r.Delete(ctx, "old", nil); err != nil {
		t.Fatal(err)
	}
	if got := served(f.r, "GET", "/a"); got != "a1" {
		t.Errorf("changed code served before sync: %q", got)
	}
	st = f.r.Status()
	want := Pending{Added: []string{"b"}, Changed: []string{"a"}, Removed: []string{"old"}}
	if st.InSync || !slices.Equal(st.Pending.Added, want.Added) || !slices.Equal(st.Pending.Changed, want.Changed) || !slices.Equal(st.Pending.Removed, want.Removed) {
		t.Errorf("status = %+v, want pending %+v", st, want)
	}
	if a, _ := f.r.Get("a"); a.SyncState != StateToSync {
		t.Errorf("a is %s", a.SyncState)
	}

	res = f.sync()
	if res.Revision != 2 || served(f.r, "GET", "/a") != "a2" || served(f.r, "GET", "/b") == "" {
		t.Errorf("second sync = %+v, /a serves %q", res, served(f.r, "GET", "/a"))
	}

	// Archiving unpublishes at the next sync.
	if _, err := f.r.Patch(ctx, "b", []byte(`{"active": false}`), nil); err != nil {
		t.Fatal(err)
	}
	if served(f.r, "GET", "/b") == "" {
		t.Error("archiving took effect before sync")
	}
	f.sync()
	if served(f.r, "GET", "/b") != "" {
		t.Error("archived record still served")
	}

	// Nothing pending: same revision.
	before := f.r.Live()
	res = f.sync()
	if res.Revision != 3 || len(res.Added)+len(res.Changed)+len(res.Removed) != 0 || f.r.Live() != before {
		t.Errorf("idle sync = %+v", res)
	}
	if revs := f.r.Revisions(); len(revs) != 3 || revs[0].Revision != 3 || revs[2].Revision != 1 {
		t.Errorf("revisions = %+v", revs)
	}
}

func TestSyncRefusesInvalidSet(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.create(rec("pub", "/pub", "auth_type", "public", "exec_as_user", "bot"))
	f.create(rec("ok", "/ok"))
	f.sync()
	other := f.reopen()
	f.create(rec("new", "/new"))

	// Another instance sharing the storage wrote a conflicting draft.
	if _, err := other.Create(ctx, []byte(rec("clash", "/new"))); err != nil {
		t.Fatal(err)
	}
	// The config lost user bot and exec mode "other" is gone.
	opts := testOptions(f.dir, f.mode)
	opts.UserExists = func(string) bool { return false }
	if err := f.r.Configure(ctx, opts); err != nil {
		t.Fatal(err)
	}
	if _, err := f.r.Patch(ctx, "ok", []byte(`{"code_snippet": "ok2"}`), nil); err != nil {
		t.Fatal(err)
	}

	live, status, revs := f.r.Live(), f.r.Status(), f.r.Revisions()
	_, err := f.r.Sync(ctx, SyncOptions{})
	if kindOf(err) != KindInvalid {
		t.Fatalf("sync err = %v, want KindInvalid", err)
	}
	var got []string
	for _, d := range detailsOf(err) {
		got = append(got, d.Name+"."+d.Field)
	}
	want := []string{"pub.exec_as_user", "new.route"}
	if !slices.Equal(got, want) {
		t.Errorf("details = %v, want %v", detailsOf(err), want)
	}
	if f.r.Live() != live || f.r.Revisions()[0] != revs[0] || f.r.Status().Revision != status.Revision {
		t.Error("a refused sync changed the live state")
	}
	if served(f.r, "GET", "/ok") != "code of ok" {
		t.Error("the old revision is no longer served")
	}
	if rs, _ := f.r.storage.List(ctx, "endpoint/revisions", false); len(rs) != 1 {
		t.Errorf("stored revisions = %v", rs)
	}
}

func TestRollback(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.create(rec("a", "/a", "code_snippet", "a1"))
	f.create(rec("gone", "/gone"))
	f.sync() // 1
	if _, err := f.r.Patch(ctx, "a", []byte(`{"code_snippet": "a2"}`), nil); err != nil {
		t.Fatal(err)
	}
	f.create(rec("b", "/b"))
	if err := f.r.Delete(ctx, "gone", nil); err != nil {
		t.Fatal(err)
	}
	f.sync() // 2
	a2, _ := f.r.Get("a")

	res, err := f.r.Rollback(ctx, 1, Origin{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Revision != 3 || !slices.Equal(res.Added, []string{"gone"}) || !slices.Equal(res.Changed, []string{"a"}) || !slices.Equal(res.Removed, []string{"b"}) {
		t.Errorf("rollback = %+v", res)
	}
	if served(f.r, "GET", "/a") != "a1" || served(f.r, "GET", "/b") != "" || served(f.r, "GET", "/gone") == "" {
		t.Error("the live table is not revision 1's set")
	}
	a, _ := f.r.Get("a")
	if a.CodeSnippet != "a1" || a.Version <= a2.Version || a.SyncState != StateInSync || sameState(a, a2) {
		t.Errorf("draft a after rollback = %+v", a)
	}
	if _, err := f.r.Get("b"); kindOf(err) != KindNotFound {
		t.Errorf("draft b survived the rollback: %v", err)
	}
	if !f.r.Status().InSync {
		t.Errorf("status after rollback = %+v", f.r.Status())
	}
	revs := f.r.Revisions()
	if len(revs) != 3 || revs[0].Revision != 3 || revs[0].Endpoints != 2 || revs[1].Endpoints != 2 {
		t.Errorf("revisions = %+v", revs)
	}
	if _, err := f.r.Rollback(ctx, 42, Origin{}); kindOf(err) != KindNotFound {
		t.Errorf("rollback to an unknown revision: %v", err)
	}

	// The drafts on disk are the rolled-back set too.
	r2 := f.reopen()
	if got := r2.List(Filter{}); len(got) != 2 || got[0].CodeSnippet != "a1" || got[0].SyncState != StateInSync {
		t.Errorf("drafts after restart = %+v", got)
	}
}

func TestRestart(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.create(rec("a", "/a", "code_snippet", "a1"))
	f.sync()
	if _, err := f.r.Patch(ctx, "a", []byte(`{"code_snippet": "a2"}`), nil); err != nil {
		t.Fatal(err)
	}
	f.create(rec("b", "/items/{id}"))

	r2 := f.reopen()
	if r2.Live().Revision() != 1 || served(r2, "GET", "/a") != "a1" || served(r2, "GET", "/items/1") != "" {
		t.Errorf("after restart: revision %d, /a serves %q", r2.Live().Revision(), served(r2, "GET", "/a"))
	}
	st := r2.Status()
	if !slices.Equal(st.Pending.Added, []string{"b"}) || !slices.Equal(st.Pending.Changed, []string{"a"}) {
		t.Errorf("status after restart = %+v", st)
	}
	a, _ := r2.Get("a")
	if orig, _ := f.r.Get("a"); !sameState(a, orig) {
		t.Error("the record's state changed across a restart")
	}
	if res, err := r2.Sync(ctx, SyncOptions{}); err != nil || res.Revision != 2 {
		t.Errorf("sync after restart = %+v, %v", res, err)
	}
}

// flakyStorage fails Store for the keys fail selects.
type flakyStorage struct {
	certmagic.Storage
	fail atomic.Pointer[func(key string) bool]
}

func (s *flakyStorage) Store(ctx context.Context, key string, value []byte) error {
	if f := s.fail.Load(); f != nil && (*f)(key) {
		return errors.New("disk full")
	}
	return s.Storage.Store(ctx, key, value)
}

func (s *flakyStorage) failOn(f func(key string) bool) {
	if f == nil {
		s.fail.Store(nil)
		return
	}
	s.fail.Store(&f)
}

func TestStorageFailureChangesNothing(t *testing.T) {
	ctx := context.Background()
	var fs *flakyStorage
	f := newFixture(t, func(o *Options) {
		fs = &flakyStorage{Storage: o.Storage}
		o.Storage = fs
	})
	f.create(rec("a", "/a", "code_snippet", "a1"))
	f.sync()
	fs.failOn(func(string) bool { return true })

	if _, err := f.r.Create(ctx, []byte(rec("b", "/b"))); err == nil || kindOf(err) != 0 {
		t.Errorf("Create with failing storage: %v", err)
	}
	if _, err := f.r.Patch(ctx, "a", []byte(`{"code_snippet": "a2"}`), nil); err == nil {
		t.Error("Patch with failing storage succeeded")
	}
	if len(f.r.List(Filter{})) != 1 || !f.r.Status().InSync {
		t.Error("a failed write changed the drafts")
	}

	fs.failOn(nil)
	if _, err := f.r.Patch(ctx, "a", []byte(`{"code_snippet": "a2"}`), nil); err != nil {
		t.Fatal(err)
	}
	// The revision stores but the index does not: nothing is published.
	fs.failOn(func(k string) bool { return strings.HasSuffix(k, "/current") })
	live := f.r.Live()
	if _, err := f.r.Sync(ctx, SyncOptions{}); err == nil {
		t.Fatal("Sync with failing storage succeeded")
	}
	if f.r.Live() != live || served(f.r, "GET", "/a") != "a1" || f.r.Status().InSync {
		t.Error("a failed sync changed the live state")
	}
	if r2 := f.reopen(); served(r2, "GET", "/a") != "a1" || r2.Live().Revision() != 1 {
		t.Error("a failed sync is visible after a restart")
	}
	fs.failOn(nil)
	if res := f.sync(); res.Revision != 2 || served(f.r, "GET", "/a") != "a2" {
		t.Errorf("sync after recovery = %+v", res)
	}
}

func TestInterruptedRollbackIsFinished(t *testing.T) {
	ctx := context.Background()
	var fs *flakyStorage
	f := newFixture(t, func(o *Options) {
		fs = &flakyStorage{Storage: o.Storage}
		o.Storage = fs
	})
	f.create(rec("a", "/a", "code_snippet", "a1"))
	f.sync()
	if _, err := f.r.Patch(ctx, "a", []byte(`{"code_snippet": "a2"}`), nil); err != nil {
		t.Fatal(err)
	}
	f.create(rec("b", "/b"))
	f.sync()

	// The failure: the new revision is current, the drafts are not
	// rewritten. The rollback published, so it answers its revision.
	fs.failOn(func(k string) bool { return strings.Contains(k, "/drafts/") })
	if res, err := f.r.Rollback(ctx, 1, Origin{}); err != nil || res.Revision != 3 {
		t.Fatalf("rollback with failing draft writes = %+v, %v", res, err)
	}
	fs.failOn(nil)

	// Another instance finishes the drafts on its first poll.
	r2 := f.reopen()
	if _, err := r2.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if r2.Live().Revision() != 3 || served(r2, "GET", "/a") != "a1" || served(r2, "GET", "/b") != "" {
		t.Errorf("after restart: revision %d, /a %q", r2.Live().Revision(), served(r2, "GET", "/a"))
	}
	a, err := r2.Get("a")
	if err != nil || a.CodeSnippet != "a1" || a.SyncState != StateInSync {
		t.Errorf("draft a = %+v, %v", a, err)
	}
	if _, err := r2.Get("b"); kindOf(err) != KindNotFound {
		t.Errorf("draft b: %v", err)
	}
	if !r2.Status().InSync {
		t.Errorf("status = %+v", r2.Status())
	}
	// The first registry catches up on its next poll.
	if changed, err := f.r.Refresh(ctx); err != nil || !changed || served(f.r, "GET", "/a") != "a1" {
		t.Errorf("Refresh = %v, %v", changed, err)
	}
}

func TestRefreshSharedStorage(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	other := f.reopen()
	f.create(rec("a", "/a"))
	f.sync()
	if served(other, "GET", "/a") != "" {
		t.Fatal("other instance served a revision it never loaded")
	}
	changed, err := other.Refresh(ctx)
	if err != nil || !changed || served(other, "GET", "/a") == "" || other.Live().Revision() != 1 {
		t.Fatalf("Refresh = %v, %v", changed, err)
	}
	if changed, err := other.Refresh(ctx); err != nil || changed {
		t.Errorf("second Refresh = %v, %v", changed, err)
	}
	// A sync on the other instance publishes drafts written here.
	f.create(rec("b", "/b"))
	if res, err := other.Sync(ctx, SyncOptions{}); err != nil || res.Revision != 2 || !slices.Equal(res.Added, []string{"b"}) {
		t.Fatalf("sync on the other instance = %+v, %v", res, err)
	}
	if changed, _ := f.r.Refresh(ctx); !changed || served(f.r, "GET", "/b") == "" {
		t.Error("first instance did not pick up revision 2")
	}
}

func TestConfigureReusesCompiled(t *testing.T) {
	ctx := context.Background()
	decl := []Record{{Name: "decl", Route: "/decl", CodeSnippet: "d1"}}
	f := newFixture(t, func(o *Options) { o.Declared = decl })
	start := f.mode.compiles.Load()
	f.create(rec("a", "/a"))
	f.create(rec("s", "/s", "request_method", "POST", "request_content_type", "application/json", "request_content_schema", "type: object"))
	f.sync()
	if got := f.mode.compiles.Load() - start; got != 2 {
		t.Errorf("write and sync of 2 records compiled %d programs, want 2", got)
	}

	opts := testOptions(f.dir, f.mode)
	opts.Declared = decl
	compiles, schemas := f.mode.compiles.Load(), schemaCompiles.Load()
	for range 3 {
		if err := f.r.Configure(ctx, opts); err != nil {
			t.Fatal(err)
		}
	}
	if got := f.mode.compiles.Load() - compiles; got != 0 {
		t.Errorf("reload compiled %d programs, want 0", got)
	}
	if got := schemaCompiles.Load() - schemas; got != 0 {
		t.Errorf("reload compiled %d schemas, want 0", got)
	}
	if served(f.r, "GET", "/a") == "" || served(f.r, "GET", "/decl") != "d1" {
		t.Error("reload lost endpoints")
	}

	opts.Declared = []Record{{Name: "decl", Route: "/decl", CodeSnippet: "d2"}}
	if err := f.r.Configure(ctx, opts); err != nil {
		t.Fatal(err)
	}
	if got := f.mode.compiles.Load() - compiles; got != 1 {
		t.Errorf("changing one declared record compiled %d programs, want 1", got)
	}
	if served(f.r, "GET", "/decl") != "d2" || f.r.Live().Revision() != 1 {
		t.Error("declared change not live at once")
	}

	// An invalid config changes nothing.
	live := f.r.Live()
	opts.Declared = []Record{{Name: "decl", Route: "/decl/../x", CodeSnippet: "d3"}}
	if err := f.r.Configure(ctx, opts); kindOf(err) != KindInvalid {
		t.Errorf("Configure with an invalid declared record: %v", err)
	}
	if f.r.Live() != live {
		t.Error("a refused Configure swapped the table")
	}
}

func TestDeclared(t *testing.T) {
	ctx := context.Background()
	decl := []Record{
		{Name: "hello", Route: "/hello", CodeSnippet: "hi", AuthType: AuthPublic, ExecAsUser: "bot"},
		{Name: "items", Route: "/items/{id}", CodeSnippet: "item"},
	}
	f := newFixture(t, func(o *Options) { o.Declared = decl })
	if served(f.r, "GET", "/hello") != "hi" || f.r.Live().Revision() != 0 {
		t.Fatal("declared record not live at once")
	}
	h, err := f.r.Get("hello")
	if err != nil || h.SyncState != StateInSync || h.AuthType != AuthPublic {
		t.Errorf("Get(hello) = %+v, %v", h, err)
	}
	if !f.r.Status().InSync {
		t.Error("declared records are pending")
	}

	tests := []struct {
		name string
		do   func() error
		want Kind
	}{
		{"create", func() error { _, err := f.r.Create(ctx, []byte(rec("hello", "/x"))); return err }, KindReadOnly},
		{"put", func() error { _, _, err := f.r.Put(ctx, "hello", []byte(rec("hello", "/x")), nil); return err }, KindReadOnly},
		{"patch", func() error { _, err := f.r.Patch(ctx, "hello", []byte(`{}`), nil); return err }, KindReadOnly},
		{"delete", func() error { return f.r.Delete(ctx, "hello", nil) }, KindReadOnly},
		{"conflict", func() error { _, err := f.r.Create(ctx, []byte(rec("x", "/hello"))); return err }, KindInvalid},
		{"overlap", func() error { _, err := f.r.Create(ctx, []byte(rec("x", "/{a}/1"))); return err }, KindInvalid},
		{"more specific", func() error { _, err := f.r.Create(ctx, []byte(rec("x", "/items/new"))); return err }, 0},
	}
	for _, tt := range tests {
		if err := tt.do(); kindOf(err) != tt.want || (tt.want == 0 && err != nil) {
			t.Errorf("%s: err = %v, want kind %d", tt.name, err, tt.want)
		}
	}
	f.sync()
	if revs := f.r.Revisions(); revs[0].Endpoints != 3 {
		t.Errorf("revision endpoints = %d, want 3", revs[0].Endpoints)
	}
	if e, err := f.r.CompileDraft("hello"); err != nil || e.Program.(fakeProgram).code != "hi" || !e.Declared {
		t.Errorf("CompileDraft(hello) = %+v, %v", e, err)
	}

	bad := []struct {
		name string
		decl []Record
	}{
		{"invalid", []Record{{Name: "x", Route: "/", CodeSnippet: "c"}}},
		{"twice", []Record{{Name: "x", Route: "/x", CodeSnippet: "c"}, {Name: "x", Route: "/y", CodeSnippet: "c"}}},
		{"conflict", []Record{{Name: "x", Route: "/x", CodeSnippet: "c"}, {Name: "y", Route: "/x", CodeSnippet: "c"}}},
		{"compile", []Record{{Name: "x", Route: "/x", CodeSnippet: "syntax error"}}},
	}
	for _, tt := range bad {
		opts := testOptions(t.TempDir(), new(fakeMode))
		opts.Declared = tt.decl
		if _, err := New(ctx, opts); kindOf(err) != KindInvalid || detailsOf(err)[0].Name != "x" && detailsOf(err)[0].Name != "y" {
			t.Errorf("%s: New err = %v", tt.name, err)
		}
	}
}

func TestDeclaredShadowsPublished(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.create(rec("a", "/a", "code_snippet", "draft a"))
	f.create(rec("b", "/shared"))
	f.sync()
	opts := testOptions(f.dir, f.mode)
	opts.Declared = []Record{
		{Name: "a", Route: "/a", CodeSnippet: "declared a"},
		{Name: "c", Route: "/shared", CodeSnippet: "declared c"},
	}
	if err := f.r.Configure(ctx, opts); err != nil {
		t.Fatal(err)
	}
	if served(f.r, "GET", "/a") != "declared a" || served(f.r, "GET", "/shared") != "declared c" {
		t.Errorf("declared records do not win: /a %q, /shared %q", served(f.r, "GET", "/a"), served(f.r, "GET", "/shared"))
	}
	if _, err := f.r.Sync(ctx, SyncOptions{}); kindOf(err) != KindInvalid || detailsOf(err)[0].Name != "b" {
		t.Errorf("sync with a draft clashing with a declared record: %v", err)
	}
}

func TestCompileDraft(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.create(rec("a", "/a", "code_snippet", "v1"))
	f.sync()
	if _, err := f.r.Patch(ctx, "a", []byte(`{"code_snippet": "v2"}`), nil); err != nil {
		t.Fatal(err)
	}
	e, err := f.r.CompileDraft("a")
	if err != nil || e.Program.(fakeProgram).code != "v2" {
		t.Errorf("CompileDraft = %+v, %v", e, err)
	}
	if served(f.r, "GET", "/a") != "v1" {
		t.Error("CompileDraft changed the live table")
	}
	if _, err := f.r.CompileDraft("nope"); kindOf(err) != KindNotFound {
		t.Errorf("CompileDraft(nope): %v", err)
	}
	if p := f.r.Published(); len(p) != 1 || p[0].Record.Name != "a" {
		t.Errorf("Published = %v", p)
	}
}

func TestRecreatePublishedContinuesVersion(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	a := f.create(rec("a", "/a"))
	f.sync()
	if err := f.r.Delete(ctx, "a", unchanged(a)); err != nil {
		t.Fatal(err)
	}
	if st := f.r.Status(); !slices.Equal(st.Pending.Removed, []string{"a"}) {
		t.Errorf("pending = %+v", st.Pending)
	}
	b := f.create(rec("a", "/a"))
	if b.Version != 2 || b.SyncState != StateToSync || sameState(b, a) {
		t.Errorf("recreated = %+v", b)
	}
	if st := f.r.Status(); !slices.Equal(st.Pending.Changed, []string{"a"}) {
		t.Errorf("pending = %+v", st.Pending)
	}
}

func TestJSONShapes(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		v    any
		want string
	}{
		{f.r.Status(), `{"revision":0,"in_sync":true,"pending":{"added":[],"changed":[],"removed":[]}}`},
		{f.sync(), `{"revision":0,"added":[],"changed":[],"removed":[]}`},
		{f.r.Revisions(), `[]`},
		{f.r.List(Filter{}), `[]`},
	}
	for _, tt := range tests {
		data, err := json.Marshal(tt.v)
		if err != nil || string(data) != tt.want {
			t.Errorf("JSON = %s, %v; want %s", data, err, tt.want)
		}
	}
}

func TestRollbackRefusedWhenInvalidNow(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	p := f.create(rec("pub", "/pub", "auth_type", "public", "exec_as_user", "bot"))
	f.sync()
	if err := f.r.Delete(ctx, "pub", unchanged(p)); err != nil {
		t.Fatal(err)
	}
	f.create(rec("a", "/a"))
	f.sync()
	opts := testOptions(f.dir, f.mode)
	opts.UserExists = func(string) bool { return false }
	if err := f.r.Configure(ctx, opts); err != nil {
		t.Fatal(err)
	}
	live := f.r.Live()
	_, err := f.r.Rollback(ctx, 1, Origin{})
	if ds := detailsOf(err); kindOf(err) != KindInvalid || len(ds) != 1 || ds[0].Name != "pub" || ds[0].Field != "exec_as_user" {
		t.Fatalf("rollback err = %v", err)
	}
	if f.r.Live() != live || len(f.r.Revisions()) != 2 || len(f.r.List(Filter{})) != 1 {
		t.Error("a refused rollback changed something")
	}
}

func TestSwapIsAtomicForReaders(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.create(rec("a", "/a", "code_snippet", "v0"))
	f.create(rec("b", "/b/{id}", "code_snippet", "v0"))
	f.sync()
	stop := make(chan struct{})
	done := make(chan error)
	go func() {
		for {
			select {
			case <-stop:
				done <- nil
				return
			default:
			}
			m := f.r.Live().Matcher(nil)
			ra, _, okA := m.Match("/a")
			rb, _, okB := m.Match("/b/1")
			if !okA || !okB {
				done <- errors.New("a route vanished during a swap")
				return
			}
			ca := ra.Methods["GET"].Program.(fakeProgram).code
			cb := rb.Methods["GET"].Program.(fakeProgram).code
			if ca != cb {
				done <- errors.New("one table served two revisions: " + ca + " and " + cb)
				return
			}
		}
	}()
	for i := 1; i <= 5; i++ {
		code := `{"code_snippet": "v` + itoa(i) + `"}`
		for _, n := range []string{"a", "b"} {
			if _, err := f.r.Patch(ctx, n, []byte(code), nil); err != nil {
				t.Fatal(err)
			}
		}
		f.sync()
	}
	close(stop)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestInterruptedRollbackKeepsLaterDrafts: a rollback published but its
// draft rewrite failed; drafts written after it survive the finishing,
// those it found unchanged become its records.
func TestInterruptedRollbackKeepsLaterDrafts(t *testing.T) {
	ctx := context.Background()
	var fs *flakyStorage
	f := newFixture(t, func(o *Options) {
		fs = &flakyStorage{Storage: o.Storage}
		o.Storage = fs
	})
	f.create(rec("a", "/a", "code_snippet", "a1"))
	f.create(rec("c", "/c", "code_snippet", "c1"))
	f.sync()
	for _, n := range []string{"a", "c"} {
		if _, err := f.r.Patch(ctx, n, []byte(`{"code_snippet": "`+n+`2"}`), nil); err != nil {
			t.Fatal(err)
		}
	}
	f.create(rec("b", "/b"))
	f.sync()

	fs.failOn(func(k string) bool { return strings.Contains(k, "/drafts/") })
	if res, err := f.r.Rollback(ctx, 1, Origin{}); err != nil || res.Revision != 3 {
		t.Fatalf("rollback = %+v, %v", res, err)
	}
	fs.failOn(nil)
	if _, err := f.r.Patch(ctx, "a", []byte(`{"code_snippet": "later"}`), nil); err != nil {
		t.Fatal(err)
	}
	f.create(rec("d", "/d"))
	// a sync finishes the rollback first, then publishes
	res := f.sync()
	if res.Revision != 4 || !slices.Equal(res.Added, []string{"d"}) || !slices.Equal(res.Changed, []string{"a"}) {
		t.Fatalf("sync after the interrupted rollback = %+v", res)
	}
	for n, want := range map[string]string{"/a": "later", "/c": "c1", "/d": "code of d"} {
		if got := served(f.r, "GET", n); got != want {
			t.Errorf("%s serves %q, want %q", n, got, want)
		}
	}
	if _, err := f.r.Get("b"); kindOf(err) != KindNotFound {
		t.Errorf("draft b, unchanged since the rollback that drops it: %v", err)
	}
}
