package admin

import (
	"errors"
	"net/http"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/caddy-endpoint/endpoint/pipeline"
)

func init() {
	caddy.RegisterModule(API{})
}

// API is the admin API module.
type API struct {
	// calls routes the admin calls; built at Provision.
	calls http.Handler
}

// CaddyModule returns the Caddy module information.
func (API) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "admin.api.endpoint",
		New: func() caddy.Module { return new(API) },
	}
}

// Provision builds the route table of the admin calls.
func (a *API) Provision(caddy.Context) error {
	a.calls = newCalls(activeBackend, writeAdminError)
	return nil
}

// Routes returns the one admin route of the module: every path under
// /endpoint/ is dispatched by the module's own table so that unknown paths
// and methods get JSON errors too.
func (a *API) Routes() []caddy.AdminRoute {
	return []caddy.AdminRoute{{Pattern: "/endpoint/", Handler: caddy.AdminHandlerFunc(a.serve)}}
}

// serve answers an admin call; the calls write their errors themselves.
func (a *API) serve(w http.ResponseWriter, r *http.Request) error {
	a.calls.ServeHTTP(w, r)
	return nil
}

// activeBackend gives a call the app of the running config: the admin
// server is replaced as soon as a new config starts loading, so the
// module's own context may belong to a config that then fails.
func activeBackend(*http.Request) (*Backend, error) {
	app, err := caddy.ActiveContext().AppIfConfigured("endpoint")
	if err != nil {
		return nil, apiErr(http.StatusServiceUnavailable, "the endpoint app is not configured")
	}
	b, ok := app.(backendApp)
	if !ok {
		return nil, apiErr(http.StatusInternalServerError, "the endpoint app does not serve the admin API")
	}
	return b.AdminBackend(), nil
}

// Handler serves the admin routes (the paths under /endpoint/) outside
// Caddy's admin listener, over the same route table: the endpoint_ui
// handler mounts it behind its own guards. backend gives the app's Backend
// per request; source names the caller of a request in the revisions and
// the admin log lines it makes. Errors are written in the admin listener's
// shape, {"error": "..."}.
func Handler(backend func() *Backend, source func(*http.Request) string) http.Handler {
	return newCalls(func(*http.Request) (*Backend, error) {
		b := *backend()
		b.source = source
		return &b, nil
	}, writeAPIError)
}

// handlerFunc answers one admin call.
type handlerFunc func(w http.ResponseWriter, r *http.Request, b *Backend) error

// methods are the handlers of one path by method.
type methods map[string]handlerFunc

// routes are the admin calls by path pattern.
var routes = map[string]methods{
	"/endpoint/endpoints": {
		http.MethodGet:  listEndpoints,
		http.MethodPost: createEndpoint,
	},
	"/endpoint/endpoints/{name}": {
		http.MethodGet:    getEndpoint,
		http.MethodPut:    putEndpoint,
		http.MethodPatch:  patchEndpoint,
		http.MethodDelete: deleteEndpoint,
	},
	"/endpoint/endpoints/{name}/test": {http.MethodPost: testEndpoint},
	"/endpoint/sync": {
		http.MethodGet:  syncStatus,
		http.MethodPost: syncNow,
	},
	"/endpoint/revisions":          {http.MethodGet: listRevisions},
	"/endpoint/revisions/{n}":      {http.MethodGet: getRevision},
	"/endpoint/revisions/{n}/diff": {http.MethodGet: diffRevisions},
	"/endpoint/rollback":           {http.MethodPost: rollback},
	"/endpoint/apply":              {http.MethodPost: applyEndpoints},
	"/endpoint/help":               {http.MethodGet: help},
	"/endpoint/logs":               {http.MethodGet: logs},
	"/endpoint/openapi.json":       {http.MethodGet: openAPI},
}

// call is one route of the table: it finds the Backend of the request,
// answers with serve and writes the error serve returns with fail.
type call struct {
	serve   func(w http.ResponseWriter, r *http.Request, b *Backend) error
	backend func(*http.Request) (*Backend, error)
	fail    func(w http.ResponseWriter, r *http.Request, err error)
}

func (c call) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, err := c.backend(r)
	if err == nil {
		err = c.serve(w, r, b)
	}
	if err != nil {
		c.fail(w, r, err)
	}
}

// newCalls builds the route table of the admin calls: the path picks the
// handlers, the method one of them (405 with Allow otherwise), an unknown
// path is 404.
func newCalls(backend func(*http.Request) (*Backend, error), fail func(http.ResponseWriter, *http.Request, error)) http.Handler {
	mux := http.NewServeMux()
	for pattern, ms := range routes {
		mux.Handle(pattern, call{serve: ms.serve, backend: backend, fail: fail})
	}
	mux.Handle("/endpoint/", call{serve: noRoute, backend: backend, fail: fail})
	return mux
}

func noRoute(w http.ResponseWriter, r *http.Request, b *Backend) error {
	return apiErr(http.StatusNotFound, "no admin route %s", r.URL.Path)
}

func (m methods) serve(w http.ResponseWriter, r *http.Request, b *Backend) error {
	method := r.Method
	if method == http.MethodHead {
		method = http.MethodGet
	}
	if h, ok := m[method]; ok {
		return h(w, r, b)
	}
	allow := make([]string, 0, len(m)+1)
	if _, ok := m[http.MethodGet]; ok {
		allow = append(allow, http.MethodHead)
	}
	for _, verb := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		if _, ok := m[verb]; ok {
			allow = append(allow, verb)
		}
	}
	w.Header().Set("Allow", strings.Join(allow, ", "))
	return apiErr(http.StatusMethodNotAllowed, "method %s not allowed on %s", r.Method, r.URL.Path)
}

// writeAdminError answers an admin listener call that failed as Caddy's
// admin listener does: the error logged by admin.api, then written.
func writeAdminError(w http.ResponseWriter, r *http.Request, err error) {
	caddy.Log().Named("admin.api").Error("request error", zap.Error(err), zap.Int("status_code", apiStatus(err).HTTPStatus))
	writeAPIError(w, r, err)
}

// writeAPIError writes err in the shape of Caddy's admin listener,
// {"error": "..."}.
func writeAPIError(w http.ResponseWriter, _ *http.Request, err error) {
	ae := apiStatus(err)
	pipeline.WriteJSON(w, ae.HTTPStatus, struct {
		Error string `json:"error"`
	}{ae.Message})
}

// apiStatus is err as a caddy.APIError with its status and message set.
func apiStatus(err error) caddy.APIError {
	var ae caddy.APIError
	if !errors.As(err, &ae) {
		ae = caddy.APIError{HTTPStatus: http.StatusInternalServerError, Err: err}
	}
	if ae.HTTPStatus == 0 {
		ae.HTTPStatus = http.StatusInternalServerError
	}
	if ae.Message == "" && ae.Err != nil {
		ae.Message = ae.Err.Error()
	}
	return ae
}

// Interface guards
var (
	_ caddy.AdminRouter = (*API)(nil)
	_ caddy.Provisioner = (*API)(nil)
)
