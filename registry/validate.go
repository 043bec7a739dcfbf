package registry

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// NamePattern is the rule of a record name.
const NamePattern = `^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`

var nameRE = regexp.MustCompile(NamePattern)

// Request methods a record may serve.
var methods = []string{"GET", "POST", "PUT", "DELETE"}

// Media types a record may require.
var contentTypes = []string{
	"text/plain",
	"text/csv",
	"application/json",
	"application/xml",
	"application/x-www-form-urlencoded",
}

const (
	maxGroupLen = 64
	maxRoleLen  = 256
)

// ValidName reports whether name is a valid record name.
func ValidName(name string) bool { return nameRE.MatchString(name) }

// normalize fills the defaults of a record and drops empty lists, so that two
// records meaning the same compare equal.
func normalize(rec *Record) {
	if rec.AuthType == "" {
		rec.AuthType = AuthUser
	}
	if rec.RequestMethod == "" {
		rec.RequestMethod = "GET"
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
		add("name", "must match %s", NamePattern)
	}

	if _, probs := parsePattern(rec.Route); len(probs) > 0 {
		for _, p := range probs {
			add("route", "%s", p)
		}
	}

	if n := utf8.RuneCountInString(rec.RouteGroup); n > maxGroupLen {
		add("route_group", "must be at most %d characters", maxGroupLen)
	} else if !printable(rec.RouteGroup) {
		add("route_group", "must hold printable characters only")
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

	methodOK := slices.Contains(methods, rec.RequestMethod)
	if !methodOK {
		add("request_method", "must be one of GET, POST, PUT, DELETE")
	}
	withBody := rec.RequestMethod == "POST" || rec.RequestMethod == "PUT"

	switch {
	case rec.RequestContentType == "" && withBody:
		add("request_content_type", "is required for %s", rec.RequestMethod)
	case rec.RequestContentType != "" && !slices.Contains(contentTypes, rec.RequestContentType):
		add("request_content_type", "must be one of %s", strings.Join(contentTypes, ", "))
	}

	if rec.RequestContentSchema != "" {
		ct := rec.RequestContentType
		if !withBody || (ct != "application/json" && ct != "application/xml") {
			add("request_content_schema", "is only allowed for POST or PUT with application/json or application/xml")
		}
	}

	if _, probs := parsePattern(rec.Route); len(probs) == 0 && methodOK {
		ds = append(ds, checkExamples(rec)...)
	}

	for i, o := range rec.CORSOrigins {
		if msg := checkOrigin(o); msg != "" {
			add(fmt.Sprintf("cors_origins[%d]", i), "%s", msg)
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
