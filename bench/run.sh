#!/usr/bin/env bash
# Benchmark suite: Switchboard vs the Node.js socket.io reference server.
#
#   bench/run.sh            full run (~15-25 min), writes BENCHMARKS.md and bench/benchmarks.svg
#   bench/run.sh -quick     smoke test (~2 min), writes under bench/results/
#
# Other flags go to bench/cmd/benchrun (-rounds N, -scenarios fanout-w50,echo,
# -port P, ...). Everything runs on 127.0.0.1 only.
set -euo pipefail

cd "$(dirname "$0")/.."
root=$(pwd)
bin=bench/results/bin
mkdir -p "$bin"

# 10,000 idle connections need more than the default 1,024 open files, in
# the load generator and in both servers (children inherit the limit).
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
