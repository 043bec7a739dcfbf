package registry

import (
	"maps"
	"slices"
	"strings"
	"sync/atomic"
)

// A View is one app config's window on the registry: the config's exec
// modes, users and declared records, and the live table built from them
// over the published revision. Every config that shares the registry has
// its own view, so a config that fails to load or start leaves the table
// of the running one untouched. The registry keeps the tables of the
// attached views up to date; admin calls use the active view's config.
type View struct {
	cfg  *config
	live atomic.Pointer[Table]
	// prev is the view that was active when this one was activated.
	prev *View
}

// Live returns the view's table. It takes no lock.
func (v *View) Live() *Table { return v.live.Load() }

// Active returns the view of the config the registry works for; the one
// New made until another is activated.
func (r *Registry) Active() *View {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.active
}

// Attach prepares the view of a new config (on a reload) over the
// published revision, without changing what is served. Programs and
// schemas whose source did not change are reused, not compiled again. It
// fails when the config is invalid or would leave a published endpoint
// unservable (its exec_as_user or exec mode gone), naming the endpoints.
// The view's table is built outside the registry's lock, which is taken
// only to add the view; if a publication came meanwhile it is built again
// (the last time under the lock).
func (r *Registry) Attach(opts Options) (*View, error) {
	cfg, err := r.newConfig(opts)
	if err != nil {
		return nil, err
	}
	for attempt := 1; ; attempt++ {
		if attempt == prepareAttempts {
			r.mu.Lock()
			defer r.mu.Unlock()
			return r.attach(cfg, r.rev, r.published, r.gen, true)
		}
		r.mu.RLock()
		rev, pub, gen := r.rev, r.published, r.gen
		r.mu.RUnlock()
		v, err := r.attach(cfg, rev, pub, gen, false)
		if err != nil || v != nil {
			return v, err
		}
	}
}

// attach builds the view of cfg over the revision rev of records pub, and
// adds it unless the registry moved on from gen (then it returns nil,
// nil). With locked, r.mu is held by the caller; else it is taken to add
// the view.
func (r *Registry) attach(cfg *config, rev int64, pub map[string]*Record, gen uint64, locked bool) (*View, error) {
	if ds := r.unservable(cfg, pub); len(ds) > 0 {
		names := make([]string, 0, len(ds))
		for _, d := range ds {
			if !slices.Contains(names, d.Name) {
				names = append(names, d.Name)
			}
		}
		return nil, errorf(KindInvalid, "the config would leave published endpoints unservable ("+strings.Join(names, ", ")+")", ds...)
	}
	v := &View{cfg: cfg}
	v.live.Store(r.lenientTable(cfg, rev, pub))
	if !locked {
		r.mu.Lock()
		defer r.mu.Unlock()
	}
	if r.gen != gen {
		return nil, nil
	}
	r.views[v] = struct{}{}
	return v, nil
}

// unservable lists the problems of the published records pub that cfg
// could not serve.
func (r *Registry) unservable(cfg *config, pub map[string]*Record) []Detail {
	var ds []Detail
	for _, name := range slices.Sorted(maps.Keys(pub)) {
		rec := pub[name]
		if _, shadowed := cfg.declared[name]; shadowed || !rec.IsActive() {
			continue
		}
		_, rds := r.cache.check(cfg, rec, false)
		for _, d := range rds {
			d.Name = name
			ds = append(ds, d)
		}
	}
	return ds
}

// Activate makes v the view admin calls work with (writes, syncs and
// their validation), as its config starts.
func (r *Registry) Activate(v *View) {
	// the config is read without r.mu by holders of r.wmu
	r.wmu.Lock()
	defer r.wmu.Unlock()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.active == v {
		return
	}
	v.prev = r.active
	r.setActive(v)
}

// Deactivate undoes Activate when v's config stops: if v is still active,
// the view active before it is again. A config that started and was
// replaced by a newer one changes nothing here.
func (r *Registry) Deactivate(v *View) {
	// the config is read without r.mu by holders of r.wmu
	r.wmu.Lock()
	defer r.wmu.Unlock()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.active != v || v.prev == nil {
		return
	}
	if _, attached := r.views[v.prev]; attached {
		r.setActive(v.prev)
	}
}

// Detach forgets v when its config is cleaned up.
func (r *Registry) Detach(v *View) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.active == v {
		return
	}
	delete(r.views, v)
	for other := range r.views {
		if other.prev == v {
			other.prev = v.prev
		}
	}
	r.prune()
}

// setActive switches the registry to v. r.wmu and r.mu must be held.
func (r *Registry) setActive(v *View) {
	r.active, r.cfg = v, v.cfg
	r.draftIx = nil
	r.gen++
	r.live.Store(v.Live())
}

// viewTables builds, without holding r.mu, the tables of the attached
// views but the active one over the revision rev of records pub (there
// are others only while a reload is under way).
func (r *Registry) viewTables(rev int64, pub map[string]*Record) map[*View]*Table {
	r.mu.RLock()
	var others []*View
	for v := range r.views {
		if v != r.active {
			others = append(others, v)
		}
	}
	r.mu.RUnlock()
	tables := make(map[*View]*Table, len(others))
	for _, v := range others {
		tables[v] = r.lenientTable(v.cfg, rev, pub)
	}
	return tables
}

// setLive makes table the active view's and others (from viewTables) the
// other attached views'; one attached since others were built gets its
// table built here. r.mu must be held, with r.rev and r.published
// already set.
func (r *Registry) setLive(table *Table, others map[*View]*Table) {
	r.live.Store(table)
	r.active.live.Store(table)
	for v := range r.views {
		if v == r.active {
			continue
		}
		t := others[v]
		if t == nil {
			t = r.lenientTable(v.cfg, r.rev, r.published)
		}
		v.live.Store(t)
	}
}
