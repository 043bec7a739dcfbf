#!/usr/bin/env bash
# Loads the five routes of bench/Caddyfile with wrk, one after the other
# against one Caddy, and prints requests/s and each ratio to (a).
#   bench/run.sh [duration] [connections]     default: 5s per case, 32
# ROUNDS=n repeats the whole set (default 5).
set -euo pipefail
cd "$(dirname "$0")"
DURATION=${1:-5s}
CONNS=${2:-32}
ROUNDS=${ROUNDS:-5}
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

# Each round loads the five cases one after the other; a case's ratio is
# taken against (a) of the same round, and the median ratio over the rounds
# is printed, which keeps a slow minute of a shared host from skewing one
# case only.
declare -A rps ratios
run_case() { # name path [body_file content_type]
	local name=$1 path=$2
	if [ $# -gt 2 ]; then
		rps[$name]=$(BODY_FILE=$3 CONTENT_TYPE=$4 wrk -t2 -c"$CONNS" -d"$DURATION" -s post.lua "$base$path" | awk '/Requests\/sec/ {print $2}')
	else
		rps[$name]=$(wrk -t2 -c"$CONNS" -d"$DURATION" "$base$path" | awk '/Requests\/sec/ {print $2}')
	fi
}
for round in $(seq "$ROUNDS"); do
	run_case a /a/static
	run_case b /b/trivial
	run_case c /b/read small.json application/json
	run_case d /b/validated body1k.json application/json
	run_case e /b/xml note.xml application/xml
	line="round $round:"
	for c in a b c d e; do
		ratios[$c]+="$(awk "BEGIN{print ${rps[$c]}/${rps[a]}}") "
		line+=" $c=${rps[$c]}"
	done
	echo "$line"
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }
printf '%-40s %14s %14s\n' case "last req/s" "median ratio"
for c in a b c d e; do
	case $c in
	a) label="(a) static respond" ;;
	b) label="(b) trivial snippet" ;;
	c) label="(c) POST JSON, snippet reads a field" ;;
	d) label="(d) 1 KB JSON, 10-property schema" ;;
	e) label="(e) small XML, XSD" ;;
	esac
	printf '%-40s %14.0f %14.2f\n' "$label" "${rps[$c]}" "$(echo "${ratios[$c]}" | median)"
done
