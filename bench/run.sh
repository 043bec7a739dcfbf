#!/usr/bin/env bash
# Loads the five routes of bench/Caddyfile with wrk, one after the other
# against one Caddy, and prints requests/s and each ratio to (a).
#   bench/run.sh [duration] [connections]     e.g. bench/run.sh 10s 32
# ROUNDS=n repeats the whole set and keeps each case's best round.
set -euo pipefail
cd "$(dirname "$0")"
DURATION=${1:-10s}
CONNS=${2:-32}
ROUNDS=${ROUNDS:-1}
CADDY=${CADDY:-../bin/caddy}

command -v wrk >/dev/null || {
	if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
	$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq wrk
}
[ -x "$CADDY" ] || (cd .. && go build -o bin/caddy ./cmd/caddy)

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
export BENCH_ADMIN_PORT=$(free_port) BENCH_HTTP_PORT=$(free_port)
export BENCH_DATA=$(mktemp -d)
trap 'kill $CADDY_PID 2>/dev/null; wait $CADDY_PID 2>/dev/null; rm -rf "$BENCH_DATA"' EXIT
HOME=$BENCH_DATA "$CADDY" run --config Caddyfile --adapter caddyfile >"$BENCH_DATA/caddy.log" 2>&1 &
CADDY_PID=$!
base="http://127.0.0.1:$BENCH_HTTP_PORT"
for _ in $(seq 100); do curl -fsS "$base/a/static" >/dev/null 2>&1 && break; sleep 0.1; done

# sanity: every route answers 200
curl -fsS "$base/b/trivial" >/dev/null
curl -fsS -H 'Content-Type: application/json' --data-binary @small.json "$base/b/read" >/dev/null
curl -fsS -H 'Content-Type: application/json' --data-binary @body1k.json "$base/b/validated" >/dev/null
curl -fsS -H 'Content-Type: application/xml' --data-binary @note.xml "$base/b/xml" >/dev/null

declare -A best
run_case() { # name path [body_file content_type]
	local name=$1 path=$2 rps
	if [ $# -gt 2 ]; then
		rps=$(BODY_FILE=$3 CONTENT_TYPE=$4 wrk -t2 -c"$CONNS" -d"$DURATION" -s post.lua "$base$path" | awk '/Requests\/sec/ {print $2}')
	else
		rps=$(wrk -t2 -c"$CONNS" -d"$DURATION" "$base$path" | awk '/Requests\/sec/ {print $2}')
	fi
	if [ -z "${best[$name]:-}" ] || awk "BEGIN{exit !($rps > ${best[$name]})}"; then best[$name]=$rps; fi
}
for _ in $(seq "$ROUNDS"); do
	run_case a /a/static
	run_case b /b/trivial
	run_case c /b/read small.json application/json
	run_case d /b/validated body1k.json application/json
	run_case e /b/xml note.xml application/xml
done

printf '%-40s %12s %8s\n' case requests/s ratio
for c in a b c d e; do
	case $c in
	a) label="(a) static respond" ;;
	b) label="(b) trivial snippet" ;;
	c) label="(c) POST JSON, snippet reads a field" ;;
	d) label="(d) 1 KB JSON, 10-property schema" ;;
	e) label="(e) small XML, XSD" ;;
	esac
	printf '%-40s %12.0f %8.2f\n' "$label" "${best[$c]}" "$(awk "BEGIN{print ${best[$c]}/${best[a]}}")"
done
