package endpoint

import (
	"context"
	"errors"

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
	return registry.ExampleAnswer{Status: ans.Status, Header: ans.Headers, Body: []byte(ans.Body)}, nil
}
