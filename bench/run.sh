#!/usr/bin/env bash
# Benchmark suite: Switchboard vs the Node.js socket.io reference server.
#
#   bench/run.sh            full run (~40-50 min), writes BENCHMARKS.md and bench/benchmarks.svg
#   bench/run.sh -quick     smoke test (~5 min), writes under bench/results/
#
# Other flags go to bench/cmd/benchrun (-rounds N, -scenarios fanout-w50,echo,
# -port P, ...). Scenario groups: core (the medians and the chart, ~15-25 min),
# slowconsumer and manyconns (run once each, ~5 and ~22 min); select with
# -scenarios core or -scenarios slowconsumer, exclude with -scenarios=-manyconns;
# -hold 2m shortens the many-connections hold. The cluster group (fanout and
# polling on one node, and on three behind haproxy with Redis, sticky and
# not; ~3 min a round) runs only when asked for: -scenarios cluster. It needs
# /usr/bin/redis-server and /usr/sbin/haproxy. The webtransport group (echo
# and fanout over WebSocket and over WebTransport on Switchboard with its
# webtransport section; ~1 min a round) runs only when asked for too:
# -scenarios webtransport. Everything runs on 127.0.0.1
# (and 127.0.0.2-3, the other load generator source addresses) only.
set -euo pipefail

cd "$(dirname "$0")/.."
root=$(pwd)
bin=bench/results/bin
mkdir -p "$bin"

# 10,000 idle connections, and 19,000 for manyconns, need more than the
# default 1,024 open files, in the load generator and in both servers
# (children inherit the limit; manyconns spreads its clients over two load
# generator processes, as the server alone needs 19,000).
hard=$(ulimit -Hn)
want=20000
if [ "$hard" != unlimited ] && [ "$hard" -lt "$want" ]; then
	want=$hard
fi
ulimit -n "$want" || echo "run.sh: could not raise the open-file limit to $want" >&2
echo "run.sh: open-file limit $(ulimit -n)"

echo "run.sh: building switchboard, loadgen, benchrun"
go build -o "$bin/switchboard" .
go build -o "$bin/loadgen" ./bench/loadgen
go build -o "$bin/benchrun" ./bench/cmd/benchrun

if [ ! -d bench/node/node_modules/socket.io ]; then
	echo "run.sh: installing bench/node dependencies (npm ci)"
	(cd bench/node && npm ci --no-audit --no-fund)
fi

exec "$bin/benchrun" -bin "$bin" "$@"
