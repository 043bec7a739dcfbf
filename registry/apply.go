package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"
)

// ApplyOptions describe a bulk apply: a set of records written as drafts
// in one step.
type ApplyOptions struct {
	// Records are the records to write, as JSON objects.
	Records []json.RawMessage
	// Prune deletes the drafts Records does not list (declared records
	// are never touched).
	Prune bool
	// Sync publishes the resulting drafts in the same call.
	Sync bool
	// DryRun checks everything and reports what would change, storing
	// nothing.
	DryRun bool
	Origin
}

// ApplyResult says what an apply did (or would do, for a dry run).
type ApplyResult struct {
	Created   []string `json:"created"`
	Updated   []string `json:"updated"`
	Deleted   []string `json:"deleted"`
	Unchanged []string `json:"unchanged"`
	// Revision is the live revision after the apply.
	Revision int64 `json:"revision"`
}

// Apply validates every record of opts and the draft set that would
// result, then stores them all; with opts.Sync it publishes that set as a
// revision of kind apply, its examples run first. Any problem refuses the
// whole apply and nothing is stored.
func (r *Registry) Apply(ctx context.Context, opts ApplyOptions) (ApplyResult, error) {
	if err := checkNote(opts.Origin); err != nil {
		return ApplyResult{}, err
	}
	recs, ds := decodeApplied(opts.Records)
	if len(ds) > 0 {
		return ApplyResult{}, errorf(KindInvalid, "apply refused: invalid records", ds...)
	}
	return publishingAs(r, ctx, func() (commitFunc[ApplyResult], error) {
		return r.prepareApply(ctx, recs, opts)
	})
}

// decodeApplied decodes the records of an apply; every problem is named
// by the record (or its position when it has no usable name).
func decodeApplied(raws []json.RawMessage) ([]*Record, []Detail) {
	var ds []Detail
	recs := make([]*Record, 0, len(raws))
	seen := make(map[string]int, len(raws))
	for i, raw := range raws {
		rec, err := decodeRecord(raw, "")
		who := fmt.Sprintf("endpoints[%d]", i)
		if err != nil {
			for _, d := range detailsOrMessage(err) {
				d.Name = who
				ds = append(ds, d)
			}
			continue
		}
		if rec.Name == "" {
			ds = append(ds, Detail{Name: who, Field: "name", Message: "is required"})
			continue
		}
		who = rec.Name
		if j, dup := seen[rec.Name]; dup {
			ds = append(ds, Detail{Name: who, Field: "name", Message: fmt.Sprintf("endpoints[%d] and endpoints[%d] have the same name", j, i)})
			continue
		}
		seen[rec.Name] = i
		recs = append(recs, rec)
	}
	return recs, ds
}

func detailsOrMessage(err error) []Detail {
	if e, ok := err.(*Error); ok {
		if len(e.Details) > 0 {
			return e.Details
		}
		return []Detail{{Message: e.Message}}
	}
	return []Detail{{Message: err.Error()}}
}

// applyPlan is what an apply would store: the resulting drafts, the
// records to write and the drafts to delete.
type applyPlan struct {
	res     ApplyResult
	next    map[string]*Record
	writes  []*Record
	deletes []string
	// checked are the records to validate: every one not declared.
	checked []*Record
	// set is the set a sync would publish.
	set map[string]*Record
}

// prepareApply validates the records of an apply and the drafts that
// would result, and with opts.Sync the set it would publish (examples
// included), without holding a lock; the commit it returns stores them.
func (r *Registry) prepareApply(ctx context.Context, recs []*Record, opts ApplyOptions) (commitFunc[ApplyResult], error) {
	r.mu.RLock()
	cfg, pub := r.cfg, r.published
	plan, err := r.planApply(recs, opts.Prune)
	damaged := r.refuseDamaged()
	r.mu.RUnlock()
	if err != nil {
		return nil, err
	}
	if ds := r.checkApplied(cfg, plan); len(ds) > 0 {
		return nil, errorf(KindInvalid, "apply refused: invalid records", ds...)
	}
	if ds := conflicts(activeOf(cfg, plan.next), cfg.declared); len(ds) > 0 {
		return nil, errorf(KindInvalid, "apply refused: route conflicts", ds...)
	}
	var table *Table
	var p Pending
	if opts.Sync {
		if damaged != nil {
			return nil, damaged
		}
		var ds []Detail
		if table, ds = r.strictTable(cfg, plan.set); len(ds) > 0 {
			return nil, errorf(KindInvalid, "apply refused: the drafts are invalid", ds...)
		}
		p = pendingOf(plan.set, pub, cfg.declared)
		if ds := r.gateExamples(ctx, cfg, table, p.touched()); len(ds) > 0 {
			return nil, errorf(KindInvalid, "apply refused: an example failed", ds...)
		}
	}
	if opts.DryRun {
		return func(*held, *indexFile) (ApplyResult, error) { return plan.res, nil }, nil
	}
	return func(h *held, ix *indexFile) (ApplyResult, error) {
		return r.commitApply(ctx, h, ix, plan, table, p, opts)
	}, nil
}

// planApply works out what applying recs to the drafts stores; with
// prune, the drafts recs does not name are deleted. Nothing is validated
// here but declared records, which are read-only. r.mu must be held.
func (r *Registry) planApply(recs []*Record, prune bool) (*applyPlan, error) {
	pl := &applyPlan{
		res:  ApplyResult{Created: []string{}, Updated: []string{}, Deleted: []string{}, Unchanged: []string{}, Revision: r.rev},
		next: make(map[string]*Record, len(r.drafts)+len(recs)),
	}
	for n, d := range r.drafts {
		if _, shadowed := r.cfg.declared[n]; shadowed || !prune {
			pl.next[n] = d
		}
	}
	now := r.now().UTC().Truncate(time.Millisecond)
	for _, rec := range recs {
		normalize(rec)
		rec.SyncState, rec.Version, rec.UpdatedAt = "", 0, nil
		if decl, ok := r.cfg.declared[rec.Name]; ok {
			if !sameContent(decl, rec) {
				return nil, readOnly(rec.Name)
			}
			pl.res.Unchanged = append(pl.res.Unchanged, rec.Name)
			continue
		}
		pl.checked = append(pl.checked, rec)
		cur := r.drafts[rec.Name]
		switch {
		case cur != nil && sameContent(cur, rec):
			pl.next[rec.Name] = cur
			pl.res.Unchanged = append(pl.res.Unchanged, rec.Name)
			continue
		case cur != nil:
			rec.Version = cur.Version + 1
			pl.res.Updated = append(pl.res.Updated, rec.Name)
		case r.published[rec.Name] != nil:
			rec.Version = r.published[rec.Name].Version + 1
			pl.res.Created = append(pl.res.Created, rec.Name)
		default:
			rec.Version = 1
			pl.res.Created = append(pl.res.Created, rec.Name)
		}
		rec.UpdatedAt = &now
		pl.next[rec.Name] = rec
		pl.writes = append(pl.writes, rec)
	}
	for _, n := range slices.Sorted(maps.Keys(r.drafts)) {
		if _, kept := pl.next[n]; !kept {
			pl.deletes = append(pl.deletes, n)
		}
	}
	pl.res.Deleted = append(pl.res.Deleted, pl.deletes...)
	pl.set = r.unshadowed(pl.next)
	return pl, nil
}

// checkApplied validates each record of an apply on its own under cfg.
// It takes no lock.
func (r *Registry) checkApplied(cfg *config, pl *applyPlan) []Detail {
	var ds []Detail
	for _, rec := range pl.checked {
		_, eds := r.cache.check(cfg, rec, false)
		for _, d := range eds {
			d.Name = rec.Name
			ds = append(ds, d)
		}
	}
	return ds
}

// activeOf lists the active drafts of next no declared record hides, and
// the active declared records, sorted by name within each.
func activeOf(cfg *config, next map[string]*Record) []*Record {
	var active []*Record
	for _, n := range slices.Sorted(maps.Keys(next)) {
		if _, shadowed := cfg.declared[n]; !shadowed && next[n].IsActive() {
			active = append(active, next[n])
		}
	}
	for _, e := range cfg.declaredEntries {
		if e.Record.IsActive() {
			active = append(active, e.Record)
		}
	}
	return active
}

// commitApply stores the drafts of an apply, then with opts.Sync
// publishes them; when the publication fails the drafts go back as they
// were. r.wmu and the storage lock must be held.
func (r *Registry) commitApply(ctx context.Context, h *held, ix *indexFile, pl *applyPlan, table *Table, p Pending, opts ApplyOptions) (ApplyResult, error) {
	publish := opts.Sync && (!p.empty() || r.rev != ix.Revision)
	var rev int64
	if publish {
		var err error
		if rev, err = r.nextRevision(ctx, ix); err != nil {
			return ApplyResult{}, err
		}
		table.rev = rev
	}
	if err := h.check(ctx); err != nil {
		return ApplyResult{}, err
	}
	prev := r.drafts
	undo, err := r.storeDrafts(ctx, pl.writes, pl.deletes)
	if err != nil {
		return ApplyResult{}, err
	}
	r.setDrafts(pl.next)
	res := pl.res
	if publish {
		if _, err := r.publish(ctx, h, ix, rev, pl.set, table, nil, RevisionApply, opts.Origin); err != nil {
			// not published: the drafts go back as they were
			undo()
			r.setDrafts(prev)
			return ApplyResult{}, err
		}
		res.Revision = rev
	}
	return res, nil
}

// setDrafts replaces the drafts in memory. r.wmu must be held.
func (r *Registry) setDrafts(drafts map[string]*Record) {
	r.mu.Lock()
	r.drafts = drafts
	r.draftIx = nil
	r.gen++
	r.mu.Unlock()
	r.prune()
}

// storeDrafts writes and deletes drafts; when one fails, the ones already
// written are put back as they were, so that a failed apply stores
// nothing. undo puts them all back. r.wmu and the storage lock must be held.
func (r *Registry) storeDrafts(ctx context.Context, writes []*Record, deletes []string) (undo func(), err error) {
	if len(writes) == 0 && len(deletes) == 0 {
		return func() {}, nil
	}
	names := append(make([]string, 0, len(writes)+len(deletes)), deletes...)
	for _, rec := range writes {
		names = append(names, rec.Name)
	}
	if len(names) > maxJournal {
		names = nil // too many to name: every instance reads them all
	}
	touched, err := r.touchDrafts(ctx, names)
	if err != nil {
		return nil, err
	}
	defer func() { touched(err) }()
	var done []string
	prev := r.drafts
	undo = func() {
		for _, n := range done {
			var err error
			if old := prev[n]; old != nil {
				err = r.storeJSON(ctx, r.draftKey(n), old)
			} else {
				err = r.storage.Delete(ctx, r.draftKey(n))
			}
			if err != nil {
				r.mu.Lock()
				r.dirty = true
				r.mu.Unlock()
				r.logger().Error("restoring a draft after a failed apply", zapKey(r.draftKey(n)), zapErr(err))
			}
		}
	}
	for _, rec := range writes {
		if err := r.storeJSON(ctx, r.draftKey(rec.Name), rec); err != nil {
			undo()
			return nil, err
		}
		done = append(done, rec.Name)
	}
	for _, n := range deletes {
		if err := r.storage.Delete(ctx, r.draftKey(n)); err != nil {
			undo()
			return nil, fmt.Errorf("deleting draft %q: %w", n, err)
		}
		done = append(done, n)
	}
	return undo, nil
}
