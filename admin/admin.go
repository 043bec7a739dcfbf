// Package admin is the admin API module `admin.api.endpoint`: routes under
// /endpoint/ on Caddy's admin listener. It turns HTTP into registry calls
// and their results into JSON; the decisions live in the registry.
package admin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/caddy-endpoint/endpoint/execmode"
	"github.com/caddy-endpoint/endpoint/openapi"
	"github.com/caddy-endpoint/endpoint/pipeline"
	"github.com/caddy-endpoint/endpoint/registry"
)

// MaxPayload is the largest admin request body accepted (413 beyond).
const MaxPayload = 1 << 20

// Backend is what the `endpoint` app gives the admin API.
type Backend struct {
	// Registry holds the drafts and revisions.
	Registry *registry.Registry
	// Pipeline runs drafts as dry runs.
	Pipeline *pipeline.Pipeline
	// Logs is the buffer of the programs' log() lines.
	Logs *pipeline.LogRing
	// Live returns the table the app serves.
	Live func() *registry.Table
	// ExecModes are the app's exec modes by name; those that document
	// themselves answer /endpoint/help.
	ExecModes map[string]execmode.ExecMode

	// source names the caller of a request when the routes are served
	// outside the admin listener (Handler).
	source func(*http.Request) string
}

// backendApp is the `endpoint` app as the admin API finds it.
type backendApp interface {
	AdminBackend() *Backend
}

// apiErr is a caddy.APIError with a formatted message.
func apiErr(status int, format string, args ...any) error {
	return caddy.APIError{HTTPStatus: status, Err: fmt.Errorf(format, args...)}
}

// registryErr maps a registry error to its status; errors with details
// are written with them.
func registryErr(w http.ResponseWriter, err error) error {
	var re *registry.Error
	if !errors.As(err, &re) {
		return apiErr(http.StatusInternalServerError, "%v", err)
	}
	status := map[registry.Kind]int{
		registry.KindInvalid:  http.StatusBadRequest,
		registry.KindNotFound: http.StatusNotFound,
		registry.KindExists:   http.StatusConflict,
		registry.KindReadOnly: http.StatusConflict,
		registry.KindStale:    http.StatusPreconditionFailed,
	}[re.Kind]
	if status == 0 {
		status = http.StatusInternalServerError
	}
	if len(re.Details) == 0 {
		return caddy.APIError{HTTPStatus: status, Err: re, Message: re.Message}
	}
	pipeline.WriteJSON(w, status, struct {
		Error   string            `json:"error"`
		Details []registry.Detail `json:"details"`
	}{re.Message, re.Details})
	return nil
}

// readJSON reads a write's body: it must be JSON (the CSRF barrier Caddy's
// /config/ uses) and at most MaxPayload bytes.
func readJSON(r *http.Request, alsoAccepted ...string) ([]byte, error) {
	return readJSONUpTo(r, MaxPayload, alsoAccepted...)
}

// readJSONUpTo is readJSON with a bound of its own.
func readJSONUpTo(r *http.Request, limit int64, alsoAccepted ...string) ([]byte, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	ok := err == nil && mt == "application/json"
	for _, t := range alsoAccepted {
		ok = ok || (err == nil && mt == t)
	}
	if !ok {
		return nil, apiErr(http.StatusUnsupportedMediaType, "the request body must be application/json")
	}
	if r.ContentLength > limit {
		// refused before reading: a client announcing more than the limit
		// is not waited for
		return nil, apiErr(http.StatusRequestEntityTooLarge, "request body larger than %d bytes", limit)
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, limit))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, apiErr(http.StatusRequestEntityTooLarge, "request body larger than %d bytes", limit)
		}
		return nil, apiErr(http.StatusBadRequest, "reading the request body: %v", err)
	}
	return body, nil
}

func listEndpoints(w http.ResponseWriter, r *http.Request, b *Backend) error {
	q := r.URL.Query()
	for name := range q {
		switch name {
		case "route_group", "sync_state", "active":
		default:
			return apiErr(http.StatusBadRequest, "unknown filter %q: the filters are route_group, sync_state and active", name)
		}
	}
	var f registry.Filter
	if q.Has("route_group") {
		g := q.Get("route_group")
		f.RouteGroup = &g
	}
	f.SyncState = q.Get("sync_state")
	switch f.SyncState {
	case "", registry.StateInSync, registry.StateToSync:
	default:
		return apiErr(http.StatusBadRequest, "sync_state must be %s or %s", registry.StateInSync, registry.StateToSync)
	}
	if q.Has("active") {
		active, err := strconv.ParseBool(q.Get("active"))
		if err != nil {
			return apiErr(http.StatusBadRequest, "active must be true or false")
		}
		f.Active = &active
	}
	recs := b.Registry.List(f)
	if recs == nil {
		recs = []registry.Record{}
	}
	pipeline.WriteJSON(w, http.StatusOK, recs)
	return nil
}

func createEndpoint(w http.ResponseWriter, r *http.Request, b *Backend) error {
	body, err := readJSON(r)
	if err != nil {
		return err
	}
	rec, err := b.Registry.Create(r.Context(), body)
	if err != nil {
		return registryErr(w, err)
	}
	logAdmin("create", b.sourceOf(r), zap.String("name", rec.Name), zap.Int64("version", rec.Version))
	w.Header().Set("ETag", etag(rec))
	w.Header().Set("Location", "/endpoint/endpoints/"+rec.Name)
	pipeline.WriteJSON(w, http.StatusCreated, rec)
	return nil
}

func getEndpoint(w http.ResponseWriter, r *http.Request, b *Backend) error {
	rec, err := b.Registry.Get(r.PathValue("name"))
	if err != nil {
		return registryErr(w, err)
	}
	tag := etag(rec)
	w.Header().Set("ETag", tag)
	if noneMatch(r.Header.Get("If-None-Match"), tag) {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	pipeline.WriteJSON(w, http.StatusOK, struct {
		registry.Record
		// Circuit is the endpoint's circuit breaker as this instance sees it.
		Circuit pipeline.CircuitStatus `json:"circuit"`
	}{rec, b.Pipeline.Circuit(rec.Name)})
	return nil
}

func putEndpoint(w http.ResponseWriter, r *http.Request, b *Backend) error {
	body, err := readJSON(r)
	if err != nil {
		return err
	}
	rec, created, err := b.Registry.Put(r.Context(), r.PathValue("name"), body, putPrecondition(r))
	if err != nil {
		return registryErr(w, err)
	}
	status, action := http.StatusOK, "replace"
	if created {
		status, action = http.StatusCreated, "create"
	}
	logAdmin(action, b.sourceOf(r), zap.String("name", rec.Name), zap.Int64("version", rec.Version))
	w.Header().Set("ETag", etag(rec))
	pipeline.WriteJSON(w, status, rec)
	return nil
}

func patchEndpoint(w http.ResponseWriter, r *http.Request, b *Backend) error {
	body, err := readJSON(r, "application/merge-patch+json")
	if err != nil {
		return err
	}
	rec, err := b.Registry.Patch(r.Context(), r.PathValue("name"), body, ifMatch(r))
	if err != nil {
		return registryErr(w, err)
	}
	logAdmin("patch", b.sourceOf(r), zap.String("name", rec.Name), zap.Int64("version", rec.Version))
	w.Header().Set("ETag", etag(rec))
	pipeline.WriteJSON(w, http.StatusOK, rec)
	return nil
}

func deleteEndpoint(w http.ResponseWriter, r *http.Request, b *Backend) error {
	if err := b.Registry.Delete(r.Context(), r.PathValue("name"), ifMatch(r)); err != nil {
		return registryErr(w, err)
	}
	logAdmin("delete", b.sourceOf(r), zap.String("name", r.PathValue("name")))
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func testEndpoint(w http.ResponseWriter, r *http.Request, b *Backend) error {
	body, err := readJSON(r)
	if err != nil {
		return err
	}
	var probe map[string]json.RawMessage
	_ = json.Unmarshal(body, &probe)
	if _, all := probe["examples"]; all || probe["example"] != nil {
		return testExamples(w, r, b, body)
	}
	var req pipeline.DryRunRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return apiErr(http.StatusBadRequest, "decoding the test request: %v", err)
	}
	entry, err := b.Registry.CompileDraft(r.PathValue("name"))
	if err != nil {
		return registryErr(w, err)
	}
	out, err := b.Pipeline.DryRun(r.Context(), entry, req)
	if err != nil {
		return registryErr(w, err)
	}
	pipeline.WriteJSON(w, http.StatusOK, out)
	return nil
}

// testExamples runs the examples of a draft: {"examples": true} all of
// them, {"example": "name"} one.
func testExamples(w http.ResponseWriter, r *http.Request, b *Backend, body []byte) error {
	var req struct {
		Examples bool   `json:"examples"`
		Example  string `json:"example"`
	}
	if err := decodeStrict(body, "test", &req); err != nil {
		return err
	}
	if !req.Examples && req.Example == "" {
		return apiErr(http.StatusBadRequest, "decoding the test request: examples must be true or example must name one")
	}
	results, err := b.Registry.RunExamples(r.Context(), r.PathValue("name"), req.Example)
	if err != nil {
		return registryErr(w, err)
	}
	pipeline.WriteJSON(w, http.StatusOK, results)
	return nil
}

func syncStatus(w http.ResponseWriter, r *http.Request, b *Backend) error {
	pipeline.WriteJSON(w, http.StatusOK, b.Registry.Status())
	return nil
}

// decodeStrict decodes a JSON object body into v, refusing unknown fields
// and trailing data; an empty body leaves v as it is.
func decodeStrict(body []byte, what string, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return apiErr(http.StatusBadRequest, "decoding the %s request: %v", what, strings.TrimPrefix(err.Error(), "json: "))
	}
	if _, err := dec.Token(); err != io.EOF {
		return apiErr(http.StatusBadRequest, "decoding the %s request: unexpected data after the JSON object", what)
	}
	return nil
}

func syncNow(w http.ResponseWriter, r *http.Request, b *Backend) error {
	var req struct {
		Only    []string `json:"only"`
		Message string   `json:"message"`
	}
	body, err := readJSON(r)
	if err != nil {
		return err
	}
	if err := decodeStrict(body, "sync", &req); err != nil {
		return err
	}
	src := b.sourceOf(r)
	res, err := b.Registry.Sync(r.Context(), registry.SyncOptions{
		Only:   req.Only,
		Origin: registry.Origin{Message: req.Message, Source: src},
	})
	if err != nil {
		return registryErr(w, err)
	}
	logAdmin("sync", src, zap.Strings("only", req.Only), zap.Int64("revision", res.Revision),
		zap.Strings("added", res.Added), zap.Strings("changed", res.Changed), zap.Strings("removed", res.Removed))
	pipeline.WriteJSON(w, http.StatusOK, res)
	return nil
}

func revisionParam(s, what string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, apiErr(http.StatusBadRequest, "%s must be a positive integer", what)
	}
	return n, nil
}

func getRevision(w http.ResponseWriter, r *http.Request, b *Backend) error {
	n, err := revisionParam(r.PathValue("n"), "the revision")
	if err != nil {
		return err
	}
	d, err := b.Registry.Revision(r.Context(), n)
	if err != nil {
		return registryErr(w, err)
	}
	pipeline.WriteJSON(w, http.StatusOK, d)
	return nil
}

func diffRevisions(w http.ResponseWriter, r *http.Request, b *Backend) error {
	n, err := revisionParam(r.PathValue("n"), "the revision")
	if err != nil {
		return err
	}
	var to int64
	if q := r.URL.Query(); q.Has("to") {
		if to, err = revisionParam(q.Get("to"), "to"); err != nil {
			return err
		}
	}
	d, err := b.Registry.Diff(r.Context(), n, to)
	if err != nil {
		return registryErr(w, err)
	}
	pipeline.WriteJSON(w, http.StatusOK, d)
	return nil
}

func listRevisions(w http.ResponseWriter, r *http.Request, b *Backend) error {
	revs := b.Registry.Revisions()
	if revs == nil {
		revs = []registry.RevisionInfo{}
	}
	pipeline.WriteJSON(w, http.StatusOK, revs)
	return nil
}

func rollback(w http.ResponseWriter, r *http.Request, b *Backend) error {
	body, err := readJSON(r)
	if err != nil {
		return err
	}
	var req struct {
		Revision int64  `json:"revision"`
		Message  string `json:"message"`
	}
	if err := decodeStrict(body, "rollback", &req); err != nil {
		return err
	}
	if req.Revision <= 0 {
		return apiErr(http.StatusBadRequest, "revision must be a positive integer")
	}
	src := b.sourceOf(r)
	res, err := b.Registry.Rollback(r.Context(), req.Revision, registry.Origin{Message: req.Message, Source: src})
	if err != nil {
		return registryErr(w, err)
	}
	logAdmin("rollback", src, zap.Int64("to_revision", req.Revision), zap.Int64("revision", res.Revision),
		zap.Strings("added", res.Added), zap.Strings("changed", res.Changed), zap.Strings("removed", res.Removed))
	pipeline.WriteJSON(w, http.StatusOK, res)
	return nil
}

func help(w http.ResponseWriter, r *http.Request, b *Backend) error {
	name := r.URL.Query().Get("exec_mode")
	if name == "" {
		name = "code"
	}
	doc, ok := b.ExecModes[name].(execmode.Documenter)
	if !ok {
		return apiErr(http.StatusNotFound, "exec mode %q has no help", name)
	}
	pipeline.WriteJSON(w, http.StatusOK, doc.Help())
	return nil
}

func logs(w http.ResponseWriter, r *http.Request, b *Backend) error {
	pipeline.WriteJSON(w, http.StatusOK, b.Logs.Lines(r.URL.Query().Get("endpoint")))
	return nil
}

func openAPI(w http.ResponseWriter, r *http.Request, b *Backend) error {
	pipeline.WriteJSON(w, http.StatusOK, openapi.Document(b.Live()))
	return nil
}
