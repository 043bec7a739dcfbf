package pipeline

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/caddy-endpoint/endpoint/registry"
	"github.com/caddy-endpoint/endpoint/schema"
)

// contentType is the content type rule: when the record names a media
// type, the request's must equal it (case-insensitive, parameters
// ignored), else 415. It applies to the body methods only.
func contentType(c *call) int {
	want := c.entry.ContentType
	if want == "" || !registry.BodyMethod(c.r.Method) {
		return 0
	}
	got := c.r.Header.Get("Content-Type")
	if strings.EqualFold(got, want) {
		return 0
	}
	mt, _, err := mime.ParseMediaType(got)
	if err != nil || mt != want {
		return writeError(c.w, http.StatusUnsupportedMediaType, "unsupported media type: this endpoint accepts "+c.entry.Record.RequestContentType)
	}
	return 0
}

// size is the size rule: the body is read, up to max_body_size (413
// beyond), by the request's deadline (408 when it passes first).
func (p *Pipeline) size(c *call) int {
	if !hasBody(c.r) {
		return 0
	}
	rc := http.NewResponseController(c.w)
	limited := rc.SetReadDeadline(c.deadline) == nil
	body, err := readBody(c.r, p.cfg.MaxBodySize)
	if limited {
		_ = rc.SetReadDeadline(time.Time{})
	}
	if err != nil {
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			return writeError(c.w, http.StatusRequestEntityTooLarge, "request body larger than "+strconv.FormatInt(p.cfg.MaxBodySize, 10)+" bytes")
		case errors.Is(err, os.ErrDeadlineExceeded):
			c.w.Header().Set("Connection", "close")
			return writeError(c.w, http.StatusRequestTimeout, "reading the request body took longer than the time limit")
		}
		return writeError(c.w, http.StatusBadRequest, "reading the request body failed")
	}
	c.body = body
	// read whole: the connection may serve the next request
	c.unread = false
	return 0
}

// hasBody says whether r carries a body to read.
func hasBody(r *http.Request) bool {
	return r.Body != nil && r.Body != http.NoBody && (r.ContentLength != 0 || len(r.TransferEncoding) > 0)
}

// schemaCheck is the schema rule: a record with a schema gets the body of
// a body method validated, 400 with one detail a violation otherwise.
func (p *Pipeline) schemaCheck(c *call) int {
	if c.entry.Schema == nil || !registry.BodyMethod(c.r.Method) {
		return 0
	}
	if pv, ok := c.entry.Schema.(schema.Prover); ok {
		// a body proved valid in linear time needs no place
		if parsed, shape, ok := pv.Prove(c.body); ok {
			c.parsed, c.hasJSON = parsed, parsed != nil
			c.inv.Shape = shape
			return 0
		}
	}
	// a linear validation needs no place either
	_, linear := c.entry.Schema.(schema.Linear)
	if !linear && !holdValidation(c.deadline) {
		return writeError(c.w, http.StatusServiceUnavailable, "validating the body took longer than the time limit")
	}
	parsed, violations, err := c.entry.Schema.ValidateBy(c.body, c.deadline)
	if !linear {
		<-validations
	}
	if errors.Is(err, schema.ErrBackend) {
		return writeError(c.w, http.StatusServiceUnavailable, "the body could not be validated: "+err.Error())
	}
	if err != nil || time.Now().After(c.deadline) {
		return writeError(c.w, http.StatusServiceUnavailable, "validating the body took longer than the time limit")
	}
	if len(violations) > 0 {
		c.sink.Rejected(c.entry.Record.Name)
		return WriteJSON(c.w, http.StatusBadRequest, struct {
			Detail []schema.Violation `json:"detail"`
		}{violations})
	}
	c.parsed = parsed
	c.hasJSON = parsed != nil || strings.EqualFold(c.entry.Record.RequestContentType, "application/json")
	return 0
}

// validations holds a place for each library validation in flight: all
// but one core at most, so bodies sent to validate cannot take every
// core. A validation waits for a place until the request's deadline and
// answers 503 past it, as it does when it ends after the deadline.
var validations = make(chan struct{}, max(1, runtime.GOMAXPROCS(0)-1))

// holdValidation takes a place in validations, waiting until deadline at
// most (a timer only when no place is free at once).
func holdValidation(deadline time.Time) bool {
	select {
	case validations <- struct{}{}:
		return true
	default:
	}
	wait := time.NewTimer(time.Until(deadline))
	defer wait.Stop()
	select {
	case validations <- struct{}{}:
		return true
	case <-wait.C:
		return false
	}
}

// presizeLimit is the largest body read into a buffer sized from
// Content-Length before it arrives; larger ones grow as they come, so a
// slow client cannot make the server hold max_body_size for nothing.
const presizeLimit = 64 << 10

// readBody reads at most limit bytes; more is a *http.MaxBytesError.
func readBody(r *http.Request, limit int64) ([]byte, error) {
	if !hasBody(r) {
		return nil, nil
	}
	if r.ContentLength > limit {
		return nil, &http.MaxBytesError{Limit: limit}
	}
	if r.ContentLength > 0 && r.ContentLength <= presizeLimit {
		// the server stops the body at Content-Length: read it in one piece
		body := make([]byte, r.ContentLength)
		if _, err := io.ReadFull(r.Body, body); err != nil {
			return nil, err
		}
		return body, nil
	}
	return io.ReadAll(http.MaxBytesReader(nil, r.Body, limit))
}
