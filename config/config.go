// Package config is the JSON configuration of the `endpoint` app
// (apps.endpoint): the fields the root package's App provisions and the
// Caddyfile adapter fills. It holds types only; the rules they must follow
// are checked where they apply, when the app provisions.
package config

import (
	"github.com/caddyserver/caddy/v2"

	"github.com/caddy-endpoint/endpoint/pipeline"
	"github.com/caddy-endpoint/endpoint/registry"
)

// App is the configuration of the `endpoint` app: the users, the secrets,
// the declared endpoints, the exec modes and the limits that every
// `endpoint` handler shares.
type App struct {
	// SyncInterval is how often the registry re-reads the storage to pick up
	// a revision published by another instance that shares it. Default: 5s.
	SyncInterval caddy.Duration `json:"sync_interval,omitempty"`

	// MaxBodySize is the largest request body, in bytes, an endpoint
	// accepts; larger bodies get 413. Default: 1048576 (1 MiB).
	MaxBodySize int64 `json:"max_body_size,omitempty"`

	// MaxSteps is the Starlark step budget of one request. Default: 1000000.
	MaxSteps uint64 `json:"max_steps,omitempty"`

	// Timeout is the time limit of one snippet run; past it the request
	// gets 503. Default: 5s.
	Timeout caddy.Duration `json:"timeout,omitempty"`

	// Users are the identities callers authenticate as and snippets run
	// as, by name.
	Users map[string]*pipeline.User `json:"users,omitempty"`

	// Secrets are named values snippets may read with env.secret() when
	// granted; Caddy placeholders such as {env.NAME} are expanded at
	// provision.
	Secrets map[string]string `json:"secrets,omitempty"`

	// Endpoints are records declared in the config: live as soon as the
	// config loads, part of every revision and read-only through the admin
	// API.
	Endpoints []*DeclaredEndpoint `json:"endpoints,omitempty"`

	// KeepRevisions is how many of the newest published revisions are
	// kept in storage; older ones are deleted when a new one is published,
	// and a rollback to one of them is refused. Default: 100.
	KeepRevisions int `json:"keep_revisions,omitempty"`

	// StoreMaxKeys is the most keys one env.store namespace holds; a put
	// of a new key beyond it fails the snippet with a clear error.
	// Default: 10000.
	StoreMaxKeys int `json:"store_max_keys,omitempty"`

	// StoreMaxBytes is the most bytes the values of one env.store
	// namespace hold together; a put that would pass it fails the
	// snippet. Default: 67108864 (64 MiB).
	StoreMaxBytes int64 `json:"store_max_bytes,omitempty"`

	// MaxMemory is the memory budget, in bytes, of one snippet run; a run
	// over it is stopped and answered 500, kind memory_limit.
	// Default: 67108864 (64 MiB).
	MaxMemory int64 `json:"max_memory,omitempty"`

	// MaxConcurrency is how many runs of one endpoint may execute at once;
	// a request beyond it is answered 503 with Retry-After at once,
	// without running. Default: 4 × GOMAXPROCS.
	MaxConcurrency int `json:"max_concurrency,omitempty"`

	// ExecModesRaw are the exec modes endpoints may name, by name: each a
	// module of the namespace endpoint.exec_modes with its own config.
	// Default: {"code": {}}, the Starlark mode.
	ExecModesRaw caddy.ModuleMap `json:"exec_modes,omitempty" caddy:"namespace=endpoint.exec_modes"`
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
