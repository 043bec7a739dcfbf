package pipeline

import (
	"net/http"
	"sort"
	"strings"

	"github.com/caddy-endpoint/endpoint/registry"
)

// hasCORS reports whether the record of e lists cors_origins.
func hasCORS(e *registry.Entry) bool { return len(e.Record.CORSOrigins) > 0 }

// routeHasCORS reports whether a record serving route lists cors_origins.
func routeHasCORS(route *registry.Route) bool {
	for _, e := range route.Methods {
		if hasCORS(e) {
			return true
		}
	}
	return false
}

// allowsOrigin reports whether a browser at origin may call the record of
// e: its cors_origins hold "*" or origin (origins compare without regard
// to case).
func allowsOrigin(e *registry.Entry, origin string) bool {
	if origin == "" {
		return false
	}
	for _, o := range e.Record.CORSOrigins {
		if o == "*" || strings.EqualFold(o, origin) {
			return true
		}
	}
	return false
}

// namesOrigin reports whether the cors_origins of e list origin by name,
// not only through "*".
func namesOrigin(e *registry.Entry, origin string) bool {
	for _, o := range e.Record.CORSOrigins {
		if o != "*" && strings.EqualFold(o, origin) {
			return true
		}
	}
	return false
}

// preflight answers a CORS preflight; false when the route has no CORS
// for origin.
func preflight(w http.ResponseWriter, r *http.Request, route *registry.Route, origin string) bool {
	var methods []string
	var allowed *registry.Entry
	for m, e := range route.Methods {
		if allowsOrigin(e, origin) {
			allowed = e
			methods = append(methods, m)
		}
	}
	if allowed == nil {
		return false
	}
	h := w.Header()
	corsHeaders(h, allowed, origin)
	sort.Strings(methods)
	h.Set("Access-Control-Allow-Methods", strings.Join(methods, ", "))
	if reqHeaders := r.Header.Get("Access-Control-Request-Headers"); reqHeaders != "" {
		h.Set("Access-Control-Allow-Headers", reqHeaders)
	}
	h.Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
	return true
}

// corsHeaders adds the CORS answer for an allowed origin. An origin listed
// by name gets itself back and may send credentials; "*" lets any origin
// read the answer but never with the browser's credentials (cookies,
// cached Basic auth), so a logged-in user's answers stay private.
func corsHeaders(h http.Header, e *registry.Entry, origin string) {
	if namesOrigin(e, origin) {
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Allow-Credentials", "true")
		return
	}
	h.Set("Access-Control-Allow-Origin", "*")
}
