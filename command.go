package endpoint

// The `caddy endpoint` command line registers itself with Caddy's command
// registry; importing it here puts it in every binary with the module.
import _ "github.com/caddy-endpoint/endpoint/command"
