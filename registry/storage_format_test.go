package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// storedRevision reads the file of revision n as it is stored.
func storedRevision(t *testing.T, dir string, n int64) *revisionFile {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "endpoint", "revisions", fmt.Sprintf("%d.json", n)))
	if err != nil {
		t.Fatal(err)
	}
	rf := new(revisionFile)
	if err := json.Unmarshal(b, rf); err != nil {
		t.Fatal(err)
	}
	return rf
}

// TestFormat2Read: the files storage format 2 wrote (whole revisions, an
// index without bases, no drafts in the revisions) are read as they are:
// the live revision is served, the history lists them, and the next sync
// stores a delta of the format 2 revision.
func TestFormat2Read(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	at := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	write := func(key string, v any) {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, "endpoint", filepath.FromSlash(key))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	record := func(name, code string, version int64) map[string]any {
		return map[string]any{"name": name, "route": "/" + name, "request_method": "GET", "auth_type": "user",
			"exec_mode": "code", "code_snippet": code, "version": version, "updated_at": at}
	}
	write("revisions/1.json", map[string]any{"format": 2, "revision": 1, "created_at": at, "kind": "sync",
		"records": []any{record("a", "a1", 1)}})
	write("revisions/2.json", map[string]any{"format": 2, "revision": 2, "created_at": at, "kind": "sync",
		"records": []any{record("a", "a2", 2), record("b", "b1", 1)}})
	write("current", map[string]any{"format": 2, "revision": 2, "revisions": []any{
		map[string]any{"revision": 1, "created_at": at, "kind": "sync", "endpoints": 1},
		map[string]any{"revision": 2, "created_at": at, "kind": "sync", "endpoints": 2},
	}})
	write("drafts/a.json", record("a", "a2", 2))
	write("drafts/b.json", record("b", "b1", 1))
	// format 2 stored the stamp as plain text
	if err := os.WriteFile(filepath.Join(dir, "endpoint", "drafts.stamp"), []byte("PLAINSTAMP"), 0o600); err != nil {
		t.Fatal(err)
	}

	f := &fixture{t: t, dir: dir, mode: new(fakeMode)}
	f.r = f.reopen()
	if served(f.r, "GET", "/a") != "a2" || served(f.r, "GET", "/b") != "b1" || f.r.Live().Revision() != 2 {
		t.Fatalf("format 2 revision not served: rev %d, /a %q", f.r.Live().Revision(), served(f.r, "GET", "/a"))
	}
	if st := f.r.Status(); !st.InSync {
		t.Fatalf("status over format 2 files = %+v", st)
	}
	if d, err := f.r.Revision(ctx, 1); err != nil || len(d.Records) != 1 || d.Records[0].CodeSnippet != "a1" {
		t.Fatalf("format 2 revision 1 = %+v, %v", d, err)
	}
	if _, err := f.r.Patch(ctx, "b", []byte(`{"code_snippet": "b2"}`), nil); err != nil {
		t.Fatal(err)
	}
	if res := f.sync(); res.Revision != 3 {
		t.Fatalf("sync over format 2 files = %+v", res)
	}
	rf := storedRevision(t, dir, 3)
	if rf.Format != storageFormat || rf.Base != 2 || len(rf.Changed) != 1 || rf.Changed[0].Name != "b" || rf.Records != nil {
		t.Fatalf("revision 3 is not a delta of the format 2 revision: %+v", rf)
	}
	if r := f.reopen(); served(r, "GET", "/b") != "b2" || served(r, "GET", "/a") != "a2" || !r.Status().InSync {
		t.Fatal("a delta of a format 2 revision does not load")
	}
	if _, err := f.r.Rollback(ctx, 1, Origin{}); err != nil {
		t.Fatalf("rollback to a format 2 revision: %v", err)
	}
	if served(f.r, "GET", "/a") != "a1" || served(f.r, "GET", "/b") != "" {
		t.Fatal("rollback to a format 2 revision serves the wrong set")
	}
}

// TestDeltaRevisions: a sync that changes few records stores them only,
// next to the whole revision they change; every revision still loads as
// its whole set (history, diff, rollback, restart), and a revision whose
// changes outgrow the limit is stored whole again.
func TestDeltaRevisions(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	for i := range 10 {
		f.create(rec(fmt.Sprintf("r%02d", i), fmt.Sprintf("/r%02d", i)))
	}
	f.sync()
	if rf := storedRevision(t, f.dir, 1); rf.Base != 0 || len(rf.Records) != 10 {
		t.Fatalf("the first revision is not whole: base %d, %d records", rf.Base, len(rf.Records))
	}
	if _, err := f.r.Patch(ctx, "r03", []byte(`{"code_snippet": "changed"}`), nil); err != nil {
		t.Fatal(err)
	}
	if err := f.r.Delete(ctx, "r05", nil); err != nil {
		t.Fatal(err)
	}
	f.sync()
	rf := storedRevision(t, f.dir, 2)
	if rf.Base != 1 || len(rf.Changed) != 1 || rf.Changed[0].Name != "r03" || !slices.Equal(rf.Removed, []string{"r05"}) {
		t.Fatalf("revision 2 = base %d, changed %d, removed %v", rf.Base, len(rf.Changed), rf.Removed)
	}
	f.create(rec("new", "/new"))
	f.sync()
	if rf := storedRevision(t, f.dir, 3); rf.Base != 1 || len(rf.Changed) != 2 || len(rf.Removed) != 1 {
		t.Fatalf("revision 3 is not a delta of 1 with every change since: %+v", rf)
	}
	d, err := f.r.Revision(ctx, 3)
	if err != nil || len(d.Records) != 10 {
		t.Fatalf("delta revision 3 lists %d records, %v", len(d.Records), err)
	}
	diff, err := f.r.Diff(ctx, 1, 3)
	if err != nil || !slices.Equal(diff.Added, []string{"new"}) || !slices.Equal(diff.Removed, []string{"r05"}) || len(diff.Changed) != 1 {
		t.Fatalf("diff of delta revisions = %+v, %v", diff, err)
	}
	r := f.reopen()
	if served(r, "GET", "/r03") != "changed" || served(r, "GET", "/r05") != "" || served(r, "GET", "/new") == "" || r.Live().Revision() != 3 {
		t.Fatal("a delta revision does not load whole after a restart")
	}
	if _, err := f.r.Rollback(ctx, 2, Origin{}); err != nil {
		t.Fatal(err)
	}
	if served(f.r, "GET", "/new") != "" || served(f.r, "GET", "/r03") != "changed" {
		t.Fatal("rollback to a delta revision serves the wrong set")
	}

	// past the limit the revision is whole again (the rollback left 9
	// records)
	more := deltaLimit(9+100) + 1
	for i := range more {
		f.create(rec(fmt.Sprintf("m%03d", i), fmt.Sprintf("/m%03d", i)))
	}
	res := f.sync()
	if rf := storedRevision(t, f.dir, res.Revision); rf.Base != 0 || len(rf.Records) != 9+more {
		t.Fatalf("a revision with %d new records is stored as base %d, %d records", more, rf.Base, len(rf.Records))
	}
}

// TestDeltaBaseLost: a delta whose base file is gone does not load; the
// start falls back to the newest revision that does, as for any damaged
// revision, and the next sync stores a whole revision.
func TestDeltaBaseLost(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.create(rec("a", "/a", "code_snippet", "v1"))
	f.sync()
	if _, err := f.r.Patch(ctx, "a", []byte(`{"code_snippet": "v2"}`), nil); err != nil {
		t.Fatal(err)
	}
	f.sync()
	if err := os.Remove(filepath.Join(f.dir, "endpoint", "revisions", "1.json")); err != nil {
		t.Fatal(err)
	}
	r := f.reopen()
	if r.Live().Revision() != 0 {
		t.Fatalf("serving revision %d with its base gone", r.Live().Revision())
	}
	if res, err := r.Sync(ctx, SyncOptions{}); err != nil || res.Revision != 3 {
		t.Fatalf("sync after the base was lost = %+v, %v", res, err)
	}
	if rf := storedRevision(t, f.dir, 3); rf.Base != 0 || len(rf.Records) != 1 {
		t.Fatalf("revision 3 after the base was lost: base %d", rf.Base)
	}
}

// TestStartTakesDraftsFromRevision: after a sync, a start reads no draft
// file: the revision says what the drafts were, and the drafts' stamp
// says nothing was written since. Once a draft is written (here or on
// another instance) the next start reads them again.
func TestStartTakesDraftsFromRevision(t *testing.T) {
	ctx := context.Background()
	var cs *countingStorage
	counting := func(o *Options) {
		cs = &countingStorage{Storage: o.Storage, draftPrefix: "endpoint/drafts/"}
		o.Storage = cs
	}
	decl := func(o *Options) { o.Declared = []Record{{Name: "hidden", Route: "/decl", CodeSnippet: "declared"}} }
	f := newFixture(t, decl)
	for i := range 20 {
		f.create(rec(fmt.Sprintf("r%02d", i), fmt.Sprintf("/r%02d", i)))
	}
	f.sync()
	// a pending draft, an archived one and a published one deleted as a
	// draft (a selective sync keeps them apart from the revision)
	if _, err := f.r.Patch(ctx, "r01", []byte(`{"code_snippet": "pending"}`), nil); err != nil {
		t.Fatal(err)
	}
	if err := f.r.Delete(ctx, "r02", nil); err != nil {
		t.Fatal(err)
	}
	f.create(rec("r99", "/r99"))
	if _, err := f.r.Sync(ctx, SyncOptions{Only: []string{"r99"}}); err != nil {
		t.Fatal(err)
	}
	want := f.r.List(Filter{})
	wantStatus := f.r.Status()

	r := f.reopen(decl, counting)
	if loads, lists := cs.reset(); loads != 0 || lists != 0 {
		t.Errorf("a start after a sync read %d drafts and listed %d times", loads, lists)
	}
	if got := r.List(Filter{}); !slices.EqualFunc(got, want, func(a, b Record) bool {
		return a.Name == b.Name && a.Version == b.Version && a.SyncState == b.SyncState && a.CodeSnippet == b.CodeSnippet
	}) {
		t.Fatalf("drafts after the start = %+v\nwant %+v", got, want)
	}
	if st := r.Status(); !slices.Equal(st.Pending.Changed, wantStatus.Pending.Changed) || !slices.Equal(st.Pending.Removed, wantStatus.Pending.Removed) {
		t.Fatalf("status after the start = %+v, want %+v", st, wantStatus)
	}
	// the first sync after such a start reads no draft either
	if _, err := r.Sync(ctx, SyncOptions{}); err != nil {
		t.Fatal(err)
	}
	if loads, _ := cs.reset(); loads != 0 {
		t.Errorf("the first sync after the start read %d drafts", loads)
	}

	// drafts written after the publication: the next start reads them
	// all (a damaged one is found); an instance that knew them reads
	// only those the stamp's journal names
	other := f.reopen(decl)
	known := f.reopen(decl, counting)
	knownStorage := cs
	if _, err := other.Patch(ctx, "r03", []byte(`{"code_snippet": "elsewhere"}`), nil); err != nil {
		t.Fatal(err)
	}
	if err := other.Delete(ctx, "r04", nil); err != nil {
		t.Fatal(err)
	}
	r = f.reopen(decl, counting)
	if _, lists := cs.reset(); lists == 0 {
		t.Fatal("a start after draft writes did not read the drafts")
	}
	if got, err := r.Get("r03"); err != nil || got.CodeSnippet != "elsewhere" || got.SyncState != StateToSync {
		t.Fatalf("draft written after the publication = %+v, %v", got, err)
	}
	if _, err := r.Get("r04"); kindOf(err) != KindNotFound {
		t.Fatalf("draft deleted after the publication: %v", err)
	}
	// known started before the writes and read no draft: its sync reads
	// the two the journal names and publishes every draft as stored
	knownStorage.reset()
	res, err := known.Sync(ctx, SyncOptions{})
	if err != nil || !slices.Contains(res.Changed, "r03") || !slices.Contains(res.Removed, "r04") {
		t.Fatalf("sync after writes elsewhere = %+v, %v", res, err)
	}
	if loads, lists := knownStorage.reset(); loads != 2 || lists != 0 {
		t.Errorf("the sync read %d drafts and listed %d times", loads, lists)
	}
	if served(known, "GET", "/r03") != "elsewhere" || served(known, "GET", "/r04") != "" {
		t.Fatal("the sync did not publish the drafts written elsewhere")
	}
}
