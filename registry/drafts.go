package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"

	jsonpatch "github.com/evanphx/json-patch/v5"

	"github.com/caddy-endpoint/endpoint/execmode"
)

// Filter selects records in List; zero fields select everything.
type Filter struct {
	// RouteGroup keeps the records of this group.
	RouteGroup *string
	// SyncState keeps the records in this state (in_sync or to_sync).
	SyncState string
	// Active keeps active (true) or archived (false) records.
	Active *bool
}

// readOnlyFields are the JSON fields the registry sets itself, and
// "circuit", the serving state the admin API adds to a record it shows; a
// written body may hold them (a record read back and sent again) but they
// are ignored.
var readOnlyFields = map[string]bool{"sync_state": true, "version": true, "updated_at": true, "circuit": true}

// recordFields maps each JSON field of Record to its struct field index.
var recordFields = func() map[string]int {
	m := make(map[string]int)
	t := reflect.TypeFor[Record]()
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			m[name] = i
		}
	}
	return m
}()

// decodeRecord decodes a written record strictly: a JSON object, known
// field names only (exact case), the right type for each. Every problem
// is reported, under name (the record's address) or else the name the
// record gives.
func decodeRecord(raw []byte, name string) (*Record, error) {
	trimmed := bytes.TrimLeft(raw, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, errorf(KindInvalid, "the record must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var fields map[string]json.RawMessage
	if err := dec.Decode(&fields); err != nil {
		return nil, errorf(KindInvalid, "decoding record: "+jsonError(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errorf(KindInvalid, "decoding record: unexpected data after the JSON object")
	}
	rec := new(Record)
	v := reflect.ValueOf(rec).Elem()
	var ds []Detail
	for _, name := range slices.Sorted(maps.Keys(fields)) {
		if readOnlyFields[name] {
			continue
		}
		i, ok := recordFields[name]
		if !ok {
			ds = append(ds, Detail{Field: name, Message: "unknown field"})
			continue
		}
		if name == "examples" {
			exs, eds := decodeExamples(fields[name])
			rec.Examples, ds = exs, append(ds, eds...)
			continue
		}
		f := v.Field(i)
		if err := json.Unmarshal(fields[name], f.Addr().Interface()); err != nil {
			ds = append(ds, Detail{Field: name, Message: "must be " + typeName(f.Type())})
			f.SetZero()
		}
	}
	ds = append(ds, foldShorthands(rec)...)
	if len(ds) > 0 {
		if name == "" {
			_ = json.Unmarshal(fields["name"], &name)
		}
		return nil, invalidRecord(name, ds...)
	}
	return rec, nil
}

// withoutListsOfShorthands drops routes (request_methods) from a stored
// record's JSON when a merge patch sets the shorthand route
// (request_method): the patch replaces the list.
func withoutListsOfShorthands(doc, patch []byte) ([]byte, error) {
	var p map[string]json.RawMessage
	if err := json.Unmarshal(patch, &p); err != nil {
		return nil, errorf(KindInvalid, "decoding merge patch: "+jsonError(err))
	}
	var d map[string]json.RawMessage
	if err := json.Unmarshal(doc, &d); err != nil {
		return nil, fmt.Errorf("decoding the stored record: %v", err)
	}
	changed := false
	for short, list := range map[string]string{"route": "routes", "request_method": "request_methods"} {
		if v, ok := p[short]; ok && string(v) != "null" {
			if _, ok := p[list]; !ok {
				delete(d, list)
				changed = true
			}
		}
	}
	if !changed {
		return doc, nil
	}
	return json.Marshal(d)
}

func typeName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Pointer:
		return typeName(t.Elem())
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Slice:
		return "an array of strings"
	}
	return "a " + t.String()
}

// jsonError words a JSON syntax error without echoing the input.
func jsonError(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("invalid JSON at byte %d: %s", se.Offset, strings.TrimPrefix(se.Error(), "json: "))
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return "truncated JSON"
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

// Precondition is what a draft write requires of the current draft (nil
// when there is none). It is checked under the storage lock, so that of
// two writers that read the same version one wins; a write it refuses
// fails with KindStale. A nil Precondition requires nothing.
type Precondition func(cur *Record) bool

// meets applies pre to the current draft name.
func meets(pre Precondition, name string, cur *Record) error {
	if pre == nil || pre(cur) {
		return nil
	}
	if cur == nil {
		return errorf(KindStale, fmt.Sprintf("endpoint %q does not exist, and the write expects it to", name))
	}
	return errorf(KindStale, fmt.Sprintf("endpoint %q is at version %d, not the state the write expects", name, cur.Version))
}

func notFound(name string) error {
	return errorf(KindNotFound, fmt.Sprintf("no endpoint named %q", name))
}

func readOnly(name string) error {
	return errorf(KindReadOnly, fmt.Sprintf("endpoint %q is declared in the config and read-only", name))
}

// view returns a copy of rec with its sync state. r.mu must be held.
func (r *Registry) view(rec *Record, declared bool) Record {
	c := cloneRecord(rec)
	c.SyncState = StateInSync
	if !declared && !r.inSync(rec) {
		c.SyncState = StateToSync
	}
	return *c
}

func (r *Registry) inSync(draft *Record) bool {
	pub, ok := r.published[draft.Name]
	return ok && samePublished(pub, draft)
}

// samePublished reports whether a draft is the published record.
func samePublished(pub, draft *Record) bool {
	if pub.Version != draft.Version {
		return false
	}
	if pub.UpdatedAt == nil || draft.UpdatedAt == nil {
		return pub.UpdatedAt == draft.UpdatedAt
	}
	return pub.UpdatedAt.Equal(*draft.UpdatedAt)
}

// List returns the records, declared ones included, sorted by name.
func (r *Registry) List(f Filter) []Record {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := []Record{}
	add := func(rec *Record, declared bool) {
		v := r.view(rec, declared)
		switch {
		case f.RouteGroup != nil && v.RouteGroup != *f.RouteGroup:
		case f.SyncState != "" && v.SyncState != f.SyncState:
		case f.Active != nil && v.IsActive() != *f.Active:
		default:
			out = append(out, v)
		}
	}
	names := slices.Sorted(maps.Keys(r.drafts))
	for n := range r.cfg.declared {
		if _, ok := r.drafts[n]; !ok {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		if rec, ok := r.cfg.declared[n]; ok {
			add(rec, true)
		} else {
			add(r.drafts[n], false)
		}
	}
	return out
}

// Get returns one record with its sync state.
func (r *Registry) Get(name string) (Record, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if rec, ok := r.cfg.declared[name]; ok {
		return r.view(rec, true), nil
	}
	if rec, ok := r.drafts[name]; ok {
		return r.view(rec, false), nil
	}
	return Record{}, notFound(name)
}

// beginWrite starts a draft write: it takes the storage lock and reads
// the draft name again from storage, so that instances sharing the
// storage refuse a duplicate create and a write whose precondition the
// stored draft no longer meets. A draft that cannot be read is an error, never taken as absent. end
// releases what beginWrite took.
func (r *Registry) beginWrite(ctx context.Context, name string) (cur *Record, h *held, end func(), err error) {
	r.wmu.Lock()
	if _, ok := r.cfg.declared[name]; ok {
		r.wmu.Unlock()
		return nil, nil, nil, readOnly(name)
	}
	h, err = r.lockStorage(ctx)
	if err != nil {
		r.wmu.Unlock()
		return nil, nil, nil, err
	}
	end = func() {
		h.release(ctx)
		r.wmu.Unlock()
	}
	cur, err = r.loadDraft(ctx, name)
	if err != nil {
		end()
		return nil, nil, nil, err
	}
	r.setDraft(name, cur)
	return cur, h, end, nil
}

// setDraft makes the memory state of draft name rec (nil: none), keeping
// the route index in step. r.wmu must be held.
func (r *Registry) setDraft(name string, rec *Record) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.draftIx != nil {
		if _, shadowed := r.cfg.declared[name]; !shadowed {
			if cur := r.drafts[name]; cur != nil && cur.IsActive() {
				r.draftIx.remove(routedOf(cur)...)
			}
			if rec != nil && rec.IsActive() {
				r.draftIx.add(routedOf(rec)...)
			}
		}
	}
	if rec == nil {
		delete(r.drafts, name)
	} else {
		r.drafts[name] = rec
	}
	r.gen++
}

// Create stores a new draft from a JSON record.
func (r *Registry) Create(ctx context.Context, raw []byte) (Record, error) {
	rec, err := decodeRecord(raw, "")
	if err != nil {
		return Record{}, err
	}
	if !ValidName(rec.Name) {
		// the name is checked with the record; no lock for a bad one
		return r.write(ctx, nil, rec, nil)
	}
	if ds := r.precheck(rec); len(ds) > 0 {
		return Record{}, invalidRecord(rec.Name, ds...)
	}
	cur, h, end, err := r.beginWrite(ctx, rec.Name)
	if err != nil {
		return Record{}, err
	}
	defer end()
	if cur != nil {
		return Record{}, errorf(KindExists, fmt.Sprintf("an endpoint named %q exists", rec.Name))
	}
	return r.write(ctx, h, rec, nil)
}

// Put creates (created is true) or replaces the draft name, when the
// current draft meets pre. The name in the body must be name or empty.
func (r *Registry) Put(ctx context.Context, name string, raw []byte, pre Precondition) (rec Record, created bool, err error) {
	if !ValidName(name) {
		return Record{}, false, invalidRecord(name,
			Detail{Field: "name", Message: "must match " + execmode.NamePattern})
	}
	nrec, err := decodeRecord(raw, name)
	if err != nil {
		return Record{}, false, err
	}
	if nrec.Name == "" {
		nrec.Name = name
	} else if nrec.Name != name {
		return Record{}, false, invalidRecord(name,
			Detail{Field: "name", Message: "must match the name in the path"})
	}
	if ds := r.precheck(nrec); len(ds) > 0 {
		return Record{}, false, invalidRecord(name, ds...)
	}
	cur, h, end, err := r.beginWrite(ctx, name)
	if err != nil {
		return Record{}, false, err
	}
	defer end()
	if err := meets(pre, name, cur); err != nil {
		return Record{}, false, err
	}
	out, err := r.write(ctx, h, nrec, cur)
	return out, cur == nil && err == nil, err
}

// Patch applies an RFC 7396 merge patch to the draft name, when it meets
// pre.
func (r *Registry) Patch(ctx context.Context, name string, patch []byte, pre Precondition) (Record, error) {
	trimmed := bytes.TrimLeft(patch, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return Record{}, errorf(KindInvalid, "the merge patch must be a JSON object")
	}
	if !ValidName(name) {
		return Record{}, notFound(name)
	}
	// compile the patched draft as memory holds it before taking the
	// locks: the write below then finds it compiled, unless the stored
	// draft differs (the answer is the write's either way)
	r.mu.RLock()
	mem := r.drafts[name]
	r.mu.RUnlock()
	if mem != nil {
		if nrec, err := patched(mem, name, patch); err == nil {
			r.precheck(nrec)
		}
	}
	cur, h, end, err := r.beginWrite(ctx, name)
	if err != nil {
		return Record{}, err
	}
	defer end()
	if cur == nil {
		return Record{}, notFound(name)
	}
	if err := meets(pre, name, cur); err != nil {
		return Record{}, err
	}
	nrec, err := patched(cur, name, patch)
	if err != nil {
		return Record{}, err
	}
	return r.write(ctx, h, nrec, cur)
}

// patched is the record the merge patch makes of cur.
func patched(cur *Record, name string, patch []byte) (*Record, error) {
	base := cloneRecord(cur)
	base.SyncState, base.Version, base.UpdatedAt = "", 0, nil
	doc, err := json.Marshal(base)
	if err != nil {
		return nil, fmt.Errorf("encoding record %q: %v", name, err)
	}
	doc, err = withoutListsOfShorthands(doc, patch)
	if err != nil {
		return nil, err
	}
	merged, err := jsonpatch.MergePatch(doc, patch)
	if err != nil {
		return nil, errorf(KindInvalid, "applying merge patch: "+jsonError(err))
	}
	nrec, err := decodeRecord(merged, name)
	if err != nil {
		return nil, err
	}
	if nrec.Name != name {
		return nil, invalidRecord(name,
			Detail{Field: "name", Message: "must match the name in the path"})
	}
	return nrec, nil
}

// precheck validates and compiles rec, as write does, before any lock is
// taken: a slow compile then holds up no other write or sync, and write
// finds what it compiled in the cache (programs and schemas are cached by
// their source).
func (r *Registry) precheck(rec *Record) []Detail {
	normalize(rec)
	rec.SyncState, rec.Version, rec.UpdatedAt = "", 0, nil
	r.mu.RLock()
	cfg := r.cfg
	r.mu.RUnlock()
	_, ds := r.cache.check(cfg, rec, false)
	return ds
}

// Delete removes the draft name, when it meets pre; a published record
// stays live until the next sync.
func (r *Registry) Delete(ctx context.Context, name string, pre Precondition) error {
	if !ValidName(name) {
		return notFound(name)
	}
	cur, h, end, err := r.beginWrite(ctx, name)
	if err != nil {
		return err
	}
	defer end()
	if cur == nil {
		return notFound(name)
	}
	if err := meets(pre, name, cur); err != nil {
		return err
	}
	if err := h.check(ctx); err != nil {
		return err
	}
	touched, err := r.touchDrafts(ctx, []string{name})
	if err != nil {
		return err
	}
	err = r.storage.Delete(ctx, r.draftKey(name))
	touched(err)
	if err != nil {
		return fmt.Errorf("deleting draft %q: %w", name, err)
	}
	r.setDraft(name, nil)
	r.pruneAfterWrite()
	return nil
}

// write validates rec (replacing cur, nil for a new record), compiles it
// and stores it as a draft. A record that says what cur says is left as
// it is. r.wmu and, with h, the storage lock must be held; without h (a
// record refused for its name) nothing is stored.
func (r *Registry) write(ctx context.Context, h *held, rec *Record, cur *Record) (Record, error) {
	if h != nil {
		defer r.pruneAfterWrite()
	}
	// found in the cache when the caller prechecked rec
	ds := r.precheck(rec)
	if rec.IsActive() && h != nil {
		ds = append(ds, r.conflictsWithOthers(rec)...)
	}
	if len(ds) > 0 {
		return Record{}, invalidRecord(rec.Name, ds...)
	}
	if h == nil {
		return Record{}, errorf(KindInvalid, "invalid record", Detail{Field: "name", Message: "is not valid"})
	}
	if cur != nil && sameContent(cur, rec) {
		r.mu.RLock()
		defer r.mu.RUnlock()
		return r.view(cur, false), nil
	}
	switch {
	case cur != nil:
		rec.Version = cur.Version + 1
	case r.published[rec.Name] != nil:
		rec.Version = r.published[rec.Name].Version + 1
	default:
		rec.Version = 1
	}
	now := r.now().UTC().Truncate(time.Millisecond)
	rec.UpdatedAt = &now
	if err := h.check(ctx); err != nil {
		return Record{}, err
	}
	touched, err := r.touchDrafts(ctx, []string{rec.Name})
	if err != nil {
		return Record{}, err
	}
	err = r.storeJSON(ctx, r.draftKey(rec.Name), rec)
	touched(err)
	if err != nil {
		return Record{}, err
	}
	r.setDraft(rec.Name, rec)
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.view(rec, false), nil
}

// conflictsWithOthers checks rec's routes against those of the other
// active drafts and the declared records it can overlap. r.wmu must be
// held.
func (r *Registry) conflictsWithOthers(rec *Record) []Detail {
	return r.draftRoutes().conflicts(routedOf(rec), func(o *Record) bool { return o.Name == rec.Name })
}

// draftRoutes returns the index of the routes of the active drafts and
// declared records, building it after a change of the whole set. r.wmu
// must be held.
func (r *Registry) draftRoutes() *routeIndex {
	if r.draftIx != nil {
		return r.draftIx
	}
	ix := new(routeIndex)
	for _, rec := range r.cfg.declared {
		if rec.IsActive() {
			ix.add(routedOf(rec)...)
		}
	}
	for n, rec := range r.drafts {
		if _, shadowed := r.cfg.declared[n]; !shadowed && rec.IsActive() {
			ix.add(routedOf(rec)...)
		}
	}
	r.draftIx = ix
	return ix
}

// CompileDraft compiles the current draft of name (the declared record
// for declared names) without publishing it, for dry runs.
func (r *Registry) CompileDraft(name string) (*Entry, error) {
	r.mu.RLock()
	rec, declared := r.cfg.declared[name]
	if !declared {
		rec = r.drafts[name]
	}
	cfg := r.cfg
	r.mu.RUnlock()
	if rec == nil {
		return nil, notFound(name)
	}
	e, ds := r.cache.compile(cfg, rec, declared)
	if len(ds) > 0 {
		return nil, invalidRecord(name, ds...)
	}
	return e, nil
}
