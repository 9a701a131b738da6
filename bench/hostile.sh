#!/usr/bin/env bash
# Hostile-mix soak (not in CI; its short version is bench/loadgen's
# TestHostileMix): the server with bench/hostile.yaml, 1,000 honest clients
# chatting in 50 rooms (a broadcast every 2 s each, every delivery checked)
# for the whole run, and from a quarter of the way on every attack of
# bench/loadgen/hostile_attacks.go at once, each worker from its own
# loopback address. Writes the report to $out/report.txt; RELIABILITY.md ("Under attack") quotes it.
#
#   bench/hostile.sh                        10 minutes
#   HOSTILE_DURATION=2m bench/hostile.sh
#
# Everything runs on 127.0.0.0/8 only.
set -euo pipefail

cd "$(dirname "$0")/.."
duration="${HOSTILE_DURATION:-10m}"
port="${HOSTILE_PORT:-3950}"
out="${HOSTILE_OUT:-bench/results/hostile-$(date -u +%Y%m%dT%H%M%SZ)}"
bin=bench/results/bin
mkdir -p "$bin" "$out"
ulimit -n 20000 2>/dev/null || true

echo "hostile: building at $(git rev-parse --short HEAD)"
go build -o "$bin/switchboard" .
go build -o "$bin/loadgen" ./bench/loadgen

sed "s/^listen: 127.0.0.1:3000$/listen: 127.0.0.1:${port}/" bench/hostile.yaml >"$out/hostile.yaml"
"$bin/switchboard" -config "$out/hostile.yaml" >"$out/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 50); do
	curl -fs "http://127.0.0.1:${port}/healthz" >/dev/null && break
	sleep 0.2
done

"$bin/loadgen" -scenario hostile -url "http://127.0.0.1:${port}" -pid "$server" \
	-n "${HOSTILE_CLIENTS:-1000}" -rooms 50 -pace 2s -duration "$duration" -sample 10s \
	-metrics-token hostile-soak-metrics-token | tee "$out/report.txt"
