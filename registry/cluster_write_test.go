package registry

import (
	"context"
	"errors"
	"testing"
)

// TestClusterWritesSeeEachOther: two registries on one storage refuse a
// duplicate create and a write on a state read before another
// instance changed it.
func TestClusterWritesSeeEachOther(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	a, b := f.r, f.reopen()
	raw := []byte(`{"name": "x", "route": "/x", "auth_type": "public", "exec_as_user": "bot", "code_snippet": "result = {}"}`)
	if _, err := a.Create(ctx, raw); err != nil {
		t.Fatal(err)
	}
	var re *Error
	if _, err := b.Create(ctx, raw); !errors.As(err, &re) || re.Kind != KindExists {
		t.Fatalf("create on b of a's draft: %v", err)
	}
	got, err := b.Get("x")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Patch(ctx, "x", []byte(`{"route_group": "a"}`), unchanged(got)); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Patch(ctx, "x", []byte(`{"route_group": "b"}`), unchanged(got)); !errors.As(err, &re) || re.Kind != KindStale {
		t.Fatalf("stale patch on b: %v", err)
	}
}
