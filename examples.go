package endpoint

import (
	"context"
	"errors"
	"net/http"

	"github.com/caddy-endpoint/endpoint/pipeline"
	"github.com/caddy-endpoint/endpoint/registry"
)

// runExample sends an example's request to a compiled record through the
// dry run: the same rules as a live request, store writes kept in a
// scratch overlay, no outbound HTTP, log lines kept out of the live log.
func (a *App) runExample(ctx context.Context, e *registry.Entry, ex registry.Example) (registry.ExampleAnswer, error) {
	if a.pipeline == nil {
		return registry.ExampleAnswer{}, errors.New("the endpoint app is not provisioned")
	}
	ans, err := a.pipeline.DryRun(ctx, e, pipeline.DryRunRequest{
		Method:  ex.Request.Method,
		Path:    ex.Request.Path,
		Headers: ex.Request.Headers,
		Query:   ex.Request.Query,
		Body:    ex.Request.Body,
	})
	if err != nil {
		return registry.ExampleAnswer{}, err
	}
	h := make(http.Header, len(ans.Headers))
	for k, v := range ans.Headers {
		h.Set(k, v)
	}
	return registry.ExampleAnswer{Status: ans.Status, Header: h, Body: []byte(ans.Body)}, nil
}
