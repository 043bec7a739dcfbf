#!/usr/bin/env bash
# The figures of the limits (issue 10), against real Caddy processes on
# loopback ports of their own, with the config bench/limits.Caddyfile:
#   (a) the trivial endpoint's throughput alone, and while 4 connections
#       hammer a `while True: pass` endpoint (timeout 1s): target >= 0.8;
#   (b) 1 MiB bodies built to make validation expensive: the answer's
#       status and time (target: the time limit + 100 ms at most) and how
#       long Caddy's CPU takes to be idle again after it (target: 1 s);
#   (c) each memory snippet: its answer and Caddy's peak RSS above idle.
#   bench/limits.sh            ROUNDS=n (default 3) repeats (a);
#                              DURATION=5s is one wrk run of (a).
# The measuring is bench/limits.py's. It builds bin/caddy and bin/caddy-nocgo (CGO_ENABLED=0, for the helium
# XSD backend) when they are missing; REBUILD=1 builds them again.
set -euo pipefail
cd "$(dirname "$0")"
CADDY=${CADDY:-../bin/caddy}
CADDY_NOCGO=${CADDY_NOCGO:-../bin/caddy-nocgo}
DURATION=${DURATION:-5s}
ROUNDS=${ROUNDS:-3}

command -v wrk >/dev/null || {
	if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
	$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq wrk
}
if [ "${REBUILD:-}" = 1 ] || [ ! -x "$CADDY" ]; then (cd .. && go build -o bin/caddy ./cmd/caddy); fi
if [ "${REBUILD:-}" = 1 ] || [ ! -x "$CADDY_NOCGO" ]; then (cd .. && CGO_ENABLED=0 go build -o bin/caddy-nocgo ./cmd/caddy); fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
WORK=$(mktemp -d)
CADDY_PID=""
stop_caddy() {
	if [ -n "$CADDY_PID" ]; then kill "$CADDY_PID" 2>/dev/null || true; wait "$CADDY_PID" 2>/dev/null || true; fi
	CADDY_PID=""
}
trap 'stop_caddy; rm -rf "$WORK"' EXIT

# start_caddy BINARY: runs it on limits.Caddyfile with fresh ports and
# storage; sets CADDY_PID, BASE and ADMIN.
start_caddy() {
	export BENCH_ADMIN_PORT=$(free_port) BENCH_HTTP_PORT=$(free_port)
	export BENCH_DATA=$(mktemp -d -p "$WORK")
	HOME=$BENCH_DATA "$1" run --config limits.Caddyfile --adapter caddyfile >"$BENCH_DATA/caddy.log" 2>&1 &
	CADDY_PID=$!
	BASE="http://127.0.0.1:$BENCH_HTTP_PORT" ADMIN="http://127.0.0.1:$BENCH_ADMIN_PORT"
	for _ in $(seq 200); do curl -fsS "$BASE/trivial" >/dev/null 2>&1 && return; sleep 0.1; done
	echo "caddy did not start:"; cat "$BENCH_DATA/caddy.log"; exit 1
}

rps() { awk '/Requests\/sec/ {print $2}'; }
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }

echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at the start"
start_caddy "$CADDY"

echo
echo "(a) trivial endpoint, wrk -t2 -c32 -d$DURATION; hammer: wrk -t1 -c4 on /spin (while True: pass, timeout 1s), started 2 s before;"
echo "    reference: the same hammer on /static (Caddy's respond), what any flood of the cheapest answer costs"
ratios="" refs=""
# hammered TARGET FILE: the trivial endpoint's req/s while wrk -t1 -c4
# hammers TARGET, the hammer's output in FILE
hammered() {
	local secs=${DURATION%s} pid busy
	wrk -t1 -c4 -d"$((secs + 4))s" --timeout 5s "$BASE$1" >"$2" &
	pid=$!
	sleep 2
	busy=$(wrk -t2 -c32 -d"$DURATION" "$BASE/trivial" | rps)
	wait "$pid"
	echo "$busy"
}
for round in $(seq "$ROUNDS"); do
	alone=$(wrk -t2 -c32 -d"$DURATION" "$BASE/trivial" | rps)
	busy=$(hammered /spin "$WORK/spin.txt")
	ref=$(hammered /static "$WORK/static.txt")
	spin=$(awk '/requests in/ {n=$1} /Non-2xx/ {x=$5} END {printf "%s requests, %s non-2xx", n, x}' "$WORK/spin.txt")
	statics=$(awk '/requests in/ {print $1}' "$WORK/static.txt")
	ratio=$(awk "BEGIN{printf \"%.2f\", $busy/$alone}")
	refr=$(awk "BEGIN{printf \"%.2f\", $ref/$alone}")
	ratios+="$ratio " refs+="$refr "
	echo "round $round: alone $alone req/s, hammered $busy req/s, ratio $ratio (spin: $spin); beside /static $ref req/s, ratio $refr ($statics requests)"
done
echo "median ratio: $(echo "$ratios" | median) (target >= 0.8); beside the /static hammer: $(echo "$refs" | median)"

echo
echo "(b) expensive bodies: status, time to answer, time from the answer until Caddy's CPU is idle (timeout 1s)"
python3 limits.py bodies "$CADDY_PID" "$BASE" "$ADMIN" cgo
stop_caddy
start_caddy "$CADDY_NOCGO"
python3 limits.py bodies "$CADDY_PID" "$BASE" "$ADMIN" nocgo
stop_caddy

echo
echo "(c) memory snippets (max_memory 64MiB): answer and peak RSS above idle"
start_caddy "$CADDY"
python3 limits.py memory "$CADDY_PID" "$BASE" "$ADMIN" cgo
