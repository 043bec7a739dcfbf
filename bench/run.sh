#!/usr/bin/env bash
# Loads the routes of bench/Caddyfile with wrk, one after the other against
# one Caddy, and prints requests/s and each ratio to (a). Case (f) is the
# peer a Caddy user would otherwise run: Caddy -> reverse_proxy -> Fastify 5
# + ajv (bench/peer, installed from npm), on the same schema and body.
# Case (g) is Caddy's respond to the POST of (d), its body unread: what the
# 1 KB upload costs before any handler.
#   bench/run.sh [duration] [connections]     default: 5s per case, 32
# ROUNDS=n repeats the whole set (default 5). PROFILE=file also writes a
# 5 s CPU profile of Caddy under case PROFILE_CASE (default d), taken in
# the last round.
set -euo pipefail
cd "$(dirname "$0")"
DURATION=${1:-5s}
CONNS=${2:-32}
ROUNDS=${ROUNDS:-5}
PROFILE_CASE=${PROFILE_CASE:-d}
# wrk's threads: the issue measured with one (-t1), which leaves Caddy the
# other core; THREADS=2 makes wrk take its share of both.
THREADS=${THREADS:-1}
CADDY=${CADDY:-../bin/caddy}

command -v wrk >/dev/null || {
	if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
	$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq wrk
}
[ -x "$CADDY" ] || (cd .. && go build -o bin/caddy ./cmd/caddy)
command -v node >/dev/null && command -v npm >/dev/null || {
	if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
	$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nodejs npm
}
[ -d peer/node_modules ] || (cd peer && npm ci --no-audit --no-fund --loglevel=error)

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
export BENCH_ADMIN_PORT=$(free_port) BENCH_HTTP_PORT=$(free_port) BENCH_PEER_PORT=$(free_port)
export BENCH_DATA=$(mktemp -d)
trap 'kill $CADDY_PID $PEER_PID 2>/dev/null; wait $CADDY_PID $PEER_PID 2>/dev/null; rm -rf "$BENCH_DATA"' EXIT
PEER_PORT=$BENCH_PEER_PORT node peer/server.js >"$BENCH_DATA/peer.log" 2>&1 &
PEER_PID=$!
HOME=$BENCH_DATA "$CADDY" run --config Caddyfile --adapter caddyfile >"$BENCH_DATA/caddy.log" 2>&1 &
CADDY_PID=$!
base="http://127.0.0.1:$BENCH_HTTP_PORT"
for _ in $(seq 100); do curl -fsS "$base/a/static" >/dev/null 2>&1 && break; sleep 0.1; done
for _ in $(seq 100); do curl -fsS -H 'Content-Type: application/json' --data-binary @body1k.json "$base/p/validated" >/dev/null 2>&1 && break; sleep 0.1; done
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at start; wrk -t$THREADS -c$CONNS -d$DURATION, $ROUNDS rounds"

# sanity: every route answers 200
curl -fsS "$base/b/trivial" >/dev/null
curl -fsS -H 'Content-Type: application/json' --data-binary @small.json "$base/b/read" >/dev/null
curl -fsS -H 'Content-Type: application/json' --data-binary @body1k.json "$base/b/validated" >/dev/null
curl -fsS -H 'Content-Type: application/xml' --data-binary @note.xml "$base/b/xml" >/dev/null
curl -fsS -H 'Content-Type: application/json' --data-binary @body1k.json "$base/p/validated" >/dev/null
curl -fsS -H 'Content-Type: application/json' --data-binary @body1k.json "$base/a/post" >/dev/null
# both sides refuse the same invalid body
bad='{"id": "not a number"}'
for path in /b/validated /p/validated; do
	code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' -d "$bad" "$base$path")
	[ "$code" = 400 ] || { echo "$path answered $code to an invalid body, want 400"; exit 1; }
done

# Each round loads the seven cases one after the other; a case's ratio is
# taken against (a) of the same round, and the median ratio over the rounds
# is printed, which keeps a slow minute of a shared host from skewing one
# case only.
declare -A rps ratios
run_case() { # name path [body_file content_type]
	local name=$1 path=$2 prof=
	if [ -n "${PROFILE:-}" ] && [ "$round" = "$ROUNDS" ] && [ "$name" = "$PROFILE_CASE" ]; then
		curl -fsS -o "$PROFILE" "http://127.0.0.1:$BENCH_ADMIN_PORT/debug/pprof/profile?seconds=5" &
		prof=$!
	fi
	if [ $# -gt 2 ]; then
		rps[$name]=$(BODY_FILE=$3 CONTENT_TYPE=$4 wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" -s post.lua "$base$path" | awk '/Requests\/sec/ {print $2}')
	else
		rps[$name]=$(wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" "$base$path" | awk '/Requests\/sec/ {print $2}')
	fi
	if [ -n "$prof" ]; then wait "$prof"; fi
}
for round in $(seq "$ROUNDS"); do
	run_case a /a/static
	run_case b /b/trivial
	run_case c /b/read small.json application/json
	run_case d /b/validated body1k.json application/json
	run_case e /b/xml note.xml application/xml
	run_case f /p/validated body1k.json application/json
	run_case g /a/post body1k.json application/json
	line="round $round:"
	ratios[df]+="$(awk "BEGIN{print ${rps[d]}/${rps[f]}}") "
	ratios[dg]+="$(awk "BEGIN{print ${rps[d]}/${rps[g]}}") "
	for c in a b c d e f g; do
		ratios[$c]+="$(awk "BEGIN{print ${rps[$c]}/${rps[a]}}") "
		line+=" $c=${rps[$c]}"
	done
	echo "$line"
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }
echo "load average $(cut -d' ' -f1-3 /proc/loadavg) at the end"
printf '%-44s %14s %14s\n' case "last req/s" "median ratio"
for c in a b c d e f g; do
	case $c in
	a) label="(a) static respond" ;;
	b) label="(b) trivial snippet" ;;
	c) label="(c) POST JSON, snippet reads a field" ;;
	d) label="(d) 1 KB JSON, 10-property schema" ;;
	e) label="(e) small XML, XSD" ;;
	f) label="(f) (d) via reverse_proxy to Fastify+ajv" ;;
	g) label="(g) respond to the (d) POST, body unread" ;;
	esac
	printf '%-44s %14.0f %14.2f\n' "$label" "${rps[$c]}" "$(echo "${ratios[$c]}" | median)"
done
printf '%-44s %14s %14.2f\n' "(d)/(f): the endpoint against the peer" "" "$(echo "${ratios[df]}" | median)"
printf '%-44s %14s %14.2f\n' "(d)/(g): against respond to the same POST" "" "$(echo "${ratios[dg]}" | median)"
if [ -n "${PROFILE:-}" ]; then echo "CPU profile of case ($PROFILE_CASE): $PROFILE (go tool pprof -top $CADDY $PROFILE)"; fi
