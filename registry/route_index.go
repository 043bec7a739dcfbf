package registry

import (
	"fmt"
	"slices"
	"strings"
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
