package registry

import (
	"time"

	"github.com/caddy-endpoint/endpoint/execmode"
)

// Auth types of a record.
const (
	AuthUser   = "user"
	AuthBearer = "bearer"
	AuthPublic = "public"
)

// Sync states reported for a record.
const (
	StateInSync = "in_sync"
	StateToSync = "to_sync"
)

// Record is one endpoint: one or more routes and request methods served by
// one exec mode. Its JSON form is the admin API's and the app config's.
type Record struct {
	// Name is the record's key: ^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$.
	Name string `json:"name"`
	// Routes are 1 to 16 absolute path patterns, each with optional
	// {param} segments and a trailing {rest...}. Required.
	Routes []string `json:"routes,omitempty"`
	// Route is a write shorthand for Routes with one pattern; a record
	// gives one or the other, never both. Reads return Routes.
	Route string `json:"route,omitempty"`
	// RouteGroup is a free tag (at most 64 characters); handlers may serve
	// only some groups. Default "".
	RouteGroup string `json:"route_group,omitempty"`
	// AuthType is user (default), bearer or public.
	AuthType string `json:"auth_type,omitempty"`
	// ExecAsUser names a configured user the program runs as; required
	// when AuthType is public.
	ExecAsUser string `json:"exec_as_user,omitempty"`
	// AllowedRoles, when set, requires the caller to hold one of them.
	AllowedRoles []string `json:"allowed_roles,omitempty"`
	// RequestMethods are the methods served, each of GET, POST, PUT,
	// PATCH, DELETE at most once. Default ["GET"].
	RequestMethods []string `json:"request_methods,omitempty"`
	// RequestMethod is a write shorthand for RequestMethods with one
	// method; never both. Reads return RequestMethods.
	RequestMethod string `json:"request_method,omitempty"`
	// RequestContentType is the required media type of the request body
	// of the body methods (POST, PUT, PATCH); required when the record
	// serves one.
	RequestContentType string `json:"request_content_type,omitempty"`
	// RequestContentSchema is a JSON Schema (JSON or YAML) for
	// application/json or an XSD for application/xml, applied to the
	// bodies of POST, PUT and PATCH requests.
	RequestContentSchema string `json:"request_content_schema,omitempty"`
	// ExecMode names the exec mode; default "code".
	ExecMode string `json:"exec_mode,omitempty"`
	// CodeSnippet is the Starlark program of exec mode code.
	CodeSnippet string `json:"code_snippet,omitempty"`
	// CORSOrigins are the browser origins allowed to call the endpoint
	// ("*" allowed); empty means no CORS headers.
	CORSOrigins []string `json:"cors_origins,omitempty"`
	// Active is false for an archived record; default true.
	Active *bool `json:"active,omitempty"`
	// Examples (at most 32) are requests with their expected answers:
	// they document the endpoint and run before it is published.
	Examples []Example `json:"examples,omitempty"`

	// SyncState is read-only: in_sync or to_sync.
	SyncState string `json:"sync_state,omitempty"`
	// Version is read-only: +1 on every change.
	Version int64 `json:"version,omitempty"`
	// UpdatedAt is read-only: the time of the last change.
	UpdatedAt *time.Time `json:"updated_at,omitempty"`
}

// recordRoutes returns the route patterns of a normalized record.
func recordRoutes(rec *Record) []string { return rec.Routes }

// recordMethods returns the request methods a normalized record serves.
func recordMethods(rec *Record) []string { return rec.RequestMethods }

// BodyMethod reports whether requests of method carry a body the record's
// content type and schema apply to.
func BodyMethod(method string) bool {
	return method == "POST" || method == "PUT" || method == "PATCH"
}

// TakesBody reports whether the record serves a body method.
func (r *Record) TakesBody() bool {
	for _, m := range r.RequestMethods {
		if BodyMethod(m) {
			return true
		}
	}
	return BodyMethod(r.RequestMethod)
}

// IsActive reports whether the record is served once published.
func (r *Record) IsActive() bool { return r.Active == nil || *r.Active }

// view is the record as its exec mode sees it; normalize must have run.
func (r *Record) view() *execmode.Endpoint {
	return &execmode.Endpoint{
		Name:               r.Name,
		Route:              first(r.Routes),
		Routes:             r.Routes,
		RouteGroup:         r.RouteGroup,
		AuthType:           r.AuthType,
		ExecAsUser:         r.ExecAsUser,
		AllowedRoles:       r.AllowedRoles,
		RequestMethod:      first(r.RequestMethods),
		RequestMethods:     r.RequestMethods,
		RequestContentType: r.RequestContentType,
		ExecMode:           r.ExecMode,
		CodeSnippet:        r.CodeSnippet,
		CORSOrigins:        r.CORSOrigins,
		Active:             r.IsActive(),
		Version:            r.Version,
	}
}

func first(list []string) string {
	if len(list) == 0 {
		return ""
	}
	return list[0]
}
