#!/usr/bin/env bash
# Builds Caddy with xcaddy from this checkout, as an operator would, and
# checks that every module and both Caddyfile parts are registered.
set -euo pipefail
cd "$(dirname "$0")/.."
XCADDY=${XCADDY:-xcaddy}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# Until the module is published, the replacement "=<dir>" makes xcaddy use
# this checkout, and `go get` resolves it to the zero pseudo-version when
# the proxy says "not found". Some proxies answer 403 instead of 404 for an
# unknown module, which stops `go`; "|" falls through on any error to an
# empty local proxy, which answers "not found".
mkdir -p "$out/emptyproxy"
primary=$(go env GOPROXY | cut -d, -f1 | cut -d'|' -f1)
[ "$primary" = direct ] || [ "$primary" = off ] && primary=https://proxy.golang.org
export GOPROXY="$primary|file://$out/emptyproxy"
export GONOSUMDB=github.com/caddy-endpoint
"$XCADDY" build v2.11.9 --output "$out/caddy" --with "github.com/caddy-endpoint/endpoint=$PWD" >"$out/build.log" 2>&1 || {
	cat "$out/build.log"; exit 1; }

mods=$("$out/caddy" list-modules)
for m in endpoint http.handlers.endpoint http.handlers.endpoint_ui admin.api.endpoint endpoint.exec_modes.code; do
	grep -qx "$m" <<<"$mods" || { echo "xcaddy build: module $m is not registered"; exit 1; }
done

cat >"$out/Caddyfile" <<'CF'
{
	endpoint {
		define hi {
			route /hi
			auth public
			exec_as bot
			code `result = {"payload": "hi"}`
		}
		user bot
	}
}
:8080 {
	endpoint api
}
:8081 {
	basic_auth {
		ops $2a$14$E4hHQ/r0Rb8BqcIsW0XG.eWRUErrRaWcoZ88wNybaAGlfDW1s9QcG
	}
	endpoint_ui /ops
}
CF
json=$("$out/caddy" adapt --config "$out/Caddyfile" --adapter caddyfile 2>/dev/null)
grep -q '"handler":"endpoint"' <<<"$json" || { echo "xcaddy build: the endpoint directive is not registered"; exit 1; }
grep -q '"endpoint":{' <<<"$json" || { echo "xcaddy build: the endpoint global option is not registered"; exit 1; }
grep -q '"handler":"endpoint_ui","prefix":"/ops"' <<<"$json" || { echo "xcaddy build: the endpoint_ui directive is not registered"; exit 1; }
help=$("$out/caddy" help endpoint 2>&1)
for verb in status list export diff apply sync revisions rollback test logs; do
	grep -q "^  $verb " <<<"$help" || { echo "xcaddy build: 'caddy endpoint $verb' is not registered"; exit 1; }
done
echo "xcaddy build: modules, Caddyfile parts and 'caddy endpoint' registered"
