package registry

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// TestPublicationDoesNotStallWrites: while a sync, a rollback and an
// apply with sync run their examples (here: held until released), a draft
// write, a read and the status answer; the publication then sees that the
// drafts moved, prepares again and publishes what is there at its commit.
func TestPublicationDoesNotStallWrites(t *testing.T) {
	ctx := context.Background()
	var (
		mu      sync.Mutex
		hold    chan struct{}
		entered chan struct{}
	)
	f := newFixture(t, func(o *Options) {
		o.RunExamples = func(_ context.Context, e *Entry, ex Example) (ExampleAnswer, error) {
			mu.Lock()
			h, in := hold, entered
			hold, entered = nil, nil
			mu.Unlock()
			if h != nil {
				close(in)
				<-h
			}
			return ExampleAnswer{Status: 200}, nil
		}
	})
	ex := `[{"name": "ok", "request": {"path": "/a"}, "expect": {"status": 200}}]`
	f.create(rec("a", "/a", "examples", ex))
	f.sync()
	n := 0
	for name, publish := range map[string]func() (int64, error){
		"sync": func() (int64, error) {
			res, err := f.r.Sync(ctx, SyncOptions{})
			return res.Revision, err
		},
		"apply": func() (int64, error) {
			res, err := f.r.Apply(ctx, ApplyOptions{Records: raws(rec("a", "/a", "examples", ex, "code_snippet", "applied")), Sync: true})
			return res.Revision, err
		},
		"rollback": func() (int64, error) {
			res, err := f.r.Rollback(ctx, 1, Origin{})
			return res.Revision, err
		},
	} {
		if _, err := f.r.Patch(ctx, "a", []byte(`{"code_snippet": "changed for `+name+`"}`), nil); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		hold, entered = make(chan struct{}), make(chan struct{})
		h, in := hold, entered
		mu.Unlock()
		type outcome struct {
			rev int64
			err error
		}
		done := make(chan outcome, 1)
		go func() {
			rev, err := publish()
			done <- outcome{rev, err}
		}()
		select {
		case <-in:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: the examples never ran", name)
		}
		n++
		other := "w" + string(rune('a'+n))
		wrote := make(chan error, 1)
		go func() {
			_, err := f.r.Create(ctx, []byte(rec(other, "/"+other)))
			wrote <- err
		}()
		select {
		case err := <-wrote:
			if err != nil {
				t.Fatalf("%s: write during the publication: %v", name, err)
			}
		case <-time.After(10 * time.Second):
			close(h)
			t.Fatalf("%s: a write waited for the publication's examples", name)
		}
		if _, err := f.r.Get(other); err != nil {
			t.Fatalf("%s: read during the publication: %v", name, err)
		}
		if st := f.r.Status(); !slices.Contains(st.Pending.Added, other) {
			t.Fatalf("%s: status during the publication = %+v", name, st)
		}
		close(h)
		out := <-done
		if out.err != nil {
			t.Fatalf("%s: %v", name, out.err)
		}
		if out.rev != f.r.Live().Revision() {
			t.Fatalf("%s published %d, live is %d", name, out.rev, f.r.Live().Revision())
		}
		// a sync (and an apply with sync) publish the draft written
		// meanwhile: they were prepared again on the drafts at commit
		if name != "rollback" && served(f.r, "GET", "/"+other) == "" {
			t.Fatalf("%s did not publish the draft written while it ran", name)
		}
	}
}

// TestAttachDuringPublications: views attached while syncs publish end
// up with the table of the revision that is live once both are done:
// Attach builds outside the lock and builds again when a publication
// came meanwhile, and a publication rebuilds the attached views.
func TestAttachDuringPublications(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.create(rec("a", "/a"))
	f.sync()
	opts := testOptions(f.dir, f.mode)
	for i := range 5 {
		done := make(chan error, 1)
		go func() {
			_, err := f.r.Patch(ctx, "a", []byte(fmt.Sprintf(`{"code_snippet": "v%d"}`, i)), nil)
			if err == nil {
				_, err = f.r.Sync(ctx, SyncOptions{})
			}
			done <- err
		}()
		v, err := f.r.Attach(opts)
		if err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if got, want := v.Live().Revision(), f.r.Live().Revision(); got != want {
			t.Fatalf("attached view serves revision %d, live is %d", got, want)
		}
		f.r.Detach(v)
	}
}
