// Package echomode is a test-only exec mode, `endpoint.exec_modes.echo`,
// built into the integration tests' Caddy to prove that the exec mode
// namespace is an extension point: it answers with the endpoint name, the
// path parameters and the request body.
package echomode

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/caddyserver/caddy/v2"

	"github.com/caddy-endpoint/endpoint/execmode"
)

func init() {
	caddy.RegisterModule(Echo{})
}

// Echo is the exec mode module.
type Echo struct{}

// CaddyModule returns the Caddy module information.
func (Echo) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "endpoint.exec_modes.echo",
		New: func() caddy.Module { return new(Echo) },
	}
}

// Compile refuses a record that carries code: this mode takes none.
func (Echo) Compile(rec *execmode.Endpoint) (execmode.Program, error) {
	if rec.CodeSnippet != "" {
		return nil, errors.New("the echo exec mode takes no code")
	}
	return program{}, nil
}

type program struct{}

func (program) Run(_ context.Context, inv *execmode.Invocation) (*execmode.Result, error) {
	body, err := json.Marshal(map[string]any{
		"mode":     "echo",
		"endpoint": inv.Endpoint.Name,
		"params":   inv.PathParams,
		"body":     string(inv.Body),
		"user":     inv.User.Name,
	})
	if err != nil {
		return nil, err
	}
	return &execmode.Result{
		Status: 200,
		Header: map[string][]string{"Content-Type": {"application/json"}},
		Body:   body,
	}, nil
}

var _ execmode.ExecMode = Echo{}
