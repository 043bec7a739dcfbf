package endpoint

import (
	"fmt"
	"net/http"
	"sync/atomic"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	ecaddyfile "github.com/caddy-endpoint/endpoint/caddyfile"
	"github.com/caddy-endpoint/endpoint/registry"
)

func init() {
	caddy.RegisterModule(Handler{})
	httpcaddyfile.RegisterHandlerDirective("endpoint", parseCaddyfile)
	httpcaddyfile.RegisterDirectiveOrder("endpoint", httpcaddyfile.Before, "respond")
}

// Handler serves the live endpoints of the `endpoint` app.
type Handler struct {
	// RouteGroups limits the handler to endpoints of these route groups.
	// Default: all groups.
	RouteGroups []string `json:"route_groups,omitempty"`

	// PassThru hands a request whose path matches no endpoint to the next
	// handler instead of answering 404. Default: false.
	PassThru bool `json:"pass_thru,omitempty"`

	app    *App
	logger *zap.Logger
	// matcher caches the group matcher of the live table it was made for.
	matcher *atomic.Pointer[tableMatcher]
}

type tableMatcher struct {
	table *registry.Table
	m     *registry.Matcher
}

// CaddyModule returns the Caddy module information.
func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.endpoint",
		New: func() caddy.Module { return new(Handler) },
	}
}

// Provision finds the `endpoint` app.
func (h *Handler) Provision(ctx caddy.Context) error {
	h.logger = ctx.Logger()
	h.matcher = new(atomic.Pointer[tableMatcher])
	app, err := ctx.App("endpoint")
	if err != nil {
		return fmt.Errorf("getting the endpoint app: %v", err)
	}
	h.app = app.(*App)
	return nil
}

func (h *Handler) matcherFor(t *registry.Table) *registry.Matcher {
	if c := h.matcher.Load(); c != nil && c.table == t {
		return c.m
	}
	c := &tableMatcher{table: t, m: t.Matcher(h.RouteGroups)}
	h.matcher.Store(c)
	return c.m
}

// ServeHTTP hands the request to the app's pipeline, with the live
// table's matcher of the handler's route groups.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	table := h.app.Live()
	if h.app.pipeline.Serve(w, r, h.matcherFor(table), table.Revision(), h.PassThru) {
		return nil
	}
	return next.ServeHTTP(w, r)
}

// parseCaddyfile sets up the handler from Caddyfile tokens:
//
//	endpoint [<route_group>...] {
//	    pass_thru
//	}
func parseCaddyfile(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	var hd Handler
	err := hd.UnmarshalCaddyfile(h.Dispenser)
	return &hd, err
}

// UnmarshalCaddyfile implements caddyfile.Unmarshaler.
func (h *Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	groups, passThru, err := ecaddyfile.ParseHandler(d)
	if err != nil {
		return err
	}
	h.RouteGroups, h.PassThru = groups, passThru
	return nil
}

// Interface guards
var (
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
	_ caddyfile.Unmarshaler       = (*Handler)(nil)
)
