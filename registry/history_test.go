package registry

import (
	"context"
	"slices"
	"strings"
	"testing"
)

func TestSelectiveSync(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.create(rec("a", "/a", "code_snippet", "a1"))
	f.create(rec("b", "/b", "code_snippet", "b1"))
	f.create(rec("gone", "/gone"))
	f.sync()

	if _, err := f.r.Patch(ctx, "a", []byte(`{"code_snippet": "a2"}`), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := f.r.Patch(ctx, "b", []byte(`{"code_snippet": "b2"}`), nil); err != nil {
		t.Fatal(err)
	}
	f.create(rec("c", "/c"))
	if err := f.r.Delete(ctx, "gone", nil); err != nil {
		t.Fatal(err)
	}

	res, err := f.r.Sync(ctx, SyncOptions{Only: []string{"a", "gone"}, Origin: Origin{Message: "ship a", Source: "127.0.0.1:1"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Revision != 2 || !slices.Equal(res.Changed, []string{"a"}) || !slices.Equal(res.Removed, []string{"gone"}) || len(res.Added) != 0 {
		t.Fatalf("selective sync = %+v", res)
	}
	if served(f.r, "GET", "/a") != "a2" || served(f.r, "GET", "/b") != "b1" || served(f.r, "GET", "/c") != "" || served(f.r, "GET", "/gone") != "" {
		t.Fatal("a selective sync published what it was not asked to")
	}
	st := f.r.Status()
	if !slices.Equal(st.Pending.Added, []string{"c"}) || !slices.Equal(st.Pending.Changed, []string{"b"}) || len(st.Pending.Removed) != 0 {
		t.Fatalf("pending after selective sync = %+v", st.Pending)
	}
	revs := f.r.Revisions()
	if revs[0].Kind != RevisionSync || revs[0].Message != "ship a" || revs[0].Source != "127.0.0.1:1" {
		t.Fatalf("revision info = %+v", revs[0])
	}

	// An unknown name refuses the whole sync.
	_, err = f.r.Sync(ctx, SyncOptions{Only: []string{"b", "nope"}})
	if kindOf(err) != KindInvalid || !slices.Equal(fieldsOf(err), []string{"only[1]"}) {
		t.Fatalf("unknown name: %v", err)
	}
	if served(f.r, "GET", "/b") != "b1" {
		t.Fatal("a refused sync published b")
	}

	// Validation runs on the resulting set: c conflicts with nothing that
	// is published, so naming it alone passes even though b's draft would
	// not matter.
	if _, err := f.r.Sync(ctx, SyncOptions{Only: []string{"c"}}); err != nil {
		t.Fatal(err)
	}
}

func TestSelectiveSyncChecksResultingSet(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.create(rec("a", "/x"))
	f.sync()
	// b takes /x once a moves away; publishing b without a conflicts.
	if _, err := f.r.Patch(ctx, "a", []byte(`{"route": "/y"}`), nil); err != nil {
		t.Fatal(err)
	}
	f.create(rec("b", "/x"))
	if _, err := f.r.Sync(ctx, SyncOptions{Only: []string{"b"}}); kindOf(err) != KindInvalid {
		t.Fatalf("b alone next to the published a: %v", err)
	}
	if _, err := f.r.Sync(ctx, SyncOptions{Only: []string{"a", "b"}}); err != nil {
		t.Fatal(err)
	}
}

func TestRevisionDetailAndDiff(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.create(rec("a", "/a", "code_snippet", "line 1\nline 2\n"))
	f.create(rec("b", "/b"))
	f.sync()
	if _, err := f.r.Patch(ctx, "a", []byte(`{"code_snippet": "line 1\nline two\n", "route_group": "g"}`), nil); err != nil {
		t.Fatal(err)
	}
	if err := f.r.Delete(ctx, "b", nil); err != nil {
		t.Fatal(err)
	}
	f.create(rec("c", "/c"))
	f.sync()

	d, err := f.r.Revision(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if d.Revision != 1 || d.Kind != RevisionSync || len(d.Records) != 2 || d.Records[0].Name != "a" || d.Records[0].CodeSnippet != "line 1\nline 2\n" {
		t.Fatalf("revision 1 = %+v", d)
	}

	diff, err := f.r.Diff(ctx, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	if diff.To != 2 || !slices.Equal(diff.Added, []string{"c"}) || !slices.Equal(diff.Removed, []string{"b"}) || len(diff.Changed) != 1 {
		t.Fatalf("diff = %+v", diff)
	}
	ch := diff.Changed[0]
	if ch.Name != "a" || !slices.Equal(ch.Fields, []string{"code_snippet", "route_group"}) {
		t.Fatalf("changed = %+v", ch)
	}
	if !strings.Contains(ch.CodeDiff, "-line 2\n") || !strings.Contains(ch.CodeDiff, "+line two\n") || !strings.HasPrefix(ch.CodeDiff, "--- revision 1/a/code_snippet") || ch.SchemaDiff != "" {
		t.Fatalf("code diff = %q", ch.CodeDiff)
	}
	if _, err := f.r.Diff(ctx, 1, 9); kindOf(err) != KindNotFound {
		t.Fatalf("diff to a missing revision: %v", err)
	}
	if _, err := f.r.Revision(ctx, 7); kindOf(err) != KindNotFound {
		t.Fatalf("missing revision: %v", err)
	}
}

func TestKeepRevisions(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, func(o *Options) { o.KeepRevisions = 2 })
	for i, code := range []string{"v1", "v2", "v3", "v4"} {
		if i == 0 {
			f.create(rec("a", "/a", "code_snippet", code))
		} else if _, err := f.r.Patch(ctx, "a", []byte(`{"code_snippet": "`+code+`"}`), nil); err != nil {
			t.Fatal(err)
		}
		f.sync()
	}
	revs := f.r.Revisions()
	if len(revs) != 2 || revs[0].Revision != 4 || revs[1].Revision != 3 {
		t.Fatalf("revisions = %+v", revs)
	}
	if _, err := f.r.Rollback(ctx, 2, Origin{}); kindOf(err) != KindNotFound {
		t.Fatalf("rollback to a pruned revision: %v", err)
	}
	if _, err := f.r.Revision(ctx, 1); kindOf(err) != KindNotFound {
		t.Fatalf("pruned revision: %v", err)
	}
	if _, err := f.r.Diff(ctx, 2, 4); kindOf(err) != KindNotFound {
		t.Fatalf("diff of a pruned revision: %v", err)
	}
	if found, _ := f.r.loadJSON(ctx, f.r.revisionKey(2), new(revisionFile)); found {
		t.Fatal("a pruned revision stays in storage")
	}
	// revision 1 is whole and 3 and 4 are deltas of it: its file stays
	// while they are listed, but it is not listed itself
	if found, _ := f.r.loadJSON(ctx, f.r.revisionKey(1), new(revisionFile)); !found {
		t.Fatal("the base of listed revisions was deleted")
	}
	res, err := f.r.Rollback(ctx, 3, Origin{Message: "back", Source: "me"})
	if err != nil || res.Revision != 5 {
		t.Fatalf("rollback to 3: %+v %v", res, err)
	}
	if r := f.r.Revisions()[0]; r.Kind != RevisionRollback || r.Message != "back" || r.Source != "me" {
		t.Fatalf("rollback revision = %+v", r)
	}
	// after a restart the pruned list is what the index says
	if revs := f.reopen(func(o *Options) { o.KeepRevisions = 2 }).Revisions(); len(revs) != 2 || revs[0].Revision != 5 {
		t.Fatalf("revisions after reopen = %+v", revs)
	}
}
