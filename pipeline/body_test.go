package pipeline

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/caddy-endpoint/endpoint/registry"
	"github.com/caddy-endpoint/endpoint/schema"
)

// failingValidator is a schema whose backend cannot run (libxml2 out of
// memory), which no real body can bring about.
type failingValidator struct{}

func (failingValidator) Validate([]byte) (any, []schema.Violation) { return nil, nil }

func (failingValidator) ValidateBy([]byte, time.Time) (any, []schema.Violation, error) {
	return nil, nil, schema.ErrBackend
}

// TestSchemaBackendFailureIs503: a validation the backend could not run
// answers 503 saying so, not a 400 that blames the body, nor the time
// limit's message.
func TestSchemaBackendFailureIs503(t *testing.T) {
	body := `<note/>`
	r := httptest.NewRequest(http.MethodPost, "/x", strings.NewReader(body))
	w := httptest.NewRecorder()
	c := &call{w: w, r: r, body: []byte(body), deadline: time.Now().Add(time.Second),
		entry: &registry.Entry{Record: &registry.Record{Name: "x", RequestContentType: "application/xml"}, Schema: failingValidator{}}}
	if status := (&Pipeline{}).schemaCheck(c); status != http.StatusServiceUnavailable {
		t.Fatalf("status %d", status)
	}
	if got := w.Body.String(); !strings.Contains(got, "could not be validated") || w.Code != http.StatusServiceUnavailable {
		t.Fatalf("%d %s", w.Code, got)
	}
}
