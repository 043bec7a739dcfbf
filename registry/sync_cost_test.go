package registry

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/caddyserver/certmagic"
)

// countingStorage counts the reads of draft keys and the listings.
type countingStorage struct {
	certmagic.Storage
	mu          sync.Mutex
	draftLoads  int
	listings    int
	draftPrefix string
}

func (s *countingStorage) Load(ctx context.Context, key string) ([]byte, error) {
	s.mu.Lock()
	if strings.HasPrefix(key, s.draftPrefix) {
		s.draftLoads++
	}
	s.mu.Unlock()
	return s.Storage.Load(ctx, key)
}

func (s *countingStorage) List(ctx context.Context, prefix string, recursive bool) ([]string, error) {
	s.mu.Lock()
	s.listings++
	s.mu.Unlock()
	return s.Storage.List(ctx, prefix, recursive)
}

// reset returns the counts so far and zeroes them.
func (s *countingStorage) reset() (draftLoads, listings int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	draftLoads, listings = s.draftLoads, s.listings
	s.draftLoads, s.listings = 0, 0
	return draftLoads, listings
}

// TestSyncCostFollowsTheChange: with 200 published records, a sync with
// nothing pending reads no draft and compiles nothing, a sync after one
// write reads no other draft and compiles that one record only, and a
// draft another instance wrote to the shared storage is still read and
// published by the next sync.
func TestSyncCostFollowsTheChange(t *testing.T) {
	ctx := context.Background()
	var cs *countingStorage
	f := newFixture(t, func(o *Options) {
		cs = &countingStorage{Storage: o.Storage, draftPrefix: "endpoint/drafts/"}
		o.Storage = cs
	})
	for i := 0; i < 200; i++ {
		f.create(rec(fmt.Sprintf("r%03d", i), fmt.Sprintf("/r/%03d/{id}", i)))
	}
	f.sync()
	f.sync() // the first sync after the creates may read the drafts once

	cs.reset()
	compiles := f.mode.compiles.Load()
	for i := 0; i < 3; i++ {
		if res := f.sync(); res.Revision != 1 || len(res.Added)+len(res.Changed)+len(res.Removed) != 0 {
			t.Fatalf("no-op sync = %+v", res)
		}
	}
	if loads, lists := cs.reset(); loads != 0 || lists != 0 {
		t.Errorf("no-op syncs read %d drafts and listed %d times", loads, lists)
	}
	if n := f.mode.compiles.Load() - compiles; n != 0 {
		t.Errorf("no-op syncs compiled %d programs", n)
	}
	if st := f.r.Status(); !st.InSync || st.Revision != 1 {
		t.Errorf("status = %+v", st)
	}

	if _, err := f.r.Patch(ctx, "r007", []byte(`{"code_snippet": "changed"}`), nil); err != nil {
		t.Fatal(err)
	}
	cs.reset()
	compiles = f.mode.compiles.Load()
	if res := f.sync(); res.Revision != 2 || !slices.Equal(res.Changed, []string{"r007"}) {
		t.Fatalf("one-record sync = %+v", res)
	}
	if loads, lists := cs.reset(); loads != 0 || lists != 0 {
		t.Errorf("a one-record sync read %d drafts and listed %d times", loads, lists)
	}
	if n := f.mode.compiles.Load() - compiles; n != 0 {
		// the write compiled it already
		t.Errorf("one-record sync compiled %d programs", n)
	}

	// another instance on the same storage writes a draft: the stamp
	// tells this one to read the drafts again before it publishes
	other := f.reopen()
	if _, err := other.Create(ctx, []byte(rec("elsewhere", "/elsewhere"))); err != nil {
		t.Fatal(err)
	}
	if res := f.sync(); res.Revision != 3 || !slices.Equal(res.Added, []string{"elsewhere"}) {
		t.Fatalf("sync after a write elsewhere = %+v", res)
	}
	if got := served(f.r, "GET", "/elsewhere"); got == "" {
		t.Fatalf("the draft written elsewhere is not served")
	}
	// and one deleted elsewhere
	if err := other.Delete(ctx, "r001", nil); err != nil {
		t.Fatal(err)
	}
	if res := f.sync(); !slices.Equal(res.Removed, []string{"r001"}) {
		t.Fatalf("sync after a delete elsewhere = %+v", res)
	}
}
