// Command testcaddy is the Caddy binary of the integration tests: the
// standard modules, this module, the test-only echo exec mode and the
// fault-injecting storage.
package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/caddy-endpoint/endpoint"
	_ "github.com/caddy-endpoint/endpoint/tests/echomode"
	_ "github.com/caddy-endpoint/endpoint/tests/faultstore"
)

func main() {
	caddycmd.Main()
}
