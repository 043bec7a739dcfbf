package registry

import (
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/caddy-endpoint/endpoint/execmode"
	"github.com/caddy-endpoint/endpoint/schema"
)

// Entry is one live record, compiled and ready to serve. Entries are
// immutable and shared by every request of a revision.
type Entry struct {
	// Record is the published record; read-only.
	Record *Record
	// routes are the record's parsed (route, method) pairs.
	routes []routed
	// Endpoint is the record as its exec mode sees it; read-only.
	Endpoint *execmode.Endpoint
	// Program answers the record's requests.
	Program execmode.Program
	// Schema validates request bodies; nil when the record has none.
	Schema schema.Validator
	// Declared is true for a record declared in the config.
	Declared bool
	// Roles is the set of allowed_roles; nil when any caller is allowed.
	Roles map[string]struct{}
	// ContentType is request_content_type in lower case; "" when any body
	// is accepted.
	ContentType string
}

// AllowsRoles reports whether a caller holding roles passes allowed_roles.
func (e *Entry) AllowsRoles(roles []string) bool {
	if e.Roles == nil {
		return true
	}
	for _, r := range roles {
		if _, ok := e.Roles[r]; ok {
			return true
		}
	}
	return false
}

func newEntry(rec *Record, view *execmode.Endpoint, prog execmode.Program, val schema.Validator, declared bool) *Entry {
	e := &Entry{
		routes:      routedOf(rec),
		Record:      rec,
		Endpoint:    view,
		Program:     prog,
		Schema:      val,
		Declared:    declared,
		ContentType: strings.ToLower(rec.RequestContentType),
	}
	if len(rec.AllowedRoles) > 0 {
		e.Roles = make(map[string]struct{}, len(rec.AllowedRoles))
		for _, r := range rec.AllowedRoles {
			e.Roles[r] = struct{}{}
		}
	}
	return e
}

// Table is an immutable live routing table: the entries of one published
// revision plus the declared records.
type Table struct {
	rev     int64
	entries []*Entry
	all     *Matcher
	// unservable are published records left out of the table (sorted).
	unservable []string
	// routeUpdate is how publishing a checked candidate table changes
	// the published routes; nil for a table built from storage.
	routeUpdate *routeUpdate

	mu     sync.Mutex
	groups atomic.Pointer[[]groupMatcher]
}

type groupMatcher struct {
	groups []string
	m      *Matcher
}

// maxGroupSets bounds the matchers a table caches for group subsets.
const maxGroupSets = 64

func newTable(rev int64, entries []*Entry) *Table {
	sort.Slice(entries, func(i, j int) bool { return entries[i].Record.Name < entries[j].Record.Name })
	return &Table{rev: rev, entries: entries, all: newMatcher(entries)}
}

// Revision is the published revision the table serves (0 before the first
// sync).
func (t *Table) Revision() int64 {
	if t == nil {
		return 0
	}
	return t.rev
}

// Unservable names the published records the table leaves out because
// they no longer pass under the running config (a user or exec mode gone,
// a route now taken by a declared endpoint).
func (t *Table) Unservable() []string {
	if t == nil {
		return nil
	}
	return t.unservable
}

// Entries returns the live entries sorted by name; the slice must not be
// modified.
func (t *Table) Entries() []*Entry {
	if t == nil {
		return nil
	}
	return t.entries
}

// Matcher returns the matcher of the records whose route_group is one of
// groups; nil or empty groups means every record.
func (t *Table) Matcher(groups []string) *Matcher {
	if t == nil {
		return nil
	}
	if len(groups) == 0 {
		return t.all
	}
	if p := t.groups.Load(); p != nil {
		for _, g := range *p {
			if slices.Equal(g.groups, groups) {
				return g.m
			}
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	var cached []groupMatcher
	if p := t.groups.Load(); p != nil {
		cached = *p
		for _, g := range cached {
			if slices.Equal(g.groups, groups) {
				return g.m
			}
		}
	}
	var sel []*Entry
	for _, e := range t.entries {
		if slices.Contains(groups, e.Record.RouteGroup) {
			sel = append(sel, e)
		}
	}
	m := newMatcher(sel)
	if len(cached) < maxGroupSets {
		next := append(slices.Clip(cached), groupMatcher{groups: slices.Clone(groups), m: m})
		t.groups.Store(&next)
	}
	return m
}

// Route is one route pattern of a matcher with the entries serving it.
type Route struct {
	// Pattern is the route as written in the records.
	Pattern string
	// Methods holds the entry serving each request method (GET, POST, PUT,
	// DELETE).
	Methods map[string]*Entry
	segs    []segment
	params  int
}

// Matcher finds the route of a request path. It is immutable.
type Matcher struct {
	literal map[string]*Route
	root    *node
}

type node struct {
	lits  map[string]*node
	wild  *node
	multi *Route
	route *Route
}

func newMatcher(entries []*Entry) *Matcher {
	m := &Matcher{literal: make(map[string]*Route), root: &node{}}
	byPattern := make(map[string]*Route)
	var order []*Route
	for _, e := range entries {
		routes := e.routes
		if routes == nil {
			routes = routedOf(e.Record)
		}
		for _, ro := range routes {
			p := ro.pat
			rt := byPattern[p.raw]
			if rt == nil {
				rt = &Route{Pattern: p.raw, Methods: make(map[string]*Entry), segs: p.segs}
				for _, s := range p.segs {
					if s.kind != segLit {
						rt.params++
					}
				}
				byPattern[p.raw] = rt
				order = append(order, rt)
			}
			rt.Methods[ro.method] = e
		}
	}
	for _, rt := range order {
		if rt.params == 0 {
			m.literal[rt.Pattern] = rt
		}
		m.root.insert(rt)
	}
	return m
}

// ServedMethods returns the methods the route serves, in the order of
// the method list records choose from.
func (rt *Route) ServedMethods() []string {
	out := make([]string, 0, len(rt.Methods))
	for _, m := range methods {
		if _, ok := rt.Methods[m]; ok {
			out = append(out, m)
		}
	}
	return out
}

func (n *node) insert(rt *Route) {
	for i, s := range rt.segs {
		switch s.kind {
		case segLit:
			if n.lits == nil {
				n.lits = make(map[string]*node)
			}
			c := n.lits[s.text]
			if c == nil {
				c = &node{}
				n.lits[s.text] = c
			}
			n = c
		case segWild:
			if n.wild == nil {
				n.wild = &node{}
			}
			n = n.wild
		case segMulti:
			n.multi = rt
			return
		}
		if i == len(rt.segs)-1 {
			n.route = rt
		}
	}
}

// Match finds the route of path, the request's escaped path
// (URL.EscapedPath()) or its decoded form when it holds no escapes.
// Literal routes beat wildcards as in Go's net/http. Wildcard values are
// unescaped; params is nil when the route has none. Paths with empty, "."
// or ".." segments or bad escapes match nothing.
func (m *Matcher) Match(path string) (*Route, map[string]string, bool) {
	return m.MatchMethod(path, "")
}

// MatchMethod is Match for a request method, with Go's net/http
// precedence among routes that serve it: with `POST /items/new` and
// `GET /items/{id}`, a GET of /items/new is served by /items/{id}. When no
// route serves the method, the most specific route of the path is returned
// (its Allow value answers the 405). method "" accepts any route.
func (m *Matcher) MatchMethod(path, method string) (*Route, map[string]string, bool) {
	if m == nil || path == "" || path[0] != '/' {
		return nil, nil, false
	}
	escaped := strings.IndexByte(path, '%') >= 0
	if !escaped {
		if rt, ok := m.literal[path]; ok && rt.has(method) {
			return rt, nil, true
		}
	}
	if !cleanPath(path, escaped) {
		return nil, nil, false
	}
	rt := m.root.match(path, 1, method)
	if rt == nil && method != "" {
		rt = m.root.match(path, 1, "")
	}
	if rt == nil {
		return nil, nil, false
	}
	if rt.params == 0 {
		return rt, nil, true
	}
	params := make(map[string]string, rt.params)
	i := 1
	for _, s := range rt.segs {
		if s.kind == segMulti {
			params[s.text] = unescape(path[i:], escaped)
			break
		}
		seg := path[i:]
		if j := strings.IndexByte(seg, '/'); j >= 0 {
			seg = seg[:j]
		}
		if s.kind == segWild {
			params[s.text] = unescape(seg, escaped)
		}
		i += len(seg) + 1
	}
	return rt, params, true
}

// has reports whether the route serves method ("" = any).
func (rt *Route) has(method string) bool {
	return rt != nil && (method == "" || rt.Methods[method] != nil)
}

func (n *node) match(path string, i int, method string) *Route {
	seg := path[i:]
	j := strings.IndexByte(seg, '/')
	more := j >= 0
	if more {
		seg = seg[:j]
	}
	next := i + len(seg) + 1
	if seg != "" {
		key := seg
		if strings.IndexByte(seg, '%') >= 0 {
			key = unescape(seg, true)
		}
		if c := n.lits[key]; c != nil {
			if rt := c.descend(path, next, more, method); rt != nil {
				return rt
			}
		}
		if n.wild != nil {
			if rt := n.wild.descend(path, next, more, method); rt != nil {
				return rt
			}
		}
	}
	if n.multi.has(method) {
		return n.multi
	}
	return nil
}

func (n *node) descend(path string, i int, more bool, method string) *Route {
	if !more {
		if n.route.has(method) {
			return n.route
		}
		return nil
	}
	return n.match(path, i, method)
}

// cleanPath refuses empty (except a trailing one), "." and ".." segments,
// escaped ones included, and malformed escapes.
func cleanPath(path string, escaped bool) bool {
	rest := path[1:]
	for {
		seg := rest
		j := strings.IndexByte(rest, '/')
		if j >= 0 {
			seg = rest[:j]
		}
		if escaped && strings.IndexByte(seg, '%') >= 0 {
			u, err := url.PathUnescape(seg)
			if err != nil {
				return false
			}
			seg = u
		}
		switch {
		case seg == "." || seg == "..":
			return false
		case seg == "" && j >= 0:
			return false
		}
		if j < 0 {
			return true
		}
		rest = rest[j+1:]
	}
}

func unescape(s string, escaped bool) string {
	if !escaped || strings.IndexByte(s, '%') < 0 {
		return s
	}
	u, err := url.PathUnescape(s)
	if err != nil {
		return s
	}
	return u
}
