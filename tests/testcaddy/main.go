// Command testcaddy is the Caddy binary of the integration tests: the
// standard modules, this module, and the test-only echo exec mode.
package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/caddy-endpoint/endpoint"
	_ "github.com/caddy-endpoint/endpoint/tests/echomode"
)

func main() {
	caddycmd.Main()
}
