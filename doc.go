// Package endpoint is a Caddy app and HTTP handler that serves endpoints
// defined at run time: each record binds a route to a Starlark snippet.
package endpoint
