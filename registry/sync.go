package registry

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"time"
	"unicode/utf8"

	"go.uber.org/zap"
)

// Pending is what the next sync would publish.
type Pending struct {
	Added   []string `json:"added"`
	Changed []string `json:"changed"`
	Removed []string `json:"removed"`
}

func (p Pending) empty() bool {
	return len(p.Added) == 0 && len(p.Changed) == 0 && len(p.Removed) == 0
}

// SyncStatus is the answer of GET /endpoint/sync.
type SyncStatus struct {
	Revision int64   `json:"revision"`
	InSync   bool    `json:"in_sync"`
	Pending  Pending `json:"pending"`
}

// SyncResult is what a sync or rollback published.
type SyncResult struct {
	Revision int64    `json:"revision"`
	Added    []string `json:"added"`
	Changed  []string `json:"changed"`
	Removed  []string `json:"removed"`
}

// Kinds of revision: what published it.
const (
	RevisionSync     = "sync"
	RevisionRollback = "rollback"
	RevisionApply    = "apply"
)

// DefaultKeepRevisions is how many revisions are kept when Options says
// nothing.
const DefaultKeepRevisions = 100

// RevisionInfo describes a stored revision.
type RevisionInfo struct {
	Revision  int64     `json:"revision"`
	CreatedAt time.Time `json:"created_at"`
	// Kind is what published the revision: sync, rollback or apply.
	Kind string `json:"kind"`
	// Message is the publisher's note, "" when none was given.
	Message string `json:"message"`
	// Source is who published: the admin client's address, or its
	// certificate subject, or the user of the management UI.
	Source string `json:"source"`
	// Endpoints is the number of endpoints the revision serves (active
	// records, declared ones included).
	Endpoints int `json:"endpoints"`
}

// Origin says who asks for a publication and why; it is kept with the
// revision.
type Origin struct {
	// Message is the caller's note.
	Message string
	// Source identifies the caller (address, certificate subject, user).
	Source string
}

// SyncOptions select what a sync publishes.
type SyncOptions struct {
	// Only names the records to publish (drafts to add or change, deleted
	// drafts to remove); the others stay to_sync. Empty publishes every
	// pending change.
	Only []string
	Origin
}

// maxMessageLen bounds a publication message.
const maxMessageLen = 4096

// pendingOf diffs drafts against published; declared names never pend.
func pendingOf(drafts, published map[string]*Record, declared map[string]*Record) Pending {
	p := Pending{Added: []string{}, Changed: []string{}, Removed: []string{}}
	for n, draft := range drafts {
		if _, ok := declared[n]; ok {
			continue
		}
		pub, ok := published[n]
		switch {
		case !ok:
			p.Added = append(p.Added, n)
		case !samePublished(pub, draft):
			p.Changed = append(p.Changed, n)
		}
	}
	for n := range published {
		if _, ok := declared[n]; ok {
			continue
		}
		if _, ok := drafts[n]; !ok {
			p.Removed = append(p.Removed, n)
		}
	}
	slices.Sort(p.Added)
	slices.Sort(p.Changed)
	slices.Sort(p.Removed)
	return p
}

// markPublished notes that every draft is published and the set passed
// every check under this config: until the state or the config changes,
// a sync has nothing to do and nothing to check. r.mu must be held.
func (r *Registry) markPublished() {
	r.publishedAt = publishedMark{gen: r.gen, cfg: r.cfg}
}

// allPublished reports whether nothing changed since markPublished. r.mu
// must be held (read or write).
func (r *Registry) allPublished() bool {
	return r.publishedAt.cfg != nil && r.publishedAt == publishedMark{gen: r.gen, cfg: r.cfg}
}

// publishedMark is the state in which every draft was found published.
type publishedMark struct {
	gen uint64
	cfg *config
}

// Status reports the live revision and what a sync would publish.
func (r *Registry) Status() SyncStatus {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.allPublished() {
		return SyncStatus{Revision: r.rev, InSync: true, Pending: Pending{Added: []string{}, Changed: []string{}, Removed: []string{}}}
	}
	p := pendingOf(r.drafts, r.published, r.cfg.declared)
	return SyncStatus{Revision: r.rev, InSync: p.empty(), Pending: p}
}

// strictTable validates and compiles a record set for publishing, with the
// declared records. Every problem is returned, each with its record's name.
// r.mu must be held.
func (r *Registry) strictTable(rev int64, set map[string]*Record) (*Table, []Detail) {
	cfg := r.cfg
	var ds []Detail
	var live []*Entry
	var pairs [][]routed
	for _, e := range cfg.declaredEntries {
		if e.Record.IsActive() {
			live = append(live, e)
			pairs = append(pairs, e.routes)
		}
	}
	var mine []*Record
	for _, n := range slices.Sorted(maps.Keys(set)) {
		rec := set[n]
		if _, shadowed := cfg.declared[n]; shadowed || !rec.IsActive() {
			continue
		}
		mine = append(mine, rec)
	}
	entries, details := r.cache.checkAll(cfg, mine, false)
	for i, rec := range mine {
		for _, d := range details[i] {
			d.Name = rec.Name
			ds = append(ds, d)
		}
		if entries[i] != nil {
			live = append(live, entries[i])
			pairs = append(pairs, entries[i].routes)
		} else {
			pairs = append(pairs, routedOf(rec))
		}
	}
	ds = append(ds, conflictsOf(pairs, cfg.declared)...)
	if len(ds) > 0 {
		return nil, ds
	}
	return newTable(rev, live), nil
}

// unshadowed returns the drafts no declared record hides. r.mu must be held.
func (r *Registry) unshadowed(drafts map[string]*Record) map[string]*Record {
	m := make(map[string]*Record, len(drafts))
	for n, rec := range drafts {
		if _, ok := r.cfg.declared[n]; !ok {
			m[n] = rec
		}
	}
	return m
}

// Sync publishes the drafts (or those named by opts.Only) as a new
// revision: every active record of the resulting set is validated and
// compiled, routes are checked against each other and the declared
// records, and the live table is swapped in one step. On any problem
// nothing changes and the error lists them all. With nothing pending the
// revision stays as it is.
func (r *Registry) Sync(ctx context.Context, opts SyncOptions) (SyncResult, error) {
	if err := checkNote(opts.Origin); err != nil {
		return SyncResult{}, err
	}
	for i, n := range opts.Only {
		if !ValidName(n) {
			return SyncResult{}, errorf(KindInvalid, "invalid sync request",
				Detail{Field: fmt.Sprintf("only[%d]", i), Message: fmt.Sprintf("%q is not a valid endpoint name", n)})
		}
	}
	return r.publishing(ctx, func(ix *indexFile) (SyncResult, error) {
		return r.sync(ctx, ix, opts)
	})
}

// checkNote refuses a message no log or UI should have to show.
func checkNote(o Origin) error {
	switch {
	case len(o.Message) > maxMessageLen:
		return errorf(KindInvalid, "invalid request", Detail{Field: "message", Message: fmt.Sprintf("must be at most %d bytes", maxMessageLen)})
	case !utf8.ValidString(o.Message):
		return errorf(KindInvalid, "invalid request", Detail{Field: "message", Message: "must be valid UTF-8"})
	}
	return nil
}

// selected returns the record set a sync of only would publish: the
// published set with the named drafts (or their deletion) applied. r.mu
// must be held.
func (r *Registry) selected(only []string) (map[string]*Record, []Detail) {
	if len(only) == 0 {
		return r.unshadowed(r.drafts), nil
	}
	set := r.unshadowed(r.published)
	var ds []Detail
	for i, n := range only {
		if _, declared := r.cfg.declared[n]; declared {
			continue // declared records are always in sync
		}
		draft, isDraft := r.drafts[n]
		_, isPub := r.published[n]
		switch {
		case isDraft:
			set[n] = draft
		case isPub:
			delete(set, n)
		default:
			ds = append(ds, Detail{Field: fmt.Sprintf("only[%d]", i), Message: fmt.Sprintf("no endpoint named %q", n)})
		}
	}
	return set, ds
}

// publishing runs publish with the registry and the storage locked, after
// catching up with what other instances stored.
func (r *Registry) publishing(ctx context.Context, publish func(*indexFile) (SyncResult, error)) (SyncResult, error) {
	return publishingAs(r, ctx, publish)
}

// publishingAs is publishing for an operation with its own result type.
func publishingAs[T any](r *Registry, ctx context.Context, publish func(*indexFile) (T, error)) (T, error) {
	var zero T
	r.mu.Lock()
	defer r.mu.Unlock()
	unlock, err := r.lockStorage(ctx)
	if err != nil {
		return zero, err
	}
	defer unlock()
	ix, err := r.catchUp(ctx)
	if err != nil {
		return zero, err
	}
	return publish(ix)
}

func (r *Registry) sync(ctx context.Context, ix *indexFile, opts SyncOptions) (SyncResult, error) {
	if len(opts.Only) == 0 && r.allPublished() {
		return SyncResult{Revision: r.rev, Added: []string{}, Changed: []string{}, Removed: []string{}}, nil
	}
	set, ds := r.selected(opts.Only)
	if len(ds) > 0 {
		return SyncResult{}, errorf(KindInvalid, "sync refused: unknown endpoints", ds...)
	}
	// The whole set is checked even with nothing pending: a config reload
	// may have made a published record invalid (and left it unserved).
	rev := ix.maxRevision() + 1
	table, ds := r.strictTable(rev, set)
	if len(ds) > 0 {
		return SyncResult{}, errorf(KindInvalid, "sync refused: the drafts are invalid", ds...)
	}
	p := pendingOf(set, r.published, r.cfg.declared)
	if p.empty() {
		if len(opts.Only) == 0 {
			r.markPublished()
		}
		return SyncResult{Revision: r.rev, Added: p.Added, Changed: p.Changed, Removed: p.Removed}, nil
	}
	if ds := r.gateExamples(ctx, table, append(slices.Clone(p.Added), p.Changed...)); len(ds) > 0 {
		return SyncResult{}, errorf(KindInvalid, "sync refused: an example failed", ds...)
	}
	if err := r.publish(ctx, ix, rev, set, table, false, RevisionSync, opts.Origin); err != nil {
		return SyncResult{}, err
	}
	if len(opts.Only) == 0 {
		r.markPublished()
	}
	return SyncResult{Revision: rev, Added: p.Added, Changed: p.Changed, Removed: p.Removed}, nil
}

// catchUp makes the memory state the storage's before publishing: the
// storage is the truth, another instance may have written drafts or
// published since this one last looked. r.mu and the storage lock must be
// held.
func (r *Registry) catchUp(ctx context.Context) (*indexFile, error) {
	ix, err := r.loadIndex(ctx)
	if err != nil {
		return nil, err
	}
	// the drafts as stored now: when the stamp is the one this instance
	// last saw or wrote, its memory of them is the storage's
	stamp, err := r.loadStamp(ctx)
	if err != nil {
		return nil, err
	}
	if ix.Revision != r.rev || ix.RestoreDrafts || r.dirty {
		if err := r.reload(ctx, true); err != nil {
			return nil, err
		}
		if !ix.RestoreDrafts {
			r.draftStamp = stamp
		}
		return r.loadIndex(ctx)
	}
	if stamp != "" && stamp == r.draftStamp {
		return ix, nil
	}
	drafts, err := r.loadDrafts(ctx)
	if err != nil {
		return nil, err
	}
	r.drafts = drafts
	r.draftIx = nil
	r.draftStamp = stamp
	r.gen++
	return ix, nil
}

// publish stores set as revision rev, then the index that makes it
// current, then swaps the live table and deletes the revisions past
// keep_revisions. With restoring, the index is written with the restore
// flag and the caller rewrites the drafts. r.mu and the storage lock must
// be held.
func (r *Registry) publish(ctx context.Context, ix *indexFile, rev int64, set map[string]*Record, table *Table, restoring bool, kind string, o Origin) error {
	rf := revisionFile{Revision: rev, CreatedAt: r.now().UTC().Truncate(time.Millisecond),
		Kind: kind, Message: o.Message, Source: o.Source}
	for _, n := range slices.Sorted(maps.Keys(set)) {
		rf.Records = append(rf.Records, set[n])
	}
	rf.Declared = slices.Sorted(maps.Keys(r.cfg.declared))
	if err := r.storeJSON(ctx, r.revisionKey(rev), rf); err != nil {
		return err
	}
	info := RevisionInfo{Revision: rev, CreatedAt: rf.CreatedAt, Kind: kind, Message: o.Message, Source: o.Source,
		Endpoints: len(table.Entries())}
	kept := append(append([]RevisionInfo(nil), ix.Revisions...), info)
	var dropped []RevisionInfo
	if keep := r.cfg.keepRevisions; len(kept) > keep {
		dropped, kept = kept[:len(kept)-keep], kept[len(kept)-keep:]
	}
	next := indexFile{
		Revision:      rev,
		Revisions:     kept,
		RestoreDrafts: restoring,
	}
	if err := r.storeJSON(ctx, r.key("current"), next); err != nil {
		return err
	}
	changed := 0
	for n, rec := range r.published {
		if set[n] != rec {
			changed++
		}
	}
	r.published, r.rev, r.revisions = set, rev, next.Revisions
	r.gen++
	r.setLive(table)
	r.pruneAfter(changed)
	// The index no longer lists them: a failed delete leaves a file that
	// nothing reads, so it is logged, not returned.
	for _, ri := range dropped {
		if err := r.storage.Delete(ctx, r.revisionKey(ri.Revision)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			r.logger().Warn("deleting a pruned revision", zap.Int64("revision", ri.Revision), zap.Error(err))
		}
	}
	return nil
}

// Rollback publishes the record set of revision rev again, as a new
// revision, and makes the drafts that set. Records declared in the config
// now are taken from the config, not from rev.
func (r *Registry) Rollback(ctx context.Context, rev int64, o Origin) (SyncResult, error) {
	if err := checkNote(o); err != nil {
		return SyncResult{}, err
	}
	return r.publishing(ctx, func(ix *indexFile) (SyncResult, error) {
		return r.rollback(ctx, ix, rev, o)
	})
}

func (r *Registry) rollback(ctx context.Context, ix *indexFile, rev int64, o Origin) (SyncResult, error) {
	if !ix.has(rev) {
		return SyncResult{}, errorf(KindNotFound, fmt.Sprintf("no revision %d", rev))
	}
	old, err := r.loadRevision(ctx, rev)
	if err != nil {
		return SyncResult{}, err
	}
	now := r.now().UTC().Truncate(time.Millisecond)
	set := make(map[string]*Record)
	for n, rec := range recordMap(old.Records) {
		if _, shadowed := r.cfg.declared[n]; shadowed {
			continue
		}
		cur := r.drafts[n]
		if cur != nil && sameContent(cur, rec) {
			set[n] = cur
			continue
		}
		next := cloneRecord(rec)
		next.Version = rec.Version
		if cur != nil {
			next.Version = max(next.Version, cur.Version)
		}
		if pub := r.published[n]; pub != nil {
			next.Version = max(next.Version, pub.Version)
		}
		next.Version++
		next.UpdatedAt = &now
		set[n] = next
	}
	p := pendingOf(set, r.published, r.cfg.declared)
	newRev := ix.maxRevision() + 1
	table, ds := r.strictTable(newRev, set)
	if len(ds) > 0 {
		return SyncResult{}, errorf(KindInvalid, fmt.Sprintf("rollback to revision %d refused: its records are invalid now", rev), ds...)
	}
	if ds := r.gateExamples(ctx, table, append(slices.Clone(p.Added), p.Changed...)); len(ds) > 0 {
		return SyncResult{}, errorf(KindInvalid, fmt.Sprintf("rollback to revision %d refused: an example failed", rev), ds...)
	}
	if err := r.publish(ctx, ix, newRev, set, table, true, RevisionRollback, o); err != nil {
		return SyncResult{}, err
	}
	next := indexFile{Revision: newRev, Revisions: r.revisions, RestoreDrafts: true}
	if err := r.restoreDrafts(ctx, r.cfg, &next, sortedRecords(set)); err != nil {
		// Published but the drafts are half rewritten: the next load of
		// any instance finishes the job; make this one reload too.
		r.dirty = true
		r.gen++
		return SyncResult{}, err
	}
	r.drafts = r.withShadowed(set)
	r.draftIx = nil
	r.gen++
	r.prune()
	return SyncResult{Revision: newRev, Added: p.Added, Changed: p.Changed, Removed: p.Removed}, nil
}

// withShadowed adds to set the drafts hidden by declared records, which a
// rollback leaves alone. r.mu must be held.
func (r *Registry) withShadowed(set map[string]*Record) map[string]*Record {
	m := make(map[string]*Record, len(set))
	for n, rec := range set {
		m[n] = rec
	}
	for n, rec := range r.drafts {
		if _, ok := r.cfg.declared[n]; ok {
			m[n] = rec
		}
	}
	return m
}

// restoreDrafts makes the stored drafts equal recs (drafts hidden by a
// declared record excepted), then clears the index's restore flag. It is
// idempotent, so an interrupted rollback is finished by the next load.
func (r *Registry) restoreDrafts(ctx context.Context, cfg *config, ix *indexFile, recs []*Record) error {
	// the memory of the drafts is made the storage's by the caller, or
	// read again
	if _, err := r.touchDrafts(ctx); err != nil {
		return err
	}
	want := recordMap(recs)
	stored, err := r.loadDrafts(ctx)
	if err != nil {
		return err
	}
	for _, n := range slices.Sorted(maps.Keys(want)) {
		if cur, ok := stored[n]; ok && samePublished(cur, want[n]) && sameContent(cur, want[n]) {
			continue
		}
		if err := r.storeJSON(ctx, r.draftKey(n), want[n]); err != nil {
			return err
		}
	}
	for _, n := range slices.Sorted(maps.Keys(stored)) {
		if _, ok := want[n]; ok {
			continue
		}
		if _, shadowed := cfg.declared[n]; shadowed {
			continue
		}
		if err := r.storage.Delete(ctx, r.draftKey(n)); err != nil {
			return fmt.Errorf("deleting draft %q: %w", n, err)
		}
	}
	done := indexFile{Revision: ix.Revision, Revisions: ix.Revisions}
	return r.storeJSON(ctx, r.key("current"), done)
}

func sortedRecords(m map[string]*Record) []*Record {
	out := make([]*Record, 0, len(m))
	for _, n := range slices.Sorted(maps.Keys(m)) {
		out = append(out, m[n])
	}
	return out
}
