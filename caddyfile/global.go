// Package caddyfile adapts the Caddyfile forms of caddy-endpoint: the global
// option `endpoint { … }`, which becomes the `endpoint` app, and the body of
// the handler directive `endpoint`, which the root package registers.
//
// It fills the app's own config types (package config) and checks the
// syntax only: what the values mean is checked once, when the app
// provisions, and `caddy validate` reports it.
package caddyfile

import (
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/dustin/go-humanize"

	"github.com/caddy-endpoint/endpoint/config"
	"github.com/caddy-endpoint/endpoint/env"
	"github.com/caddy-endpoint/endpoint/pipeline"
	"github.com/caddy-endpoint/endpoint/registry"
)

// AppName is the name of the Caddy app the global option configures.
const AppName = "endpoint"

func init() {
	httpcaddyfile.RegisterGlobalOption(AppName, parseGlobal)
}

// parseGlobal sets up the endpoint app from the global option:
//
//	endpoint {
//		sync_interval <duration>
//		max_body_size <size>
//		max_steps     <n>
//		max_memory    <size>
//		max_concurrency <n>
//		timeout       <duration>
//		keep_revisions <n>
//		exec_mode <name> [{ <the module's own options> }]
//		store_max_keys  <n>
//		store_max_bytes <size>
//		secret <name> <value>
//		user <name> {
//			password   <bcrypt hash>
//			token_hash sha256:<hex>
//			role  <role>...
//			grant store  <namespace> read|write
//			grant secret <name>...
//			grant http   <host>...
//		}
//		define <name> {
//			route        <path>...
//			group        <route group>
//			method       GET|POST|PUT|PATCH|DELETE...
//			content_type <media type>
//			auth         user|bearer|public
//			exec_as      <user>
//			roles        <role>...
//			exec_mode    <name>
//			code         <snippet>
//			code_file    <path>
//			schema       <schema>
//			schema_file  <path>
//			cors         <origin>...
//			example      <name> { method, path, header, query, body, status, expect_header, json, expect_body }
//			inactive
//		}
//	}
//
// The option may appear more than once; the blocks are merged, and a name or
// setting given twice is an error.
func parseGlobal(d *caddyfile.Dispenser, existing any) (any, error) {
	cfg := new(config.App)
	if existing != nil {
		app, ok := existing.(httpcaddyfile.App)
		if !ok {
			return nil, fmt.Errorf("merging endpoint options: unexpected existing value of type %T", existing)
		}
		if err := json.Unmarshal(app.Value, cfg); err != nil {
			return nil, fmt.Errorf("merging endpoint options: %v", err)
		}
	}
	if err := unmarshalGlobal(d, cfg); err != nil {
		return nil, err
	}
	return httpcaddyfile.App{Name: AppName, Value: caddyconfig.JSON(cfg, nil)}, nil
}

func unmarshalGlobal(d *caddyfile.Dispenser, cfg *config.App) error {
	d.Next() // the option name
	if d.NextArg() {
		return d.Errf("endpoint takes no arguments, only a block")
	}
	for d.NextBlock(0) {
		option := d.Val()
		var err error
		switch option {
		case "sync_interval":
			err = parseDurationOnce(d, &cfg.SyncInterval)
		case "timeout":
			err = parseDurationOnce(d, &cfg.Timeout)
		case "max_body_size":
			err = parseSizeOnce(d, "max_body_size", &cfg.MaxBodySize)
		case "max_steps":
			err = parseMaxSteps(d, cfg)
		case "max_memory":
			err = parseSizeOnce(d, "max_memory", &cfg.MaxMemory)
		case "max_concurrency":
			err = parseCountOnce(d, "max_concurrency", &cfg.MaxConcurrency)
		case "keep_revisions":
			err = parseCountOnce(d, "keep_revisions", &cfg.KeepRevisions)
		case "exec_mode":
			err = parseExecMode(d, cfg)
		case "store_max_keys":
			err = parseCountOnce(d, "store_max_keys", &cfg.StoreMaxKeys)
		case "store_max_bytes":
			err = parseSizeOnce(d, "store_max_bytes", &cfg.StoreMaxBytes)
		case "secret":
			err = parseSecret(d, cfg)
		case "user":
			err = parseUser(d, cfg)
		case "define":
			err = parseDefine(d, cfg)
		default:
			return d.Errf("unrecognized endpoint option %q", option)
		}
		if err != nil {
			return err
		}
		if option != "user" && option != "define" && option != "exec_mode" {
			if err := noBlock(d, option); err != nil {
				return err
			}
		}
	}
	return nil
}

// oneArg reads the single argument of the current subdirective.
func oneArg(d *caddyfile.Dispenser) (string, error) {
	name := d.Val()
	if !d.NextArg() {
		return "", d.Errf("%s: missing argument", name)
	}
	v := d.Val()
	if d.NextArg() {
		return "", d.Errf("%s: takes one argument, got extra %q", name, d.Val())
	}
	return v, nil
}

// argsAtLeastOne reads the arguments of the current subdirective, which
// must have at least one.
func argsAtLeastOne(d *caddyfile.Dispenser) ([]string, error) {
	name := d.Val()
	args := d.RemainingArgs()
	if len(args) == 0 {
		return nil, d.Errf("%s: missing argument", name)
	}
	return args, nil
}

// noArgs checks that a flag subdirective has no arguments.
func noArgs(d *caddyfile.Dispenser) error {
	name := d.Val()
	if d.NextArg() {
		return d.Errf("%s: takes no arguments, got %q", name, d.Val())
	}
	return nil
}

// noBlock refuses a block after a subdirective that takes none.
func noBlock(d *caddyfile.Dispenser, name string) error {
	if d.NextBlock(d.Nesting()) {
		return d.Errf("%s: takes no block", name)
	}
	return nil
}

// stringOnce sets *dst from the single argument, refusing a second setting.
func stringOnce(d *caddyfile.Dispenser, dst *string) error {
	name := d.Val()
	v, err := oneArg(d)
	if err != nil {
		return err
	}
	if *dst != "" {
		return d.Errf("%s: already set", name)
	}
	if v == "" {
		return d.Errf("%s: empty value", name)
	}
	*dst = v
	return nil
}

func parseDurationOnce(d *caddyfile.Dispenser, dst *caddy.Duration) error {
	name := d.Val()
	v, err := oneArg(d)
	if err != nil {
		return err
	}
	if *dst != 0 {
		return d.Errf("%s: already set", name)
	}
	dur, err := caddy.ParseDuration(v)
	if err != nil {
		return d.Errf("%s: parsing duration %q: %v", name, v, err)
	}
	if dur <= 0 {
		return d.Errf("%s: must be positive, got %q", name, v)
	}
	*dst = caddy.Duration(dur)
	return nil
}

// parseExecMode adds an exec mode: the module endpoint.exec_modes.<name>,
// configured by its own Caddyfile block when it reads one. Naming exec
// modes replaces the default set (code only).
func parseExecMode(d *caddyfile.Dispenser, cfg *config.App) error {
	if !d.NextArg() {
		return d.Err("exec_mode: missing name")
	}
	name := d.Val()
	if _, dup := cfg.ExecModesRaw[name]; dup {
		return d.Errf("exec_mode %s: already set", name)
	}
	var raw json.RawMessage = json.RawMessage("{}")
	info, err := caddy.GetModule("endpoint.exec_modes." + name)
	if err != nil {
		return d.Errf("exec_mode %s: %v", name, err)
	}
	if _, ok := info.New().(caddyfile.Unmarshaler); ok {
		mod, err := caddyfile.UnmarshalModule(d, string(info.ID))
		if err != nil {
			return err
		}
		raw = caddyconfig.JSON(mod, nil)
	} else if d.NextArg() {
		return d.Errf("exec_mode %s: takes no more arguments", name)
	} else if err := noBlock(d, "exec_mode "+name); err != nil {
		return err
	}
	if cfg.ExecModesRaw == nil {
		cfg.ExecModesRaw = caddy.ModuleMap{}
	}
	cfg.ExecModesRaw[name] = raw
	return nil
}

// parseSizeOnce reads a positive size in bytes as Caddy's request_body
// max_size does (go-humanize): 1MB is 1000000 bytes, 1MiB is 1048576, a
// bare number is bytes.
func parseSizeOnce(d *caddyfile.Dispenser, option string, dst *int64) error {
	v, err := oneArg(d)
	if err != nil {
		return err
	}
	if *dst != 0 {
		return d.Errf("%s: already set", option)
	}
	size, err := humanize.ParseBytes(v)
	if err != nil {
		return d.Errf("%s: parsing size %q: %v", option, v, err)
	}
	if size == 0 {
		return d.Errf("%s: must be positive, got %q", option, v)
	}
	if size > math.MaxInt64 {
		return d.Errf("%s: %q is too large", option, v)
	}
	*dst = int64(size)
	return nil
}

// parseCountOnce reads a positive whole number.
func parseCountOnce(d *caddyfile.Dispenser, option string, dst *int) error {
	v, err := oneArg(d)
	if err != nil {
		return err
	}
	if *dst != 0 {
		return d.Errf("%s: already set", option)
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return d.Errf("%s: %q is not a positive whole number", option, v)
	}
	*dst = n
	return nil
}

func parseMaxSteps(d *caddyfile.Dispenser, cfg *config.App) error {
	v, err := oneArg(d)
	if err != nil {
		return err
	}
	if cfg.MaxSteps != 0 {
		return d.Err("max_steps: already set")
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return d.Errf("max_steps: %q is not a whole number", v)
	}
	if n == 0 {
		return d.Err("max_steps: must be positive")
	}
	cfg.MaxSteps = n
	return nil
}

func parseSecret(d *caddyfile.Dispenser, cfg *config.App) error {
	var name, value string
	if !d.Args(&name, &value) || d.NextArg() {
		return d.Err("secret: want exactly a name and a value")
	}
	if _, dup := cfg.Secrets[name]; dup {
		return d.Errf("secret %q: defined twice", name)
	}
	if cfg.Secrets == nil {
		cfg.Secrets = make(map[string]string)
	}
	cfg.Secrets[name] = value
	return nil
}

func parseUser(d *caddyfile.Dispenser, cfg *config.App) error {
	name, err := oneArg(d)
	if err != nil {
		return err
	}
	if _, dup := cfg.Users[name]; dup {
		return d.Errf("user %q: defined twice", name)
	}
	u := new(pipeline.User)
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		sub := d.Val()
		var err error
		switch sub {
		case "password":
			err = stringOnce(d, &u.Password)
		case "token_hash":
			err = stringOnce(d, &u.TokenHash)
		case "role":
			err = appendArgs(d, &u.Roles)
		case "grant":
			err = parseGrant(d, u)
		default:
			return d.Errf("user %q: unrecognized option %q", name, sub)
		}
		if err == nil {
			err = noBlock(d, sub)
		}
		if err != nil {
			return err
		}
	}
	if cfg.Users == nil {
		cfg.Users = make(map[string]*pipeline.User)
	}
	cfg.Users[name] = u
	return nil
}

func parseGrant(d *caddyfile.Dispenser, u *pipeline.User) error {
	args := d.RemainingArgs()
	if len(args) == 0 {
		return d.Err("grant: missing kind: want store, secret or http")
	}
	if u.Grants == nil {
		u.Grants = new(env.Grants)
	}
	g := u.Grants
	switch kind, rest := args[0], args[1:]; kind {
	case "store":
		if len(rest) != 2 {
			return d.Err("grant store: want a namespace and read or write")
		}
		ns, level := rest[0], rest[1]
		if _, dup := g.Store[ns]; dup {
			return d.Errf("grant store %s: granted twice", ns)
		}
		if g.Store == nil {
			g.Store = make(map[string]string)
		}
		g.Store[ns] = level
	case "secret":
		if len(rest) == 0 {
			return d.Err("grant secret: missing secret name")
		}
		g.Secrets = appendNew(g.Secrets, rest...)
	case "http":
		if len(rest) == 0 {
			return d.Err("grant http: missing host")
		}
		g.HTTP = appendNew(g.HTTP, rest...)
	default:
		return d.Errf("grant: unknown kind %q: want store, secret or http", kind)
	}
	return nil
}

// parseDefine adds a declared endpoint. It reads the block's syntax; the
// record's rules (routes, methods, auth, files) are checked once, when
// the app provisions the declared endpoints.
func parseDefine(d *caddyfile.Dispenser, cfg *config.App) error {
	name, err := oneArg(d)
	if err != nil {
		return err
	}
	for _, e := range cfg.Endpoints {
		if e.Name == name {
			return d.Errf("define %q: defined twice", name)
		}
	}
	e := &config.DeclaredEndpoint{Record: registry.Record{Name: name}}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		sub := d.Val()
		if sub == "example" {
			ex, err := parseExample(d)
			if err != nil {
				return err
			}
			e.Examples = append(e.Examples, ex)
			continue
		}
		known, err := parseDefineOption(d, e, sub)
		if !known {
			return d.Errf("define %q: unrecognized option %q", name, sub)
		}
		if err == nil {
			err = noBlock(d, sub)
		}
		if err != nil {
			return err
		}
	}
	cfg.Endpoints = append(cfg.Endpoints, e)
	return nil
}

// parseDefineOption reads the option sub of a define block into e;
// known is false for an option define does not have.
func parseDefineOption(d *caddyfile.Dispenser, e *config.DeclaredEndpoint, sub string) (known bool, err error) {
	switch sub {
	case "route":
		return true, listOnce(d, &e.Route, &e.Routes)
	case "group":
		return true, stringOnce(d, &e.RouteGroup)
	case "method":
		return true, parseMethods(d, e)
	case "content_type":
		return true, stringOnce(d, &e.RequestContentType)
	case "auth":
		return true, stringOnce(d, &e.AuthType)
	case "exec_as":
		return true, stringOnce(d, &e.ExecAsUser)
	case "roles":
		return true, appendArgs(d, &e.AllowedRoles)
	case "exec_mode":
		return true, stringOnce(d, &e.ExecMode)
	case "code":
		return true, stringOnce(d, &e.CodeSnippet)
	case "code_file":
		return true, pathOnce(d, &e.CodeFile)
	case "schema":
		return true, stringOnce(d, &e.RequestContentSchema)
	case "schema_file":
		return true, pathOnce(d, &e.SchemaFile)
	case "cors":
		return true, appendArgs(d, &e.CORSOrigins)
	case "inactive":
		return true, parseInactive(d, e)
	}
	return false, nil
}

// parseMethods reads the methods of a define block, in upper case as the
// record spells them (the Caddyfile takes any case).
func parseMethods(d *caddyfile.Dispenser, e *config.DeclaredEndpoint) error {
	if err := listOnce(d, &e.RequestMethod, &e.RequestMethods); err != nil {
		return err
	}
	e.RequestMethod = strings.ToUpper(e.RequestMethod)
	for i, m := range e.RequestMethods {
		e.RequestMethods[i] = strings.ToUpper(m)
	}
	return nil
}

// parseInactive reads the flag that archives a declared endpoint.
func parseInactive(d *caddyfile.Dispenser, e *config.DeclaredEndpoint) error {
	if err := noArgs(d); err != nil {
		return err
	}
	if e.Active != nil {
		return d.Err("inactive: already set")
	}
	inactive := false
	e.Active = &inactive
	return nil
}

// appendArgs adds the one or more arguments of the current subdirective
// to *list, each once.
func appendArgs(d *caddyfile.Dispenser, list *[]string) error {
	values, err := argsAtLeastOne(d)
	if err != nil {
		return err
	}
	*list = appendNew(*list, values...)
	return nil
}

// listOnce reads the one or more arguments of the current subdirective:
// one goes to *one (the JSON shorthand), several to *list.
func listOnce(d *caddyfile.Dispenser, one *string, list *[]string) error {
	name := d.Val()
	if *one != "" || *list != nil {
		return d.Errf("%s: already set", name)
	}
	args := d.RemainingArgs()
	switch len(args) {
	case 0:
		return d.Errf("%s: missing argument", name)
	case 1:
		*one = args[0]
	default:
		*list = args
	}
	return nil
}

// pathOnce sets *dst to the single argument, made absolute against the
// directory of the Caddyfile that holds it, so that the config works
// wherever caddy is started. The file itself is read by the app.
func pathOnce(d *caddyfile.Dispenser, dst *string) error {
	name := d.Val()
	if err := stringOnce(d, dst); err != nil {
		return err
	}
	p := *dst
	if !filepath.IsAbs(p) {
		p = filepath.Join(filepath.Dir(d.File()), p)
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return d.Errf("%s: resolving %q: %v", name, *dst, err)
	}
	*dst = abs
	return nil
}

// appendNew appends the values not yet in list.
func appendNew(list []string, values ...string) []string {
	for _, v := range values {
		if !slices.Contains(list, v) {
			list = append(list, v)
		}
	}
	return list
}
