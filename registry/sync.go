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
type publishedMark = stateAt

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

// strictTable validates and compiles a record set for publishing under
// cfg, with its declared records. Every problem is returned, each with its
// record's name. It takes no lock: the table's revision is set when it is
// published.
func (r *Registry) strictTable(cfg *config, set map[string]*Record) (*Table, []Detail) {
	var ds []Detail
	var live []*Entry
	for _, e := range cfg.declaredEntries {
		if e.Record.IsActive() {
			live = append(live, e)
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
	entries, details := r.cache.checkAll(cfg, mine, false, false)
	for i, rec := range mine {
		for _, d := range details[i] {
			d.Name = rec.Name
			ds = append(ds, d)
		}
		if entries[i] != nil {
			live = append(live, entries[i])
		}
	}
	cds, update := r.routes.setConflicts(cfg, set, mine, entries)
	if ds = append(ds, cds...); len(ds) > 0 {
		return nil, ds
	}
	t := newTable(0, live)
	t.routeUpdate = update
	return t, nil
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
	return publishingAs(r, ctx, func() (commitFunc[SyncResult], error) {
		return r.prepareSync(ctx, opts)
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

// refuseDamaged refuses a publication that would take the drafts as they
// are while some of them cannot be read: one of those would be taken as
// deleted. r.mu or r.wmu must be held.
func (r *Registry) refuseDamaged() error {
	if len(r.damaged) == 0 {
		return nil
	}
	return errorf(KindDamaged, "publication refused: stored drafts cannot be read; repair or remove the files", r.damaged...)
}

// prepareSync checks and compiles the set a sync would publish and runs
// the examples of what it adds or changes, without holding a lock; the
// commit it returns publishes it.
func (r *Registry) prepareSync(ctx context.Context, opts SyncOptions) (commitFunc[SyncResult], error) {
	r.mu.RLock()
	cfg, pub, cur := r.cfg, r.published, r.rev
	if len(opts.Only) == 0 {
		if err := r.refuseDamaged(); err != nil {
			r.mu.RUnlock()
			return nil, err
		}
		if r.allPublished() {
			r.mu.RUnlock()
			return func(*held, *indexFile) (SyncResult, error) {
				return SyncResult{Revision: cur, Added: []string{}, Changed: []string{}, Removed: []string{}}, nil
			}, nil
		}
	}
	set, ds := r.selected(opts.Only)
	r.mu.RUnlock()
	if len(ds) > 0 {
		return nil, errorf(KindInvalid, "sync refused: unknown endpoints", ds...)
	}
	// The whole set is checked even with nothing pending: a config reload
	// may have made a published record invalid (and left it unserved).
	table, ds := r.strictTable(cfg, set)
	if len(ds) > 0 {
		return nil, errorf(KindInvalid, "sync refused: the drafts are invalid", ds...)
	}
	p := pendingOf(set, pub, cfg.declared)
	if ds := r.gateExamples(ctx, cfg, table, p.touched()); len(ds) > 0 {
		return nil, errorf(KindInvalid, "sync refused: an example failed", ds...)
	}
	return func(h *held, ix *indexFile) (SyncResult, error) {
		return r.commitSync(ctx, h, ix, opts, set, table, p)
	}, nil
}

// commitSync publishes what prepareSync prepared; with nothing pending
// the revision stays as it is. r.wmu and the storage lock must be held.
func (r *Registry) commitSync(ctx context.Context, h *held, ix *indexFile, opts SyncOptions, set map[string]*Record, table *Table, p Pending) (SyncResult, error) {
	res := SyncResult{Revision: r.rev, Added: p.Added, Changed: p.Changed, Removed: p.Removed}
	if !p.empty() || r.rev != ix.Revision {
		rev, err := r.nextRevision(ctx, ix)
		if err != nil {
			return SyncResult{}, err
		}
		table.rev = rev
		if _, err := r.publish(ctx, h, ix, rev, set, table, nil, RevisionSync, opts.Origin); err != nil {
			return SyncResult{}, err
		}
		res.Revision = rev
	}
	if len(opts.Only) == 0 {
		r.mu.Lock()
		r.markPublished()
		r.mu.Unlock()
	}
	return res, nil
}

// touched names the records a publication adds or changes: those whose
// examples must pass.
func (p Pending) touched() []string {
	return append(slices.Clone(p.Added), p.Changed...)
}

// catchUp makes the memory state the storage's before publishing: the
// storage is the truth, another instance may have written drafts or
// published since this one last looked. A rollback left half done is
// finished first. A damaged index is rebuilt from the revision files.
// r.wmu and the storage lock must be held.
func (r *Registry) catchUp(ctx context.Context, h *held) (*indexFile, error) {
	ix, err := r.readIndex(ctx, true)
	if err != nil {
		return nil, err
	}
	if ix.Restore != nil {
		if ix, err = r.finishInterrupted(ctx, h, ix); err != nil {
			return nil, err
		}
	}
	// the drafts as stored now: when the stamp is the one this instance
	// last saw or wrote, its memory of them is the storage's
	stamp, err := r.loadStamp(ctx)
	if err != nil {
		return nil, err
	}
	if ix.Revision != r.indexRev || r.dirty {
		if err := r.reloadFrom(ctx, ix, true); err != nil {
			return nil, err
		}
		r.draftStamp = stamp
		return ix, nil
	}
	if stamp != "" && stamp == r.draftStamp {
		return ix, nil
	}
	if r.catchUpJournal(ctx, stamp) {
		return ix, nil
	}
	drafts, damaged, err := r.loadDrafts(ctx)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.drafts, r.damaged = drafts, damaged
	r.draftIx = nil
	r.draftStamp = stamp
	r.gen++
	r.mu.Unlock()
	return ix, nil
}

// catchUpJournal reads again only the drafts the stamp's journal says
// were written (by another instance) since this one last knew them all;
// false when it knew them under no stamp, when the journal does not reach
// back that far, or when a draft cannot be read: then all are read. r.wmu
// and the storage lock must be held.
func (r *Registry) catchUpJournal(ctx context.Context, stamp string) bool {
	if r.draftStamp == "" {
		return false
	}
	names, ok := changedSince(stamp, parseStamp(r.draftStamp).ID)
	if !ok || len(r.damaged) > 0 || len(names) > maxJournal {
		return false
	}
	got := make(map[string]*Record, len(names))
	for _, n := range names {
		rec, err := r.loadDraft(ctx, n)
		if err != nil {
			return false
		}
		got[n] = rec
	}
	for _, n := range names {
		r.setDraft(n, got[n])
	}
	r.draftStamp = stamp
	return true
}

// finishInterrupted finishes the rewrite of the drafts of a rollback that
// failed or died after it published, and returns the index without the
// intent. r.wmu and the storage lock must be held.
func (r *Registry) finishInterrupted(ctx context.Context, h *held, ix *indexFile) (*indexFile, error) {
	r.logger().Warn("finishing an interrupted rollback: rewriting the drafts it had not rewritten, keeping those written since",
		zap.Int64("revision", ix.Restore.Revision))
	rf, err := r.loadRevision(ctx, ix.Restore.Revision)
	if err != nil {
		return nil, fmt.Errorf("finishing the interrupted rollback to revision %d: %w", ix.Restore.Revision, err)
	}
	if err := r.restoreDrafts(ctx, h, ix, rf.Records); err != nil {
		return nil, fmt.Errorf("finishing the interrupted rollback to revision %d: %w", ix.Restore.Revision, err)
	}
	done := *ix
	done.Restore = nil
	return &done, nil
}

// publish stores set as revision rev, then the index that makes it live
// (the commit point), then swaps the live table and deletes the revisions
// past keep_revisions. Until the index is stored nothing is published: on
// an error the revision file is removed again and the error returned.
// With intent, the index carries the rollback's intent for the drafts.
// r.wmu and the storage lock must be held.
func (r *Registry) publish(ctx context.Context, h *held, ix *indexFile, rev int64, set map[string]*Record, table *Table, intent *restoreIntent, kind string, o Origin) (*indexFile, error) {
	rf := r.revisionToStore(ctx, rev, set, kind, o, intent == nil)
	if err := r.storeJSON(ctx, r.revisionKey(rev), rf); err != nil {
		r.abandon(ctx, rev)
		return nil, fmt.Errorf("publishing revision %d: %w", rev, err)
	}
	next, dropped := indexAfter(ix, rf, len(table.Entries()), r.cfg.keepRevisions, intent)
	if err := h.check(ctx); err != nil {
		r.abandon(ctx, rev)
		return nil, fmt.Errorf("publishing revision %d: %w", rev, err)
	}
	if err := r.storeJSON(ctx, r.key("current"), next); err != nil {
		// a storage may fail after the write landed: the index decides
		if cur, _, lerr := r.loadIndex(ctx); lerr != nil || cur.Revision != rev {
			r.abandon(ctx, rev)
			return nil, fmt.Errorf("publishing revision %d: %w", rev, err)
		}
	}
	changed := 0
	for n, rec := range r.published {
		if set[n] != rec {
			changed++
		}
	}
	others := r.viewTables(rev, set)
	r.mu.Lock()
	r.published, r.rev, r.indexRev, r.revisions = set, rev, rev, next.Revisions
	r.base = baseState{rev: rf.Base, recs: rf.base}
	if rf.Base == 0 {
		r.base.rev = rev
	}
	r.gen++
	r.setLive(table, others)
	r.mu.Unlock()
	r.routes.published(table.routeUpdate)
	r.pruneAfter(changed)
	// The index no longer lists them: a failed delete leaves a file that
	// nothing reads, so it is logged, not returned.
	for _, n := range dropped {
		if err := r.storage.Delete(ctx, r.revisionKey(n)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			r.logger().Warn("deleting a pruned revision", zap.Int64("revision", n), zap.Error(err))
		}
	}
	return next, nil
}

// abandon removes the revision file of a publication that did not happen.
// If that fails too, the number stays used: nextRevision skips it.
func (r *Registry) abandon(ctx context.Context, rev int64) {
	if err := r.storage.Delete(context.WithoutCancel(ctx), r.revisionKey(rev)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		r.logger().Warn("removing the revision file of a publication that failed", zapKey(r.revisionKey(rev)), zapErr(err))
	}
}

// Rollback publishes the record set of revision rev again, as a new
// revision, and makes the drafts that set. Records declared in the config
// now are taken from the config, not from rev. Once the new revision is
// published the answer is its number, even when rewriting the drafts
// failed: that is finished later, keeping the drafts written since.
func (r *Registry) Rollback(ctx context.Context, rev int64, o Origin) (SyncResult, error) {
	if err := checkNote(o); err != nil {
		return SyncResult{}, err
	}
	return publishingAs(r, ctx, func() (commitFunc[SyncResult], error) {
		return r.prepareRollback(ctx, rev, o)
	})
}

// prepareRollback checks and compiles the set a rollback to rev would
// publish and runs the examples of what it adds or changes, without
// holding a lock; the commit it returns publishes it.
func (r *Registry) prepareRollback(ctx context.Context, rev int64, o Origin) (commitFunc[SyncResult], error) {
	r.mu.RLock()
	listed := slices.ContainsFunc(r.revisions, func(ri RevisionInfo) bool { return ri.Revision == rev })
	damaged := r.refuseDamaged()
	r.mu.RUnlock()
	if !listed {
		return nil, errorf(KindNotFound, fmt.Sprintf("no revision %d", rev))
	}
	if damaged != nil {
		return nil, damaged
	}
	// a stored revision never changes: it is read without the lock
	old, err := r.loadRevision(ctx, rev)
	if err != nil {
		return nil, err
	}
	r.mu.RLock()
	cfg, pub := r.cfg, r.published
	set := r.rollbackSet(old.records)
	r.mu.RUnlock()
	p := pendingOf(set, pub, cfg.declared)
	table, ds := r.strictTable(cfg, set)
	if len(ds) > 0 {
		return nil, errorf(KindInvalid, fmt.Sprintf("rollback to revision %d refused: its records are invalid now", rev), ds...)
	}
	if ds := r.gateExamples(ctx, cfg, table, p.touched()); len(ds) > 0 {
		return nil, errorf(KindInvalid, fmt.Sprintf("rollback to revision %d refused: an example failed", rev), ds...)
	}
	return func(h *held, ix *indexFile) (SyncResult, error) {
		if !ix.has(rev) {
			return SyncResult{}, errorf(KindNotFound, fmt.Sprintf("no revision %d", rev))
		}
		return r.commitRollback(ctx, h, ix, set, table, p, o)
	}, nil
}

// rollbackSet is the set a rollback to the records old publishes: each
// record as old has it, with a version above the draft's and the
// published record's, or the draft itself where it says the same. Records
// declared now are left out. r.mu must be held.
func (r *Registry) rollbackSet(old map[string]*Record) map[string]*Record {
	now := r.now().UTC().Truncate(time.Millisecond)
	set := make(map[string]*Record, len(old))
	for n, rec := range old {
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
	return set
}

// commitRollback publishes what prepareRollback prepared, then rewrites
// the drafts. r.wmu and the storage lock must be held.
func (r *Registry) commitRollback(ctx context.Context, h *held, ix *indexFile, set map[string]*Record, table *Table, p Pending, o Origin) (SyncResult, error) {
	newRev, err := r.nextRevision(ctx, ix)
	if err != nil {
		return SyncResult{}, err
	}
	table.rev = newRev
	intent := &restoreIntent{Revision: newRev, Base: map[string]draftStamp{}}
	for n, rec := range r.unshadowed(r.drafts) {
		intent.Base[n] = stampOf(rec)
	}
	next, err := r.publish(ctx, h, ix, newRev, set, table, intent, RevisionRollback, o)
	if err != nil {
		return SyncResult{}, err
	}
	res := SyncResult{Revision: newRev, Added: p.Added, Changed: p.Changed, Removed: p.Removed}
	err = r.restoreDrafts(ctx, h, next, sortedRecords(set))
	if drafts, damaged, lerr := r.loadDrafts(ctx); lerr == nil {
		r.mu.Lock()
		r.drafts, r.damaged = drafts, damaged
		r.draftIx = nil
		r.gen++
		r.mu.Unlock()
		r.prune()
	}
	if err != nil {
		// published: the drafts left are rewritten by whoever next holds
		// the storage lock, without touching those written since
		r.logger().Error("rollback published, but rewriting the drafts failed; they are rewritten later",
			zap.Int64("revision", newRev), zapErr(err))
		r.mu.Lock()
		r.dirty = true
		r.gen++
		r.mu.Unlock()
	}
	return res, nil
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

// restoreDrafts makes the stored drafts the records recs of the intent in
// ix, then stores ix without it. Only drafts still as the intent found
// them are rewritten or deleted: a draft written since is kept. It is
// idempotent, so whoever finds the intent left by a failure redoes it.
// Drafts hidden by a declared record are left alone.
func (r *Registry) restoreDrafts(ctx context.Context, h *held, ix *indexFile, recs []*Record) error {
	// the memory of the drafts is made the storage's by the caller, or
	// read again
	if _, err := r.touchDrafts(ctx, nil); err != nil {
		return err
	}
	want := recordMap(recs)
	base := ix.Restore.Base
	stored, _, err := r.loadDrafts(ctx)
	if err != nil {
		return err
	}
	for _, n := range slices.Sorted(maps.Keys(want)) {
		cur := stored[n]
		if cur != nil && samePublished(cur, want[n]) && sameContent(cur, want[n]) {
			continue
		}
		if b, ok := base[n]; (ok && !b.is(cur)) || (!ok && cur != nil) {
			r.logger().Info("keeping a draft written after the rollback", zap.String("endpoint", n))
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
		if _, shadowed := r.cfg.declared[n]; shadowed {
			continue
		}
		if b, ok := base[n]; !ok || !b.is(stored[n]) {
			continue
		}
		if err := r.storage.Delete(ctx, r.draftKey(n)); err != nil {
			return fmt.Errorf("deleting draft %q: %w", n, err)
		}
	}
	if err := h.check(ctx); err != nil {
		return err
	}
	done := *ix
	done.Restore = nil
	return r.storeJSON(ctx, r.key("current"), done)
}

func sortedRecords(m map[string]*Record) []*Record {
	out := make([]*Record, 0, len(m))
	for _, n := range slices.Sorted(maps.Keys(m)) {
		out = append(out, m[n])
	}
	return out
}
