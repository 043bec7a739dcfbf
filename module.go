package endpoint

import (
	"github.com/caddyserver/caddy/v2"

	"github.com/caddy-endpoint/endpoint/env"
	"github.com/caddy-endpoint/endpoint/registry"
)

func init() {
	caddy.RegisterModule(App{})
}

// App is the `endpoint` app: it owns the registry of endpoint records, the
// users, the secrets and the limits that every `endpoint` handler shares.
type App struct {
	// SyncInterval is how often the registry re-reads the storage to pick up
	// a revision published by another instance. Default: 5s.
	SyncInterval caddy.Duration `json:"sync_interval,omitempty"`

	// MaxBodySize is the largest request body, in bytes, an endpoint
	// accepts; larger bodies get 413. Default: 1048576 (1 MiB).
	MaxBodySize int64 `json:"max_body_size,omitempty"`

	// MaxSteps is the Starlark step budget of one request. Default: 1000000.
	MaxSteps uint64 `json:"max_steps,omitempty"`

	// Timeout is the time limit of one snippet run. Default: 5s.
	Timeout caddy.Duration `json:"timeout,omitempty"`

	// Users are the identities callers authenticate as and snippets run
	// as, by name.
	Users map[string]*User `json:"users,omitempty"`

	// Secrets are named values snippets may read with env.secret(); Caddy
	// placeholders such as {env.NAME} are expanded at provision.
	Secrets map[string]string `json:"secrets,omitempty"`

	// Endpoints are records declared in the config: live as soon as the
	// config loads, part of every revision and read-only through the admin
	// API.
	Endpoints []*DeclaredEndpoint `json:"endpoints,omitempty"`
}

// User is a configured identity.
type User struct {
	// Password is a bcrypt hash for HTTP Basic authentication.
	Password string `json:"password,omitempty"`
	// TokenHash is "sha256:<hex>" of the user's Bearer token.
	TokenHash string `json:"token_hash,omitempty"`
	// Roles the user holds, checked against a record's allowed_roles.
	Roles []string `json:"roles,omitempty"`
	// Grants are what snippets running as this user may reach.
	Grants *env.Grants `json:"grants,omitempty"`
}

// DeclaredEndpoint is an endpoint record written in the config. Instead of
// inline code and schema it may name files, read at provision; relative
// paths resolve against the working directory (the Caddyfile adapter makes
// them absolute against the Caddyfile's directory).
type DeclaredEndpoint struct {
	registry.Record
	// CodeFile is a file holding the code snippet.
	CodeFile string `json:"code_file,omitempty"`
	// SchemaFile is a file holding the request content schema.
	SchemaFile string `json:"schema_file,omitempty"`
}

// CaddyModule returns the Caddy module information.
func (App) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "endpoint",
		New: func() caddy.Module { return new(App) },
	}
}
