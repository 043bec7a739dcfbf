// Package ui is the management UI handler `http.handlers.endpoint_ui`: the
// browser screens for endpoint records and, under the same prefix, the admin
// API's routes, served in process on a site behind Caddy's own
// authentication.
package ui

import (
	"encoding/json"
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/caddy-endpoint/endpoint/admin"
)

func init() {
	caddy.RegisterModule(Handler{})
}

// ContentSecurityPolicy is sent with every answer: the UI loads nothing but
// its own embedded assets.
const ContentSecurityPolicy = "default-src 'self'"

// Handler serves the management UI and the admin API's routes under Prefix.
// Whoever reaches it holds the admin API's power, so it refuses requests no
// authentication handler identified, writes without the site's own Origin
// or a JSON body, and requests a browser marks as coming from another site.
type Handler struct {
	// Prefix is the path the UI is served under: the screens at Prefix and
	// the admin routes at Prefix + "endpoint/...". Requests outside it go
	// to the next handler. Default: "/".
	Prefix string `json:"prefix,omitempty"`

	// AllowUnauthenticated serves requests that no earlier authentication
	// handler identified ({http.auth.user.id} empty). Only for a site that
	// nothing but the local machine can reach (bound to a loopback
	// address). Default: false.
	AllowUnauthenticated bool `json:"allow_unauthenticated,omitempty"`

	serve  http.Handler
	logger *zap.Logger
}

// CaddyModule returns the Caddy module information.
func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.endpoint_ui",
		New: func() caddy.Module { return new(Handler) },
	}
}

// Provision finds the endpoint app and mounts the admin routes over it.
func (h *Handler) Provision(ctx caddy.Context) error {
	h.logger = ctx.Logger()
	h.Prefix = normalPrefix(h.Prefix)
	app, err := ctx.App("endpoint")
	if err != nil {
		return fmt.Errorf("loading the endpoint app for endpoint_ui: %v", err)
	}
	backend, ok := app.(interface{ AdminBackend() *admin.Backend })
	if !ok {
		return fmt.Errorf("the endpoint app (%T) does not serve the admin API", app)
	}
	mux := http.NewServeMux()
	mux.Handle("/endpoint/", admin.Handler(backend.AdminBackend, source))
	mux.Handle("/", assetServer())
	h.serve = http.StripPrefix(strings.TrimSuffix(h.Prefix, "/"), mux)
	return nil
}

// Validate checks the prefix.
func (h *Handler) Validate() error {
	if strings.ContainsAny(h.Prefix, "*?#") || strings.Contains(h.Prefix, "//") {
		return fmt.Errorf("endpoint_ui prefix %q: want a plain path such as /ops/", h.Prefix)
	}
	return nil
}

// normalPrefix gives p a leading and a trailing slash.
func normalPrefix(p string) string {
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	if !strings.HasSuffix(p, "/") {
		p += "/"
	}
	return p
}

// ServeHTTP guards and serves one request under the prefix.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	if r.URL.Path+"/" == h.Prefix && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		http.Redirect(w, r, h.Prefix, http.StatusPermanentRedirect)
		return nil
	}
	if !strings.HasPrefix(r.URL.Path, h.Prefix) {
		return next.ServeHTTP(w, r)
	}
	hdr := w.Header()
	hdr.Set("Content-Security-Policy", ContentSecurityPolicy)
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("X-Frame-Options", "DENY")
	hdr.Set("Referrer-Policy", "same-origin")
	hdr.Set("Cache-Control", "no-store")
	if status, msg := h.refusal(r); status != 0 {
		if c := h.logger.Check(zap.InfoLevel, "endpoint_ui refused a request"); c != nil {
			c.Write(zap.String("method", r.Method), zap.String("path", r.URL.Path), zap.Int("status", status), zap.String("reason", msg))
		}
		writeError(w, status, msg)
		return nil
	}
	h.serve.ServeHTTP(w, r)
	return nil
}

// refusal says why r is refused (status 0: it is not).
func (h *Handler) refusal(r *http.Request) (int, string) {
	if user(r) == "" && !h.AllowUnauthenticated {
		return http.StatusForbidden, "endpoint_ui: no authenticated user; put an authentication handler such as basic_auth before endpoint_ui"
	}
	// A page of another site may make the browser send requests here, with
	// the user's credentials; only a navigation to the UI is let through.
	switch r.Header.Get("Sec-Fetch-Site") {
	case "cross-site", "same-site":
		if r.Method != http.MethodGet || r.Header.Get("Sec-Fetch-Mode") != "navigate" {
			return http.StatusForbidden, "endpoint_ui: refusing a request made by another site"
		}
	}
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return 0, ""
	}
	if !sameOrigin(r) {
		return http.StatusForbidden, "endpoint_ui: a write needs an Origin header equal to this site's origin"
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || (mt != "application/json" && mt != "application/merge-patch+json") {
		return http.StatusUnsupportedMediaType, "endpoint_ui: a write needs Content-Type: application/json"
	}
	return 0, ""
}

// user is the id an authentication handler set for r, or "".
func user(r *http.Request) string {
	repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	if !ok {
		return ""
	}
	id, _ := repl.GetString("http.auth.user.id")
	return id
}

// source names the caller in the revisions a request makes.
func source(r *http.Request) string {
	if u := user(r); u != "" {
		return "ui:" + u
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return "ui:unauthenticated@" + host
}

// sameOrigin reports whether r's Origin is the origin r was sent to.
func sameOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" || origin == "null" {
		return false
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" || u.Path != "" || u.User != nil {
		return false
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return strings.EqualFold(u.Scheme, scheme) && hostPort(u.Host, scheme) == hostPort(r.Host, scheme)
}

// hostPort lowercases host and gives it its scheme's default port when it
// has none, so "h" and "h:80" compare equal on http.
func hostPort(host, scheme string) string {
	host = strings.ToLower(host)
	h, port, err := net.SplitHostPort(host)
	if err != nil {
		h, port = host, "80"
		if scheme == "https" {
			port = "443"
		}
	}
	return net.JoinHostPort(strings.Trim(h, "[]"), port)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	b, _ := json.Marshal(struct {
		Error string `json:"error"`
	}{msg})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// Interface guards
var (
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddy.Validator             = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
)
