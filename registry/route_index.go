package registry

import (
	"fmt"
	"slices"
	"strings"
	"sync"
)

// routed is one (route, method) pair an active record serves, with its
// parsed pattern.
type routed struct {
	rec    *Record
	pat    *pattern
	method string
}

// routedOf returns the (route, method) pairs of a record; a record whose
// route does not parse has none (its field check reports it).
func routedOf(rec *Record) []routed {
	out := make([]routed, 0, len(rec.Routes)*len(rec.RequestMethods))
	for _, route := range rec.Routes {
		p, probs := parsePattern(route)
		if len(probs) > 0 {
			continue
		}
		for _, m := range rec.RequestMethods {
			out = append(out, routed{rec: rec, pat: p, method: m})
		}
	}
	return out
}

// conflict says why a cannot be served next to b, or "" when both can:
// the same (route, method) twice, or two different patterns that match
// the same paths or overlap with neither more specific.
func conflict(a, b routed) string {
	if a.pat.raw == b.pat.raw {
		if a.method == b.method {
			return fmt.Sprintf("%s %s is already served by %q", a.method, a.pat.raw, b.rec.Name)
		}
		return ""
	}
	switch compare(a.pat, b.pat) {
	case equivalent:
		return fmt.Sprintf("matches the same paths as %s of %q", b.pat.raw, b.rec.Name)
	case overlaps:
		return fmt.Sprintf("overlaps %s of %q and neither is more specific", b.pat.raw, b.rec.Name)
	}
	return ""
}

// routeIndex holds (route, method) pairs so that the pairs a pattern can
// share a path with are found without looking at the others: a trie on
// the patterns' segments, literal segments by text, every {name} segment
// on one branch, and at each node the pairs whose pattern ends there or
// ends there in {rest...}. A lookup walks only the branches a path of the
// pattern could take, so its cost grows with the pairs it may overlap,
// not with the size of the index.
type routeIndex struct {
	root ixNode
}

type ixNode struct {
	lits map[string]*ixNode
	wild *ixNode
	// ends are the pairs whose pattern ends at this node.
	ends []routed
	// rests are the pairs whose pattern ends at this node in {rest...}.
	rests []routed
}

// add puts the pairs of rec into the index.
func (ix *routeIndex) add(rs ...routed) {
	for _, r := range rs {
		n, last := ix.node(r.pat, true)
		if last == segMulti {
			n.rests = append(n.rests, r)
		} else {
			n.ends = append(n.ends, r)
		}
	}
}

// remove takes the pairs of the record named name off the index.
func (ix *routeIndex) remove(rs ...routed) {
	for _, r := range rs {
		n, last := ix.node(r.pat, false)
		if n == nil {
			continue
		}
		drop := func(s []routed) []routed {
			return slices.DeleteFunc(s, func(o routed) bool {
				return o.rec.Name == r.rec.Name && o.pat.raw == r.pat.raw && o.method == r.method
			})
		}
		if last == segMulti {
			n.rests = drop(n.rests)
		} else {
			n.ends = drop(n.ends)
		}
	}
}

// node returns the node a pattern ends at, creating the path when create
// is set, and the kind of the pattern's last segment.
func (ix *routeIndex) node(p *pattern, create bool) (*ixNode, segKind) {
	n := &ix.root
	for _, s := range p.segs {
		switch s.kind {
		case segMulti:
			return n, segMulti
		case segWild:
			if n.wild == nil {
				if !create {
					return nil, segWild
				}
				n.wild = &ixNode{}
			}
			n = n.wild
		default:
			c := n.lits[s.text]
			if c == nil {
				if !create {
					return nil, segLit
				}
				if n.lits == nil {
					n.lits = make(map[string]*ixNode)
				}
				c = &ixNode{}
				n.lits[s.text] = c
			}
			n = c
		}
	}
	return n, segLit
}

// overlapping calls fn with every pair in the index whose pattern may
// match a path that p matches too.
func (ix *routeIndex) overlapping(p *pattern, fn func(routed)) {
	ix.root.overlapping(p.segs, fn)
}

func (n *ixNode) overlapping(segs []segment, fn func(routed)) {
	if len(segs) == 0 {
		for _, r := range n.ends {
			fn(r)
		}
		return
	}
	// a {rest...} here matches every path with at least one more segment,
	// as p's paths here have
	for _, r := range n.rests {
		fn(r)
	}
	s := segs[0]
	switch s.kind {
	case segMulti:
		// p matches every longer path: everything below, and the
		// {rest...} pairs here (done above)
		for _, c := range n.lits {
			c.all(fn)
		}
		if n.wild != nil {
			n.wild.all(fn)
		}
	case segWild:
		for _, c := range n.lits {
			c.overlapping(segs[1:], fn)
		}
		if n.wild != nil {
			n.wild.overlapping(segs[1:], fn)
		}
	default:
		if c := n.lits[s.text]; c != nil {
			c.overlapping(segs[1:], fn)
		}
		if n.wild != nil {
			n.wild.overlapping(segs[1:], fn)
		}
	}
}

// all calls fn with every pair at or below n.
func (n *ixNode) all(fn func(routed)) {
	for _, r := range n.ends {
		fn(r)
	}
	for _, r := range n.rests {
		fn(r)
	}
	for _, c := range n.lits {
		c.all(fn)
	}
	if n.wild != nil {
		n.wild.all(fn)
	}
}

// conflicts lists the conflicts of the pairs rs against the index, one
// detail per conflicting pair, sorted by the other record's name. skip
// leaves out pairs of records that do not count (the record itself).
func (ix *routeIndex) conflicts(rs []routed, skip func(*Record) bool) []Detail {
	type hit struct{ other, msg string }
	var hits []hit
	for _, r := range rs {
		ix.overlapping(r.pat, func(o routed) {
			if skip != nil && skip(o.rec) {
				return
			}
			if msg := conflict(r, o); msg != "" {
				hits = append(hits, hit{o.rec.Name, msg})
			}
		})
	}
	slices.SortStableFunc(hits, func(a, b hit) int { return strings.Compare(a.other, b.other) })
	ds := make([]Detail, 0, len(hits))
	for _, h := range hits {
		ds = append(ds, Detail{Field: "route", Message: h.msg})
	}
	return ds
}

// publishedRoutes indexes the routes of the published set and of one
// config's declared records, a set known to hold no conflict: a
// publication then checks only the records it adds or changes, against
// the routes they can overlap, not every pair of the set again.
type publishedRoutes struct {
	mu  sync.Mutex
	cfg *config
	set map[string]*Record
	// ix holds the pairs of the active records of set and the declared
	// records of cfg; nil until a publication checked a whole set.
	ix *routeIndex
	// gen counts the changes of the above.
	gen uint64
}

// routeUpdate is how a checked candidate set changes the published
// routes once it is published.
type routeUpdate struct {
	cfg *config
	set map[string]*Record
	// whole is the index of the whole set, when it was checked whole.
	whole *routeIndex
	// from is the gen the change was worked out on; stale names the
	// records whose pairs leave the index, fresh the pairs that enter it.
	from  uint64
	stale []string
	fresh []routed
}

// setConflicts lists the route conflicts of the active records mine (with
// their entries, nil for those that failed their check) and the declared
// records of cfg, as conflictsOf does for the whole set, and how the
// published routes change once set is published. While the published
// routes are known for cfg and few records changed, only those and the
// records they can overlap are checked.
func (p *publishedRoutes) setConflicts(cfg *config, set map[string]*Record, mine []*Record, entries []*Entry) ([]Detail, *routeUpdate) {
	pairsOf := func(i int) []routed {
		if entries[i] != nil {
			return entries[i].routes
		}
		return routedOf(mine[i])
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if u := p.changeTo(cfg, set); u != nil {
		return p.conflictsOfChange(cfg, mine, pairsOf, u), u
	}
	var pairs [][]routed
	for _, e := range cfg.declaredEntries {
		if e.Record.IsActive() {
			pairs = append(pairs, e.routes)
		}
	}
	for i := range mine {
		pairs = append(pairs, pairsOf(i))
	}
	ds, ix := conflictsIndexed(pairs, cfg.declared)
	return ds, &routeUpdate{cfg: cfg, set: set, whole: ix}
}

// changeTo works out which records of set differ from the published ones
// (as pointers, or by version), nil when the set should be checked whole:
// the routes are not known for cfg, or too much changed. p.mu must be
// held.
func (p *publishedRoutes) changeTo(cfg *config, set map[string]*Record) *routeUpdate {
	if p.ix == nil || p.cfg != cfg {
		return nil
	}
	u := &routeUpdate{cfg: cfg, set: set, from: p.gen}
	limit := len(set)/8 + 16
	for n, rec := range set {
		old := p.set[n]
		if old == rec || (old != nil && samePublished(old, rec) && old.IsActive() == rec.IsActive()) {
			continue
		}
		if _, shadowed := cfg.declared[n]; shadowed {
			continue // not in the index: the declared record is
		}
		if u.stale = append(u.stale, n); len(u.stale) > limit {
			return nil
		}
	}
	for n := range p.set {
		if _, shadowed := cfg.declared[n]; shadowed {
			continue
		}
		if _, ok := set[n]; !ok {
			if u.stale = append(u.stale, n); len(u.stale) > limit {
				return nil
			}
		}
	}
	slices.Sort(u.stale)
	return u
}

// conflictsOfChange checks the active records of u.stale still in the
// set against each other and against the published pairs they can
// overlap. p.mu must be held.
func (p *publishedRoutes) conflictsOfChange(cfg *config, mine []*Record, pairsOf func(int) []routed, u *routeUpdate) []Detail {
	stale := make(map[string]bool, len(u.stale))
	for _, n := range u.stale {
		stale[n] = true
	}
	at := func(name string) int {
		i, ok := slices.BinarySearchFunc(mine, name, func(rec *Record, n string) int { return strings.Compare(rec.Name, n) })
		if !ok {
			return -1
		}
		return i
	}
	declared := make(map[string][]routed)
	for _, e := range cfg.declaredEntries {
		if e.Record.IsActive() {
			declared[e.Record.Name] = e.routes
		}
	}
	var pairs [][]routed
	near := map[string]bool{}
	for _, n := range u.stale {
		i := at(n)
		if i < 0 {
			continue // removed or archived
		}
		rs := pairsOf(i)
		pairs = append(pairs, rs)
		u.fresh = append(u.fresh, rs...)
		for _, r := range rs {
			p.ix.overlapping(r.pat, func(o routed) {
				if !stale[o.rec.Name] {
					near[o.rec.Name] = true
				}
			})
		}
	}
	for n := range near {
		if rs, ok := declared[n]; ok {
			pairs = append(pairs, rs)
		} else if i := at(n); i >= 0 {
			pairs = append(pairs, pairsOf(i))
		}
	}
	return conflictsOf(pairs, cfg.declared)
}

// published makes u, checked without a conflict, the published routes.
// An update worked out on routes that changed since drops the index: the
// next publication checks its set whole.
func (p *publishedRoutes) published(u *routeUpdate) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case u == nil:
		p.ix = nil
	case u.whole != nil:
		p.ix = u.whole
	case u.from == p.gen && p.cfg == u.cfg:
		for _, n := range u.stale {
			if old := p.set[n]; old != nil && old.IsActive() {
				p.ix.remove(routedOf(old)...)
			}
		}
		p.ix.add(u.fresh...)
	default:
		p.ix = nil
	}
	if u != nil {
		p.cfg, p.set = u.cfg, u.set
	}
	p.gen++
}
