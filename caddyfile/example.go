package caddyfile

import (
	"encoding/json"
	"strconv"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/caddy-endpoint/endpoint/registry"
)

// parseExample reads one example of a define block:
//
//	example <name> {
//		method  <method>
//		path    <path>
//		header  <name> <value>
//		query   <name> <value>
//		body    <text>
//		status  <code>
//		expect_header <name> <value>
//		json    <JSON the answer must hold, as a subset>
//		expect_body <text the answer must equal>
//	}
//
// The registry checks the example against the record (a known status,
// the method served, a path matching a route, at most 32) when the config
// loads.
func parseExample(d *caddyfile.Dispenser) (registry.Example, error) {
	var ex registry.Example
	name, err := oneArg(d)
	if err != nil {
		return ex, err
	}
	ex.Name = name
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		sub := d.Val()
		var err error
		switch sub {
		case "method":
			err = stringOnce(d, &ex.Request.Method)
		case "path":
			err = stringOnce(d, &ex.Request.Path)
		case "header":
			err = pairInto(d, &ex.Request.Headers)
		case "query":
			err = pairInto(d, &ex.Request.Query)
		case "body":
			var body string
			if body, err = oneArg(d); err == nil {
				ex.Request.Body, err = json.Marshal(body)
			}
		case "status":
			var s string
			if s, err = oneArg(d); err == nil {
				ex.Expect.Status, err = strconv.Atoi(s)
				if err != nil {
					err = d.Errf("status: %q is not a number", s)
				}
			}
		case "expect_header":
			err = pairInto(d, &ex.Expect.Headers)
		case "json":
			var v string
			if v, err = oneArg(d); err == nil {
				if !json.Valid([]byte(v)) {
					err = d.Errf("json: %q is not valid JSON", v)
				}
				ex.Expect.JSON = json.RawMessage(v)
			}
		case "expect_body":
			var v string
			if v, err = oneArg(d); err == nil {
				ex.Expect.Body = &v
			}
		default:
			err = d.Errf("example %q: unrecognized option %q", name, sub)
		}
		if err == nil {
			err = noBlock(d, sub)
		}
		if err != nil {
			return ex, err
		}
	}
	return ex, nil
}

// pairInto reads "<name> <value>" into *m, refusing a name given twice.
func pairInto(d *caddyfile.Dispenser, m *map[string]string) error {
	sub := d.Val()
	args := d.RemainingArgs()
	if len(args) != 2 {
		return d.Errf("%s: takes a name and a value", sub)
	}
	if *m == nil {
		*m = map[string]string{}
	}
	if _, dup := (*m)[args[0]]; dup {
		return d.Errf("%s %q: already set", sub, args[0])
	}
	(*m)[args[0]] = args[1]
	return nil
}
