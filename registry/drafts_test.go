package registry

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/caddy-endpoint/endpoint/execmode"
)

func TestPrecondition(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	a := f.create(rec("a", "/a"))

	b, created, err := f.r.Put(ctx, "a", []byte(rec("a", "/a", "code_snippet", "v2")), unchanged(a))
	if err != nil || created || b.Version != 2 {
		t.Fatalf("Put on the state read: %+v created=%v err=%v", b, created, err)
	}

	tests := []struct {
		name string
		do   func() error
		want Kind
	}{
		{"put stale", func() error {
			_, _, err := f.r.Put(ctx, "a", []byte(rec("a", "/a", "code_snippet", "v3")), unchanged(a))
			return err
		}, KindStale},
		{"patch stale", func() error {
			_, err := f.r.Patch(ctx, "a", []byte(`{"route_group": "x"}`), unchanged(a))
			return err
		}, KindStale},
		{"delete stale", func() error { return f.r.Delete(ctx, "a", unchanged(a)) }, KindStale},
		{"exists on missing", func() error {
			_, _, err := f.r.Put(ctx, "zz", []byte(rec("zz", "/zz")), exists)
			return err
		}, KindStale},
		{"state on missing", func() error {
			_, _, err := f.r.Put(ctx, "zz", []byte(rec("zz", "/zz")), unchanged(a))
			return err
		}, KindStale},
		{"exists on existing", func() error {
			_, _, err := f.r.Put(ctx, "a", []byte(rec("a", "/a", "code_snippet", "v4")), exists)
			return err
		}, 0},
		{"patch current", func() error {
			cur, _ := f.r.Get("a")
			_, err := f.r.Patch(ctx, "a", []byte(`{"route_group": "x"}`), unchanged(cur))
			return err
		}, 0},
	}
	for _, tt := range tests {
		err := tt.do()
		if kindOf(err) != tt.want || (tt.want == 0 && err != nil) {
			t.Errorf("%s: err = %v, want kind %d", tt.name, err, tt.want)
		}
	}
	if got, _ := f.r.Get("a"); got.Version != 4 {
		t.Errorf("version = %d, want 4", got.Version)
	}
	if _, err := f.r.Get("zz"); kindOf(err) != KindNotFound {
		t.Errorf("a refused create stored zz: %v", err)
	}
}

func TestPut(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	got, created, err := f.r.Put(ctx, "a", []byte(`{"route": "/a", "code_snippet": "c"}`), nil)
	if err != nil || !created || got.Name != "a" {
		t.Fatalf("Put create: %+v %v %v", got, created, err)
	}
	again, created, err := f.r.Put(ctx, "a", []byte(`{"route": "/a", "code_snippet": "c", "version": 9}`), nil)
	if err != nil || created || again.Version != 1 || !again.UpdatedAt.Equal(*got.UpdatedAt) {
		t.Errorf("Put of the same content changed the record: %+v %v %v", again, created, err)
	}
	if _, _, err := f.r.Put(ctx, "a", []byte(rec("b", "/a")), nil); kindOf(err) != KindInvalid {
		t.Errorf("name mismatch: %v", err)
	}
	if _, _, err := f.r.Put(ctx, "a b", []byte(rec("", "/a")), nil); kindOf(err) != KindInvalid {
		t.Errorf("bad path name: %v", err)
	}
	replaced, _, err := f.r.Put(ctx, "a", []byte(`{"route": "/a2", "code_snippet": "c"}`), nil)
	if err != nil || replaced.Version != 2 || replaced.Routes[0] != "/a2" {
		t.Errorf("replace: %+v %v", replaced, err)
	}
	if _, err := f.r.Create(ctx, []byte(rec("a", "/other"))); kindOf(err) != KindExists {
		t.Errorf("Create of an existing name: %v", err)
	}
}

func TestPatch(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.create(rec("a", "/a", "route_group", "g", "allowed_roles", `["staff"]`, "active", "false"))
	tests := []struct {
		name  string
		patch string
		want  Kind
		check func(Record) bool
	}{
		{"set field", `{"route": "/b"}`, 0, func(r Record) bool { return r.Routes[0] == "/b" && r.RouteGroup == "g" }},
		{"null removes", `{"allowed_roles": null, "active": null}`, 0, func(r Record) bool { return r.AllowedRoles == nil && r.IsActive() }},
		{"read-only ignored", `{"version": 100, "sync_state": "in_sync"}`, 0, func(r Record) bool { return r.Version == 3 }},
		{"rename", `{"name": "b"}`, KindInvalid, nil},
		{"invalid result", `{"request_method": "POST"}`, KindInvalid, nil},
		{"unknown field", `{"colour": "red"}`, KindInvalid, nil},
		{"wrong type", `{"route": 5}`, KindInvalid, nil},
		{"not an object", `["x"]`, KindInvalid, nil},
		{"malformed", `{"route": `, KindInvalid, nil},
	}
	for _, tt := range tests {
		got, err := f.r.Patch(ctx, "a", []byte(tt.patch), nil)
		if kindOf(err) != tt.want || (tt.want == 0 && err != nil) {
			t.Errorf("%s: err = %v, want kind %d", tt.name, err, tt.want)
			continue
		}
		if tt.check != nil && !tt.check(got) {
			t.Errorf("%s: got %+v", tt.name, got)
		}
	}
	if got, _ := f.r.Get("a"); got.Routes[0] != "/b" || got.Version != 3 {
		t.Errorf("refused patches changed the record: %+v", got)
	}
	if _, err := f.r.Patch(ctx, "nope", []byte(`{}`), nil); kindOf(err) != KindNotFound {
		t.Errorf("patch of a missing record: %v", err)
	}
}

func TestDelete(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.create(rec("a", "/a"))
	if err := f.r.Delete(ctx, "a", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := f.r.Get("a"); kindOf(err) != KindNotFound {
		t.Errorf("Get after delete: %v", err)
	}
	if err := f.r.Delete(ctx, "a", nil); kindOf(err) != KindNotFound {
		t.Errorf("second delete: %v", err)
	}
}

func TestListFilters(t *testing.T) {
	f := newFixture(t, func(o *Options) {
		o.Declared = []Record{{Name: "decl", Route: "/decl", CodeSnippet: "d", RouteGroup: "g1"}}
	})
	f.create(rec("b", "/b", "route_group", "g1"))
	f.create(rec("a", "/a"))
	f.sync()
	f.create(rec("c", "/c", "route_group", "g1", "active", "false"))
	f.create(rec("0", "/0"))

	names := func(recs []Record) []string {
		var out []string
		for _, r := range recs {
			out = append(out, r.Name)
		}
		return out
	}
	g1, empty := "g1", ""
	yes, no := true, false
	tests := []struct {
		name string
		f    Filter
		want []string
	}{
		{"all", Filter{}, []string{"0", "a", "b", "c", "decl"}},
		{"group", Filter{RouteGroup: &g1}, []string{"b", "c", "decl"}},
		{"empty group", Filter{RouteGroup: &empty}, []string{"0", "a"}},
		{"to_sync", Filter{SyncState: StateToSync}, []string{"0", "c"}},
		{"in_sync", Filter{SyncState: StateInSync}, []string{"a", "b", "decl"}},
		{"archived", Filter{Active: &no}, []string{"c"}},
		{"active in g1", Filter{Active: &yes, RouteGroup: &g1}, []string{"b", "decl"}},
	}
	for _, tt := range tests {
		if got := names(f.r.List(tt.f)); !slices.Equal(got, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
	if got := f.r.List(Filter{SyncState: "nope"}); got == nil || len(got) != 0 {
		t.Errorf("List with no match = %#v, want empty non-nil", got)
	}
}

func TestConcurrentWriters(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	a := f.create(rec("a", "/a"))
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, errs[i] = f.r.Put(ctx, "a", []byte(rec("a", "/a", "code_snippet", "writer "+itoa(i))), unchanged(a))
		}()
	}
	wg.Wait()
	wins, stale := 0, 0
	for _, err := range errs {
		switch {
		case err == nil:
			wins++
		case kindOf(err) == KindStale:
			stale++
		default:
			t.Errorf("unexpected error %v", err)
		}
	}
	if wins != 1 || stale != n-1 {
		t.Errorf("%d writers won, %d got stale; want 1 and %d", wins, stale, n-1)
	}
	if got, _ := f.r.Get("a"); got.Version != 2 {
		t.Errorf("version = %d, want 2", got.Version)
	}
}

// blockingMode is an exec mode whose compile of a snippet holding "slow"
// waits until release is closed.
type blockingMode struct {
	fakeMode
	entered chan struct{}
	release chan struct{}
}

func (m *blockingMode) Compile(ep *execmode.Endpoint) (execmode.Program, error) {
	if strings.Contains(ep.CodeSnippet, "slow") {
		m.entered <- struct{}{}
		<-m.release
	}
	return m.fakeMode.Compile(ep)
}

// TestWriteCompilesOutsideTheLocks: while one draft write compiles, the
// writes of other drafts, a patch, a sync and reads go on; the slow
// write lands when its compile ends.
func TestWriteCompilesOutsideTheLocks(t *testing.T) {
	mode := &blockingMode{entered: make(chan struct{}, 1), release: make(chan struct{})}
	f := newFixture(t, func(o *Options) {
		o.ExecModes = map[string]execmode.ExecMode{"code": mode}
	})
	ctx := context.Background()
	f.create(rec("other", "/other"))
	slow := make(chan error, 1)
	go func() {
		_, _, err := f.r.Put(ctx, "slow", []byte(`{"route": "/slow", "code_snippet": "slow"}`), nil)
		slow <- err
	}()
	<-mode.entered
	// each of these would wait for the compile above if it held a lock
	f.create(rec("fast", "/fast"))
	if _, err := f.r.Patch(ctx, "other", []byte(`{"code_snippet": "patched"}`), nil); err != nil {
		t.Fatalf("Patch while another write compiles: %v", err)
	}
	f.sync()
	if got := served(f.r, "GET", "/other"); got != "patched" {
		t.Fatalf("/other served %q after the sync, want patched", got)
	}
	if _, err := f.r.Get("fast"); err != nil {
		t.Fatalf("Get: %v", err)
	}
	close(mode.release)
	if err := <-slow; err != nil {
		t.Fatalf("the slow write: %v", err)
	}
	if _, err := f.r.Get("slow"); err != nil {
		t.Fatalf("the slow write did not land: %v", err)
	}
}
