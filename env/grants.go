// Package env is the outside world of a snippet: a key-value store in
// Caddy's storage, secrets and outbound HTTP, each gated by the executing
// user's grants.
package env

// Store access levels.
const (
	Read  = "read"
	Write = "write"
)

// Grants are the permissions of one user (SPEC §6).
type Grants struct {
	// Store maps a namespace to "read" or "write".
	Store map[string]string `json:"store,omitempty"`
	// Secrets lists the secret names the user may read.
	Secrets []string `json:"secrets,omitempty"`
	// HTTP lists the hosts (host or host:port) the user may call.
	HTTP []string `json:"http,omitempty"`
}
