// Command caddy is Caddy with its standard modules and the endpoint module.
package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/caddy-endpoint/endpoint"
)

func main() {
	caddycmd.Main()
}
