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
	return publishingAs(r, ctx, func(h *held, ix *indexFile) (ApplyResult, error) {
		return r.apply(ctx, h, ix, recs, opts)
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

func (r *Registry) apply(ctx context.Context, h *held, ix *indexFile, recs []*Record, opts ApplyOptions) (ApplyResult, error) {
	res := ApplyResult{Created: []string{}, Updated: []string{}, Deleted: []string{}, Unchanged: []string{}, Revision: r.rev}
	var ds []Detail
	next := make(map[string]*Record, len(r.drafts)+len(recs))
	if !opts.Prune {
		maps.Copy(next, r.drafts)
	} else {
		for n, d := range r.drafts {
			if _, shadowed := r.cfg.declared[n]; shadowed {
				next[n] = d
			}
		}
	}
	now := r.now().UTC().Truncate(time.Millisecond)
	var writes []*Record
	for _, rec := range recs {
		normalize(rec)
		rec.SyncState, rec.Version, rec.UpdatedAt = "", 0, nil
		if decl, ok := r.cfg.declared[rec.Name]; ok {
			if sameContent(decl, rec) {
				res.Unchanged = append(res.Unchanged, rec.Name)
				continue
			}
			return ApplyResult{}, readOnly(rec.Name)
		}
		if _, eds := r.cache.check(r.cfg, rec, false); len(eds) > 0 {
			for _, d := range eds {
				d.Name = rec.Name
				ds = append(ds, d)
			}
			continue
		}
		cur := r.drafts[rec.Name]
		switch {
		case cur != nil && sameContent(cur, rec):
			next[rec.Name] = cur
			res.Unchanged = append(res.Unchanged, rec.Name)
			continue
		case cur != nil:
			rec.Version = cur.Version + 1
			res.Updated = append(res.Updated, rec.Name)
		case r.published[rec.Name] != nil:
			rec.Version = r.published[rec.Name].Version + 1
			res.Created = append(res.Created, rec.Name)
		default:
			rec.Version = 1
			res.Created = append(res.Created, rec.Name)
		}
		rec.UpdatedAt = &now
		next[rec.Name] = rec
		writes = append(writes, rec)
	}
	var deletes []string
	for _, n := range slices.Sorted(maps.Keys(r.drafts)) {
		if _, kept := next[n]; !kept {
			deletes = append(deletes, n)
		}
	}
	res.Deleted = append(res.Deleted, deletes...)
	if len(ds) > 0 {
		return ApplyResult{}, errorf(KindInvalid, "apply refused: invalid records", ds...)
	}
	// the resulting drafts must be servable together
	var active []*Record
	for _, n := range slices.Sorted(maps.Keys(next)) {
		if _, shadowed := r.cfg.declared[n]; !shadowed && next[n].IsActive() {
			active = append(active, next[n])
		}
	}
	for _, e := range r.cfg.declaredEntries {
		if e.Record.IsActive() {
			active = append(active, e.Record)
		}
	}
	if ds := conflicts(active, r.cfg.declared); len(ds) > 0 {
		return ApplyResult{}, errorf(KindInvalid, "apply refused: route conflicts", ds...)
	}

	var (
		table *Table
		p     Pending
		rev   int64
	)
	set := r.unshadowed(next)
	if opts.Sync {
		if err := r.refuseDamaged(); err != nil {
			return ApplyResult{}, err
		}
		var err error
		if rev, err = r.nextRevision(ctx, ix); err != nil {
			return ApplyResult{}, err
		}
		var ds []Detail
		table, ds = r.strictTable(rev, set)
		if len(ds) > 0 {
			return ApplyResult{}, errorf(KindInvalid, "apply refused: the drafts are invalid", ds...)
		}
		p = pendingOf(set, r.published, r.cfg.declared)
		if ds := r.gateExamples(ctx, table, append(slices.Clone(p.Added), p.Changed...)); len(ds) > 0 {
			return ApplyResult{}, errorf(KindInvalid, "apply refused: an example failed", ds...)
		}
	}
	if opts.DryRun {
		return res, nil
	}

	if err := h.check(ctx); err != nil {
		return ApplyResult{}, err
	}
	prev := r.drafts
	undo, err := r.storeDrafts(ctx, writes, deletes)
	if err != nil {
		return ApplyResult{}, err
	}
	r.mu.Lock()
	r.drafts = next
	r.draftIx = nil
	r.gen++
	r.mu.Unlock()
	r.prune()
	if opts.Sync && (!p.empty() || r.rev != ix.Revision) {
		if _, err := r.publish(ctx, h, ix, rev, set, table, nil, RevisionApply, opts.Origin); err != nil {
			// not published: the drafts go back as they were
			undo()
			r.mu.Lock()
			r.drafts = prev
			r.draftIx = nil
			r.gen++
			r.mu.Unlock()
			return ApplyResult{}, err
		}
		res.Revision = rev
	}
	return res, nil
}

// storeDrafts writes and deletes drafts; when one fails, the ones already
// written are put back as they were, so that a failed apply stores
// nothing. undo puts them all back. r.wmu and the storage lock must be held.
func (r *Registry) storeDrafts(ctx context.Context, writes []*Record, deletes []string) (undo func(), err error) {
	if len(writes) == 0 && len(deletes) == 0 {
		return func() {}, nil
	}
	touched, err := r.touchDrafts(ctx)
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
