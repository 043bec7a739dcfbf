#!/usr/bin/env bash
# Builds Caddy with xcaddy from this checkout, as an operator would, and
# checks that every module and both Caddyfile parts are registered.
set -euo pipefail
cd "$(dirname "$0")/.."
XCADDY=${XCADDY:-xcaddy}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# The module is not published: the replacement "=." makes xcaddy use this
# checkout. A proxy that answers 403 (not 404) for unknown modules makes
# `go` stop instead of falling through, so "off" after "|" is not enough;
# GONOSUMDB/GOFLAGS keep the lookup local.
export GOFLAGS="${GOFLAGS:-} -mod=mod"
export GONOSUMDB=github.com/caddy-endpoint GONOSUMCHECK=1 GOPRIVATE=github.com/caddy-endpoint
"$XCADDY" build v2.11.9 --output "$out/caddy" --with "github.com/caddy-endpoint/endpoint=$PWD" >"$out/build.log" 2>&1 || {
	cat "$out/build.log"; exit 1; }

mods=$("$out/caddy" list-modules)
for m in endpoint http.handlers.endpoint admin.api.endpoint endpoint.exec_modes.code; do
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
CF
json=$("$out/caddy" adapt --config "$out/Caddyfile" --adapter caddyfile 2>/dev/null)
grep -q '"handler":"endpoint"' <<<"$json" || { echo "xcaddy build: the endpoint directive is not registered"; exit 1; }
grep -q '"endpoint":{' <<<"$json" || { echo "xcaddy build: the endpoint global option is not registered"; exit 1; }
echo "xcaddy build: modules and Caddyfile parts registered"
