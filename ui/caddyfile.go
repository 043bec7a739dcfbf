package ui

import (
	"encoding/json"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

func init() {
	httpcaddyfile.RegisterDirective("endpoint_ui", parseCaddyfile)
	// after the authentication handlers, so that {http.auth.user.id} is set
	httpcaddyfile.RegisterDirectiveOrder("endpoint_ui", httpcaddyfile.After, "forward_auth")
}

// parseCaddyfile sets up the handler from Caddyfile tokens:
//
//	endpoint_ui [<path prefix>] {
//		allow_unauthenticated
//	}
//
// The prefix is a path, not a matcher: the route answers the prefix and
// everything under it.
func parseCaddyfile(h httpcaddyfile.Helper) ([]httpcaddyfile.ConfigValue, error) {
	handler := new(Handler)
	if err := handler.UnmarshalCaddyfile(h.Dispenser); err != nil {
		return nil, err
	}
	var matchers caddy.ModuleMap
	if p := normalPrefix(handler.Prefix); p != "/" {
		m, err := json.Marshal(caddyhttp.MatchPath{strings.TrimSuffix(p, "/"), p + "*"})
		if err != nil {
			return nil, err
		}
		matchers = caddy.ModuleMap{"path": m}
	}
	return h.NewRoute(matchers, handler), nil
}

// UnmarshalCaddyfile reads the directive into h.
func (h *Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // the directive name
	if d.NextArg() {
		h.Prefix = d.Val()
		if !strings.HasPrefix(h.Prefix, "/") {
			return d.Errf("endpoint_ui: the prefix %q must start with /", h.Prefix)
		}
		if strings.ContainsAny(h.Prefix, "*?#") {
			return d.Errf("endpoint_ui: the prefix %q must be a plain path, not a matcher", h.Prefix)
		}
	}
	if d.NextArg() {
		return d.ArgErr()
	}
	for d.NextBlock(0) {
		switch d.Val() {
		case "allow_unauthenticated":
			if d.NextArg() {
				return d.ArgErr()
			}
			if h.AllowUnauthenticated {
				return d.Err("allow_unauthenticated: already set")
			}
			h.AllowUnauthenticated = true
		default:
			return d.Errf("endpoint_ui: unrecognized option %q", d.Val())
		}
	}
	return nil
}

// Interface guard
var _ caddyfile.Unmarshaler = (*Handler)(nil)
