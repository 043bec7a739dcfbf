// Package registry holds endpoint records: validation, drafts and
// published revisions, their persistence in Caddy storage, and the
// immutable live table that requests are routed through. It knows nothing
// of HTTP.
package registry

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/certmagic"
	"go.uber.org/zap"

	"github.com/caddy-endpoint/endpoint/execmode"
	"github.com/caddy-endpoint/endpoint/schema"
)

// Options configure a Registry.
type Options struct {
	// Storage persists drafts and revisions (Caddy's ctx.Storage()).
	Storage certmagic.Storage
	// Prefix is the storage key prefix, e.g. "endpoint".
	Prefix string
	// ExecModes are the registered exec modes by name ("code", ...).
	ExecModes map[string]execmode.ExecMode
	// CompileSchema compiles a request_content_schema; nil refuses records
	// with a schema.
	CompileSchema func(contentType, source string) (schema.Validator, error)
	// UserExists reports whether a user is configured (exec_as_user).
	UserExists func(name string) bool
	// Declared are the records of the config: code and schema inline,
	// read-only, live at once and part of every revision.
	Declared []Record
	// Logger receives the registry's own messages; nil discards them.
	Logger *zap.Logger
	// KeepRevisions is how many of the newest revisions are kept; older
	// ones are deleted when a new one is published. Default 100.
	KeepRevisions int
	// RunExamples runs an example of a compiled record as a dry run; the
	// examples of every record a publication adds or changes must pass.
	// Nil publishes without running them.
	RunExamples ExampleRunner
}

// Registry is the set of endpoint records of one storage: the drafts the
// admin API edits and the published revision requests are served from.
// It is safe for concurrent use; writes are serialized.
type Registry struct {
	// mu guards the state readers see; it is never held across storage
	// I/O or a wait for the storage lock.
	mu sync.RWMutex
	// wmu serializes this process's writes, publications and reloads,
	// which hold it across storage I/O; readers never take it. The
	// fields below change only with both held, so a holder of wmu reads
	// them without mu.
	wmu     sync.Mutex
	lock    *storageLock
	cfg     *config
	storage certmagic.Storage
	prefix  string
	log     *zap.Logger
	cache   *cache
	now     func() time.Time

	// drafts are the stored drafts by name, some possibly shadowed by a
	// declared record of the same name.
	drafts map[string]*Record
	// published is the record set of the live revision, declared records
	// left out.
	published map[string]*Record
	rev       int64
	// indexRev is the live revision the stored index named when last
	// read; rev is older when that one could not be read.
	indexRev int64
	// revisions are the stored revisions, oldest first.
	revisions []RevisionInfo
	// routes indexes the published routes, once a publication checked
	// them.
	routes *publishedRoutes
	// base is the whole revision the live one is or is a delta of; the
	// next publication stores a delta of it when it can.
	base baseState
	// damaged are the stored drafts that could not be read, one detail
	// each: a publication refuses while there are any.
	damaged []Detail
	// dirty is set when the memory state may differ from the storage's
	// (a rollback failed half-way); the next Refresh reloads.
	dirty bool
	// gen counts the changes of the state above; a Refresh that read the
	// storage drops what it read when gen moved meanwhile.
	gen uint64
	// draftIx indexes the routes of the active drafts and declared
	// records for the conflict check of a write; nil after a change of
	// the whole set, built again on the next write. Only holders of wmu
	// use it.
	draftIx *routeIndex
	// draftStamp is the drafts' stamp in storage when this instance's
	// memory of the drafts was last known to be the storage's; "" when
	// unknown. A publication that finds it unchanged reads no draft.
	draftStamp string
	// publishedAt is the state in which every draft was last found
	// published: a sync from that same state does nothing.
	publishedAt publishedMark
	// writesSincePrune counts the draft writes since the compiled cache
	// was last pruned.
	writesSincePrune int

	live atomic.Pointer[Table]
	// active is the view of the config admin calls work with (r.cfg is
	// its config); views are all the attached ones.
	active *View
	views  map[*View]struct{}
}

// New loads the drafts and the last published revision from storage,
// compiles them and makes them live.
func New(ctx context.Context, opts Options) (*Registry, error) {
	if opts.Storage == nil {
		return nil, fmt.Errorf("creating endpoint registry: no storage")
	}
	r := &Registry{
		routes:  new(publishedRoutes),
		storage: opts.Storage,
		prefix:  opts.Prefix,
		log:     opts.Logger,
		cache:   newCache(),
		now:     time.Now,
	}
	r.lock = &storageLock{storage: r.storage, name: r.key("sync"), ownerKey: r.key("lock.json"), log: r.logger}
	cfg, err := r.newConfig(opts)
	if err != nil {
		return nil, err
	}
	r.wmu.Lock()
	defer r.wmu.Unlock()
	r.cfg = cfg
	r.active = &View{cfg: cfg}
	r.views = map[*View]struct{}{r.active: {}}
	r.draftIx = nil
	if err := r.reload(ctx, true); err != nil {
		return nil, fmt.Errorf("loading endpoint registry: %w", err)
	}
	if len(r.damaged) > 0 {
		r.logger().Error("stored drafts cannot be read; syncs are refused until they are repaired or removed",
			zap.Error(errorf(KindDamaged, "unreadable drafts", r.damaged...)))
	}
	return r, nil
}

func (r *Registry) logger() *zap.Logger {
	if r.log == nil {
		return zap.NewNop()
	}
	return r.log
}

// newConfig validates and compiles the declared records of opts.
func (r *Registry) newConfig(opts Options) (*config, error) {
	cfg := &config{
		execModes:     opts.ExecModes,
		compileSchema: opts.CompileSchema,
		userExists:    opts.UserExists,
		declared:      make(map[string]*Record, len(opts.Declared)),
		keepRevisions: opts.KeepRevisions,
		runExamples:   opts.RunExamples,
	}
	if cfg.keepRevisions <= 0 {
		cfg.keepRevisions = DefaultKeepRevisions
	}
	var ds []Detail
	var recs []*Record
	for i := range opts.Declared {
		rec := cloneRecord(&opts.Declared[i])
		for _, d := range foldShorthands(rec) {
			d.Name = rec.Name
			ds = append(ds, d)
		}
		normalize(rec)
		rec.SyncState = ""
		if rec.Version == 0 {
			rec.Version = 1
		}
		if _, dup := cfg.declared[rec.Name]; dup {
			ds = append(ds, Detail{Name: rec.Name, Field: "name", Message: "is declared twice"})
			continue
		}
		cfg.declared[rec.Name] = rec
		e, eds := r.cache.check(cfg, rec, true)
		for _, d := range eds {
			d.Name = rec.Name
			ds = append(ds, d)
		}
		if e != nil {
			cfg.declaredEntries = append(cfg.declaredEntries, e)
		}
		if rec.IsActive() {
			recs = append(recs, rec)
		}
	}
	ds = append(ds, conflicts(recs, nil)...)
	if len(ds) > 0 {
		return nil, errorf(KindInvalid, "invalid declared endpoints", ds...)
	}
	return cfg, nil
}

// Configure applies a new config at once, as on a first start: a
// published endpoint the config cannot serve is left out and logged.
// Programs and schemas whose source did not change are reused. On error
// nothing changes.
func (r *Registry) Configure(ctx context.Context, opts Options) error {
	cfg, err := r.newConfig(opts)
	if err != nil {
		return err
	}
	r.wmu.Lock()
	defer r.wmu.Unlock()
	// the published set changes only under r.wmu: the table is built
	// before r.mu is taken
	v := &View{cfg: cfg}
	v.live.Store(r.lenientTable(cfg, r.rev, r.published))
	r.mu.Lock()
	defer r.mu.Unlock()
	r.views[v] = struct{}{}
	delete(r.views, r.active)
	r.setActive(v)
	r.prune()
	return nil
}

// Destruct releases the registry when its usage pool drops it.
func (r *Registry) Destruct() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cache.retain(nil)
	return nil
}

// Live returns the live table. It takes no lock.
func (r *Registry) Live() *Table { return r.live.Load() }

// Published returns the live entries sorted by name.
func (r *Registry) Published() []*Entry { return r.Live().Entries() }

// Refresh picks up a revision another instance published to the shared
// storage. It never reloads the revision this instance serves: it reads
// the index, and only when that names another revision does it read the
// records and build their table, without holding the registry lock,
// which it takes at the end only to swap the new state in. If this
// instance moved on meanwhile (a sync, a write, a config), the work is
// dropped and the next tick looks again. A rollback another instance left
// half done is finished here, under the storage lock. It reports whether
// it swapped.
func (r *Registry) Refresh(ctx context.Context) (bool, error) {
	r.mu.RLock()
	gen, dirty, seen := r.gen, r.dirty, r.indexRev
	r.mu.RUnlock()
	ix, _, err := r.loadIndex(ctx)
	if err != nil {
		return false, err
	}
	if ix.Restore != nil {
		return true, r.finishElsewhere(ctx)
	}
	if !dirty && ix.Revision == seen {
		return false, nil
	}
	cfg := r.config()
	st, err := r.readStored(ctx, ix, false)
	if err != nil {
		return false, err
	}
	table := r.lenientTable(cfg, st.rev, st.published)
	others := r.viewTables(st.rev, st.published)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.gen != gen || r.cfg != cfg {
		return false, nil
	}
	// a write or publication of this instance under way may have stored
	// what was read here: it installs its own state
	if !r.wmu.TryLock() {
		return false, nil
	}
	defer r.wmu.Unlock()
	r.install(st, table, others)
	r.logger().Info("published revision loaded from storage", zap.Int64("revision", st.rev))
	return true, nil
}

// finishElsewhere finishes, under the storage lock, a rollback whose
// drafts are not all rewritten, and catches up with the storage.
func (r *Registry) finishElsewhere(ctx context.Context) error {
	r.wmu.Lock()
	defer r.wmu.Unlock()
	h, err := r.lockStorage(ctx)
	if err != nil {
		return err
	}
	defer h.release(ctx)
	_, err = r.catchUp(ctx, h)
	return err
}

// config returns the current config.
func (r *Registry) config() *config {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.cfg
}

// storedState is the registry's state as read from storage.
type storedState struct {
	ix *indexFile
	// rev is the revision served: ix.Revision, or an older one when that
	// cannot be read (fallback).
	rev       int64
	published map[string]*Record
	base      baseState
	drafts    map[string]*Record
	damaged   []Detail
	// stamp is the drafts' stamp when the drafts are known to be the
	// storage's under it; "" when they were read one by one without the
	// storage lock (a write may have been under way).
	stamp string
}

// readStored reads the live revision of ix and the drafts. It does not
// touch the registry's state and needs no lock. With fallback, a live
// revision that cannot be read falls back as loadLive says. The drafts
// are taken from the revision when none was written since it was
// published, else read one by one.
func (r *Registry) readStored(ctx context.Context, ix *indexFile, fallback bool) (*storedState, error) {
	// the stamp first: drafts read after it are at least as new
	stamp, err := r.loadStamp(ctx)
	if err != nil {
		return nil, err
	}
	rf, err := r.loadLive(ctx, ix, fallback)
	if err != nil {
		return nil, err
	}
	st := &storedState{ix: ix, rev: rf.Revision, published: rf.records, stamp: stamp,
		base: baseState{rev: rf.Base, recs: rf.base}}
	if rf.Base == 0 {
		st.base.rev = rf.Revision
	}
	// the drafts as the revision recorded them, when none was written
	// since; otherwise all are read, so that a damaged one is found
	if drafts, ok := draftsOf(rf, stamp); ok {
		st.drafts = drafts
		return st, nil
	}
	st.stamp = ""
	if st.drafts, st.damaged, err = r.loadDrafts(ctx); err != nil {
		return nil, err
	}
	return st, nil
}

// install makes a state read from storage the registry's, with its table
// and those of the other views (see setLive). r.mu must be held.
func (r *Registry) install(st *storedState, table *Table, others map[*View]*Table) {
	// at start the cache holds nothing another state used
	stale := r.published != nil
	r.drafts, r.damaged, r.published, r.rev = st.drafts, st.damaged, st.published, st.rev
	r.indexRev, r.revisions = st.ix.Revision, st.ix.Revisions
	r.base = st.base
	r.routes.published(nil)
	r.dirty = false
	r.draftIx = nil
	r.draftStamp = st.stamp
	r.gen++
	r.setLive(table, others)
	if stale {
		r.prune()
	}
}

// reload reads the index, the live revision and the drafts and makes
// them the registry's. With fallback, damaged index and revision files
// fall back as readIndex and loadLive say. r.wmu must be held.
func (r *Registry) reload(ctx context.Context, fallback bool) error {
	ix, err := r.readIndex(ctx, fallback)
	if err != nil {
		return err
	}
	return r.reloadFrom(ctx, ix, fallback)
}

func (r *Registry) reloadFrom(ctx context.Context, ix *indexFile, fallback bool) error {
	st, err := r.readStored(ctx, ix, fallback)
	if err != nil {
		return err
	}
	table := r.lenientTable(r.cfg, st.rev, st.published)
	others := r.viewTables(st.rev, st.published)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.install(st, table, others)
	return nil
}

// lenientTable builds the live table of a stored revision plus the
// declared records. A stored record that no longer passes (its user or
// exec mode was removed from the config, its route now collides with a
// declared one) is left out and logged rather than failing the server.
func (r *Registry) lenientTable(cfg *config, rev int64, published map[string]*Record) *Table {
	entries := append([]*Entry(nil), cfg.declaredEntries...)
	var accepted routeIndex
	var unservable []string
	for _, e := range entries {
		if e.Record.IsActive() {
			accepted.add(e.routes...)
		}
	}
	var mine []*Record
	for _, name := range slices.Sorted(maps.Keys(published)) {
		rec := published[name]
		if _, shadowed := cfg.declared[name]; shadowed || !rec.IsActive() {
			continue
		}
		mine = append(mine, rec)
	}
	checked, details := r.cache.checkAll(cfg, mine, false, true)
	for i, rec := range mine {
		name, e, ds := rec.Name, checked[i], details[i]
		if len(ds) > 0 {
			r.logger().Error("not serving published endpoint", zap.String("endpoint", name),
				zap.Int64("revision", rev), zap.Error(invalidRecord(name, ds...)))
			unservable = append(unservable, name)
			continue
		}
		ro := e.routes
		if clash := accepted.conflicts(ro, nil); len(clash) > 0 {
			r.logger().Error("not serving published endpoint", zap.String("endpoint", name),
				zap.Int64("revision", rev), zap.String("route", clash[0].Message))
			unservable = append(unservable, name)
			continue
		}
		accepted.add(ro...)
		entries = append(entries, e)
	}
	var live []*Entry
	for _, e := range entries {
		if e.Record.IsActive() {
			live = append(live, e)
		}
	}
	t := newTable(rev, live)
	t.unservable = unservable
	return t
}

// pruneAfterWrite prunes once the writes since the last prune reach half
// the number of drafts: a write costs the same at any size, and the cache
// holds at most that many artefacts nobody uses. r.wmu must be held.
func (r *Registry) pruneAfterWrite() { r.pruneAfter(1) }

// pruneAfter is pruneAfterWrite for a change of n records at once.
func (r *Registry) pruneAfter(n int) {
	r.writesSincePrune += n
	if r.writesSincePrune > len(r.drafts)/2+64 {
		r.prune()
	}
}

// prune drops compiled artefacts that neither the live table nor a draft
// uses. r.wmu or r.mu must be held.
func (r *Registry) prune() {
	var keep []*Record
	for _, e := range r.Live().Entries() {
		keep = append(keep, e.Record)
	}
	for _, rec := range r.drafts {
		keep = append(keep, rec)
	}
	for v := range r.views {
		for _, rec := range v.cfg.declared {
			keep = append(keep, rec)
		}
		for _, e := range v.Live().Entries() {
			keep = append(keep, e.Record)
		}
	}
	r.cache.retain(keep)
	r.writesSincePrune = 0
}

// Revisions lists the stored revisions, newest first.
func (r *Registry) Revisions() []RevisionInfo {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]RevisionInfo, len(r.revisions))
	for i, ri := range r.revisions {
		out[len(out)-1-i] = ri
	}
	return out
}

func recordMap(recs []*Record) map[string]*Record {
	m := make(map[string]*Record, len(recs))
	for _, rec := range recs {
		if rec == nil || !ValidName(rec.Name) {
			continue
		}
		normalize(rec)
		rec.SyncState = ""
		m[rec.Name] = rec
	}
	return m
}

func cloneRecord(rec *Record) *Record {
	c := *rec
	if rec.AllowedRoles != nil {
		c.AllowedRoles = append([]string(nil), rec.AllowedRoles...)
	}
	if rec.CORSOrigins != nil {
		c.CORSOrigins = append([]string(nil), rec.CORSOrigins...)
	}
	if rec.Routes != nil {
		c.Routes = slices.Clone(rec.Routes)
	}
	if rec.RequestMethods != nil {
		c.RequestMethods = slices.Clone(rec.RequestMethods)
	}
	if rec.Active != nil {
		a := *rec.Active
		c.Active = &a
	}
	if rec.UpdatedAt != nil {
		t := *rec.UpdatedAt
		c.UpdatedAt = &t
	}
	if rec.Examples != nil {
		c.Examples = slices.Clone(rec.Examples)
	}
	return &c
}
