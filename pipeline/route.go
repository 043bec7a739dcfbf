package pipeline

import (
	"net/http"
	"strings"

	"github.com/caddy-endpoint/endpoint/registry"
)

// routeOf is the route rule: the pattern of m that matches r's path and
// serves its method (HEAD as GET; OPTIONS any route of the path).
func routeOf(r *http.Request, m *registry.Matcher) (*registry.Route, map[string]string, bool) {
	method := r.Method
	switch method {
	case http.MethodHead:
		method = http.MethodGet
	case http.MethodOptions:
		method = ""
	}
	return m.MatchMethod(r.URL.EscapedPath(), method)
}

// method is the method rule: a CORS preflight or a plain OPTIONS on a
// CORS route is answered here, a method the route does not serve gets 405
// with Allow. It reports whether it answered; otherwise c.entry is set.
func (p *Pipeline) method(c *call) bool {
	r, w, route := c.r, c.w, c.route
	method := r.Method
	if method == http.MethodHead {
		method = http.MethodGet
	}
	origin := r.Header.Get("Origin")
	if routeHasCORS(route) {
		// every answer of a CORS route depends on Origin, errors included
		w.Header().Add("Vary", "Origin")
	}
	if r.Method == http.MethodOptions {
		if origin != "" && preflight(w, r, route, origin) {
			return true
		}
		if routeHasCORS(route) {
			// a plain OPTIONS on a CORS endpoint says what it allows
			w.Header().Set("Allow", allow(route))
			w.WriteHeader(http.StatusNoContent)
			return true
		}
	}
	entry := route.Methods[method]
	if entry == nil {
		if e := allowing(route, origin); e != nil {
			// a browser may read the 405 where it may call the route
			corsHeaders(w.Header(), e, origin)
		}
		w.Header().Set("Allow", allow(route))
		writeError(w, http.StatusMethodNotAllowed, "method not allowed")
		// counted for the record serving the route's first method
		if served := route.ServedMethods(); len(served) > 0 {
			c.notAllowed = route.Methods[served[0]]
		}
		return true
	}
	c.entry = entry
	if allowsOrigin(entry, origin) {
		corsHeaders(w.Header(), entry, origin)
	}
	return false
}

// allowing is the entry of route, in the order of its methods, that
// allows origin; nil when none does.
func allowing(route *registry.Route, origin string) *registry.Entry {
	for _, m := range route.ServedMethods() {
		if e := route.Methods[m]; allowsOrigin(e, origin) {
			return e
		}
	}
	return nil
}

// allow is the Allow header of a route: its methods, HEAD with GET,
// OPTIONS when it has CORS.
func allow(route *registry.Route) string {
	served := route.ServedMethods()
	parts := make([]string, 0, len(served)+2)
	for _, m := range served {
		parts = append(parts, m)
		if m == http.MethodGet {
			parts = append(parts, http.MethodHead)
		}
	}
	if routeHasCORS(route) {
		parts = append(parts, http.MethodOptions)
	}
	return strings.Join(parts, ", ")
}
