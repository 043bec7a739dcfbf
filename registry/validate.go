package registry

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/caddy-endpoint/endpoint/execmode"
)

// Request methods a record may serve, in their canonical order.
var methods = []string{"GET", "POST", "PUT", "PATCH", "DELETE"}

// maxRoutes bounds the routes of one record.
const maxRoutes = 16

// Media types a record may require.
var contentTypes = []string{
	"text/plain",
	"text/csv",
	"application/json",
	"application/xml",
	"application/x-www-form-urlencoded",
}

// MaxRouteGroupLen is the longest route group, in characters.
const MaxRouteGroupLen = 64

const maxRoleLen = 256

// ValidRouteGroup reports whether g may be a route group: at most
// MaxRouteGroupLen printable characters.
func ValidRouteGroup(g string) bool {
	return utf8.RuneCountInString(g) <= MaxRouteGroupLen && printable(g)
}

// ValidName reports whether name is a valid record name: the names rule
// of exec modes, execmode.NamePattern.
func ValidName(name string) bool { return execmode.ValidName(name) }

// normalize fills the defaults of a record and drops empty lists, so that two
// records meaning the same compare equal.
func normalize(rec *Record) {
	foldShorthands(rec)
	if rec.AuthType == "" {
		rec.AuthType = AuthUser
	}
	if rec.RequestMethods == nil {
		rec.RequestMethods = []string{"GET"}
	}
	if rec.ExecMode == "" {
		rec.ExecMode = "code"
	}
	if rec.Active == nil {
		t := true
		rec.Active = &t
	}
	if len(rec.AllowedRoles) == 0 {
		rec.AllowedRoles = nil
	}
	if len(rec.CORSOrigins) == 0 {
		rec.CORSOrigins = nil
	}
	if len(rec.Examples) == 0 {
		rec.Examples = nil
	}
}

// foldShorthands turns the write shorthands route and request_method into
// the lists, and reports a record that gives both forms of one field.
// Stored records of older releases carry the shorthands; they fold too.
func foldShorthands(rec *Record) []Detail {
	var ds []Detail
	if rec.Route != "" {
		if rec.Routes != nil {
			ds = append(ds, Detail{Field: "route", Message: "give route or routes, not both"})
		} else {
			rec.Routes = []string{rec.Route}
		}
		rec.Route = ""
	}
	if rec.RequestMethod != "" {
		if rec.RequestMethods != nil {
			ds = append(ds, Detail{Field: "request_method", Message: "give request_method or request_methods, not both"})
		} else {
			rec.RequestMethods = []string{rec.RequestMethod}
		}
		rec.RequestMethod = ""
	}
	return ds
}

// checkRoutes checks the route list: 1 to 16 valid patterns, no repeats,
// and no two that conflict with each other (every route serves every
// method of the record).
func checkRoutes(rec *Record) []Detail {
	var ds []Detail
	switch {
	case len(rec.Routes) == 0:
		return []Detail{{Field: "routes", Message: "is required: 1 to 16 route patterns"}}
	case len(rec.Routes) > maxRoutes:
		return []Detail{{Field: "routes", Message: fmt.Sprintf("must hold at most %d routes", maxRoutes)}}
	}
	var ok []routed
	for i, route := range rec.Routes {
		field := fmt.Sprintf("routes[%d]", i)
		p, probs := parsePattern(route)
		for _, pr := range probs {
			ds = append(ds, Detail{Field: field, Message: pr})
		}
		if p == nil {
			continue
		}
		me := routed{rec: rec, pat: p}
		for _, o := range ok {
			if o.pat.raw == p.raw {
				ds = append(ds, Detail{Field: field, Message: fmt.Sprintf("repeats %s", p.raw)})
				break
			}
			if msg := conflict(me, o); msg != "" {
				ds = append(ds, Detail{Field: field, Message: msg})
				break
			}
		}
		ok = append(ok, me)
	}
	return ds
}

// checkMethods checks the method list: known methods, each once.
func checkMethods(rec *Record) []Detail {
	if len(rec.RequestMethods) == 0 {
		return []Detail{{Field: "request_methods", Message: "must hold at least one method"}}
	}
	var ds []Detail
	for i, m := range rec.RequestMethods {
		field := fmt.Sprintf("request_methods[%d]", i)
		switch {
		case !slices.Contains(methods, m):
			ds = append(ds, Detail{Field: field, Message: fmt.Sprintf("%s must be one of %s", strconv.Quote(m), strings.Join(methods, ", "))})
		case slices.Index(rec.RequestMethods, m) < i:
			ds = append(ds, Detail{Field: field, Message: fmt.Sprintf("%s is given twice", m)})
		}
	}
	return ds
}

// checkFields applies every rule that concerns the record alone
// (everything but route conflicts and compilation).
func (c *config) checkFields(rec *Record) []Detail {
	var ds []Detail
	add := func(field, format string, args ...any) {
		ds = append(ds, Detail{Field: field, Message: fmt.Sprintf(format, args...)})
	}

	switch {
	case rec.Name == "":
		add("name", "is required")
	case !ValidName(rec.Name):
		add("name", "must match %s", execmode.NamePattern)
	}

	routeDs := checkRoutes(rec)
	ds = append(ds, routeDs...)

	if !ValidRouteGroup(rec.RouteGroup) {
		add("route_group", "must be at most %d printable characters", MaxRouteGroupLen)
	}

	ds = append(ds, c.checkAuth(rec)...)

	methodDs := checkMethods(rec)
	ds = append(ds, methodDs...)
	ds = append(ds, checkBody(rec)...)

	if len(routeDs) == 0 && len(methodDs) == 0 {
		ds = append(ds, checkExamples(rec)...)
	}

	for i, o := range rec.CORSOrigins {
		if msg := checkOrigin(o); msg != "" {
			add(fmt.Sprintf("cors_origins[%d]", i), "%s", msg)
		}
	}
	return ds
}

// checkAuth checks who may call the record and whom it runs as.
func (c *config) checkAuth(rec *Record) []Detail {
	var ds []Detail
	add := func(field, format string, args ...any) {
		ds = append(ds, Detail{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	switch rec.AuthType {
	case AuthUser, AuthBearer, AuthPublic:
	default:
		add("auth_type", "must be one of user, bearer, public")
	}

	if rec.ExecAsUser != "" {
		if c.userExists == nil || !c.userExists(rec.ExecAsUser) {
			add("exec_as_user", "%s is not a configured user", strconv.Quote(rec.ExecAsUser))
		}
	} else if rec.AuthType == AuthPublic {
		add("exec_as_user", "is required when auth_type is public")
	}

	for i, role := range rec.AllowedRoles {
		if role == "" || len(role) > maxRoleLen || !printable(role) {
			add(fmt.Sprintf("allowed_roles[%d]", i), "must be a non-empty printable string of at most %d bytes", maxRoleLen)
		}
	}
	return ds
}

// checkBody checks the request body rules: a content type for the body
// methods, a schema only for a JSON or XML body.
func checkBody(rec *Record) []Detail {
	var ds []Detail
	add := func(field, format string, args ...any) {
		ds = append(ds, Detail{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	withBody := rec.TakesBody()

	switch {
	case rec.RequestContentType == "" && withBody:
		add("request_content_type", "is required when a body method (POST, PUT, PATCH) is served")
	case rec.RequestContentType != "" && !slices.Contains(contentTypes, rec.RequestContentType):
		add("request_content_type", "must be one of %s", strings.Join(contentTypes, ", "))
	}

	if rec.RequestContentSchema != "" {
		ct := rec.RequestContentType
		if !withBody || (ct != "application/json" && ct != "application/xml") {
			add("request_content_schema", "is only allowed with a body method (POST, PUT, PATCH) and application/json or application/xml")
		}
	}
	return ds
}

// checkOrigin accepts "*" or a serialized origin scheme://host[:port].
func checkOrigin(o string) string {
	const bad = "must be * or an origin scheme://host[:port]"
	if o == "*" {
		return ""
	}
	if o == "" || len(o) > 512 || !printable(o) || strings.ContainsAny(o, " \\") {
		return bad
	}
	u, err := url.Parse(o)
	if err != nil || u.Scheme == "" || u.Host == "" || u.Opaque != "" || u.User != nil ||
		u.Path != "" || u.RawPath != "" || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" ||
		strings.HasSuffix(o, "#") {
		return bad
	}
	if u.Hostname() == "" {
		return bad
	}
	if port := u.Port(); port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return bad
		}
	} else if strings.HasSuffix(u.Host, ":") {
		return bad
	}
	return ""
}

func printable(s string) bool {
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return utf8.ValidString(s)
}
