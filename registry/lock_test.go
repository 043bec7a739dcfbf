package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/certmagic"
)

// deadPID returns the pid of a process that has exited.
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}

// TestLockOfDeadProcessTakenOver: a lock whose owner record names a
// process of this host that is gone is taken over without waiting for a
// lease (the context here is shorter than any lease).
func TestLockOfDeadProcessTakenOver(t *testing.T) {
	f := newFixture(t)
	st := f.r.storage
	ctx := context.Background()
	if err := st.Lock(ctx, f.r.lock.name); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(lockOwner{ID: "gone", Host: thisHost, PID: deadPID(t), Process: "another", Beat: 3})
	if err := st.Store(ctx, f.r.lock.ownerKey, b); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	h, err := f.r.lock.acquire(wctx)
	if err != nil {
		t.Fatalf("the lock of a dead process was not taken over: %v", err)
	}
	if o, ok := f.r.lock.readOwner(ctx); !ok || o.ID != h.owner.ID {
		t.Fatalf("owner record after the takeover: %+v %v", o, ok)
	}
	h.release(ctx)
	if _, ok := f.r.lock.readOwner(ctx); ok {
		t.Fatal("the owner record outlived the release")
	}
}

// TestLockOfLiveHolderWaits: a live holder (refreshing) is never taken
// over; its release lets the waiter in.
func TestLockOfLiveHolderWaits(t *testing.T) {
	f := newFixture(t)
	other := f.reopen()
	ctx := context.Background()
	h, err := f.r.lock.acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 1500*time.Millisecond)
	defer cancel()
	if h2, err := other.lock.acquire(wctx); err == nil {
		h2.release(ctx)
		t.Fatal("a live holder's lock was taken")
	}
	got := make(chan error, 1)
	go func() {
		h2, err := other.lock.acquire(ctx)
		if err == nil {
			h2.release(ctx)
		}
		got <- err
	}()
	h.release(ctx)
	if err := <-got; err != nil {
		t.Fatal(err)
	}
}

// TestDamagedLockFileRemoved: a lock file of the file storage holding
// broken JSON, claimed by no owner, is removed and the lock taken.
func TestDamagedLockFileRemoved(t *testing.T) {
	f := newFixture(t)
	lock := filepath.Join(f.dir, "locks", certmagic.StorageKeys.Safe(f.r.lock.name)+".lock")
	if err := os.MkdirAll(filepath.Dir(lock), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(lock, []byte(`{"created": "20`), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
	defer cancel()
	if _, err := f.r.Sync(ctx, SyncOptions{}); err != nil {
		t.Fatalf("sync with a damaged lock file: %v", err)
	}
}

// TestNewerFormatRefused: files of a newer storage format stop the load
// with a clear error instead of being misread or taken for damage.
func TestNewerFormatRefused(t *testing.T) {
	f := newFixture(t)
	f.create(rec("a", "/a"))
	f.sync()
	ix := filepath.Join(f.dir, "endpoint", "current")
	b, err := os.ReadFile(ix)
	if err != nil {
		t.Fatal(err)
	}
	format := fmt.Sprintf(`"format":%d`, storageFormat)
	if !strings.Contains(string(b), format) {
		t.Fatalf("the index carries no format: %s", b)
	}
	if err := os.WriteFile(ix, []byte(strings.Replace(string(b), format, `"format":99`, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := New(context.Background(), testOptions(f.dir, f.mode)); err == nil || !strings.Contains(err.Error(), "storage format 99") {
		t.Fatalf("New on a newer format: %v", err)
	}
}

// TestRebuiltIndexCountsAsPublished: an index rebuilt from the revision
// files (it was lost) gives each revision the endpoint count it had when
// it was published, declared records included, archived ones not
// (Revisions lists the newest first).
func TestRebuiltIndexCountsAsPublished(t *testing.T) {
	decl := func(o *Options) { o.Declared = []Record{{Name: "decl", Route: "/decl", CodeSnippet: "d"}} }
	f := newFixture(t, decl)
	f.create(rec("a", "/a"))
	f.create(rec("b", "/b"))
	f.sync()
	if _, err := f.r.Patch(context.Background(), "b", []byte(`{"active": false}`), nil); err != nil {
		t.Fatal(err)
	}
	f.sync()
	want := f.r.Revisions()
	if len(want) != 2 || want[0].Endpoints != 2 || want[1].Endpoints != 3 {
		t.Fatalf("revisions at publication: %+v", want)
	}
	if err := os.Remove(filepath.Join(f.dir, "endpoint", "current")); err != nil {
		t.Fatal(err)
	}
	got := f.reopen(decl).Revisions()
	if len(got) != len(want) {
		t.Fatalf("rebuilt index: %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i].Revision != want[i].Revision || got[i].Endpoints != want[i].Endpoints {
			t.Fatalf("rebuilt revision %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}
