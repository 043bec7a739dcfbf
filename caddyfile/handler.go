package caddyfile

import (
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/caddy-endpoint/endpoint/registry"
)

// ParseHandler parses the handler directive:
//
//	endpoint [<route_group>...] {
//		pass_thru
//	}
//
// d is positioned before the directive name, as UnmarshalCaddyfile receives
// it. No groups means every group is served. A group that looks like a
// matcher (starts with /, * or @) is taken as a matcher by Caddy before this
// runs.
func ParseHandler(d *caddyfile.Dispenser) (routeGroups []string, passThru bool, err error) {
	d.Next() // the directive name
	for d.NextArg() {
		g := d.Val()
		if !registry.ValidRouteGroup(g) {
			return nil, false, d.Errf("route group %q: not a route group a record may have (at most %d printable characters)", g, registry.MaxRouteGroupLen)
		}
		routeGroups = appendNew(routeGroups, g)
	}
	for d.NextBlock(0) {
		switch sub := d.Val(); sub {
		case "pass_thru":
			if err := noArgs(d); err != nil {
				return nil, false, err
			}
			if passThru {
				return nil, false, d.Err("pass_thru: already set")
			}
			passThru = true
			if err := noBlock(d, sub); err != nil {
				return nil, false, err
			}
		default:
			return nil, false, d.Errf("endpoint handler: unrecognized option %q", sub)
		}
	}
	return routeGroups, passThru, nil
}
