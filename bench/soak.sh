#!/usr/bin/env bash
# Soak test (not in CI): churn and traffic at a moderate load for a long
# while, then checks that the server's goroutines, heap and open files return
# to their baseline.
#
#   bench/soak.sh                 30 minutes
#   SOAK_DURATION=2m bench/soak.sh
#
# Load, all at once, on 127.0.0.1 only:
#   - churn: 40 new WebSocket connections per second, each joining a room and
#     leaving (half with a Socket.IO disconnect, half by dropping the TCP
#     connection);
#   - fanout: 200 clients in one room, one broadcast every 20 ms (10,000
#     deliveries per second), every delivery checked (no loss, in order);
#   - echo: 50 clients, each one round trip every 100 ms;
#   - polling: 20 long-polling clients, each one round trip every 200 ms.
# The server is sampled every minute (goroutines, heap in use after a GC,
# RSS, open files) into $out/samples.tsv. It passes when, 20 s after the load
# stops, goroutines are within 5 of the baseline, open files within 5, and the
# heap in use within 8 MiB + 50% of it; and no load generator reported a loss
# or an error. The summary goes to $out/summary.txt.
set -euo pipefail

cd "$(dirname "$0")/.."
duration="${SOAK_DURATION:-30m}"
port="${SOAK_PORT:-3900}"
out="${SOAK_OUT:-bench/results/soak-$(date -u +%Y%m%dT%H%M%SZ)}"
bin=bench/results/bin
mkdir -p "$bin" "$out"
ulimit -n 20000 2>/dev/null || true

secs() { # Go duration (s/m/h) to seconds
	local d="$1"
	case "$d" in
	*h) echo $((${d%h} * 3600)) ;;
	*m) echo $((${d%m} * 60)) ;;
	*s) echo "${d%s}" ;;
	*) echo "SOAK_DURATION: want e.g. 30m, 90s or 1h" >&2 && exit 2 ;;
	esac
}
total=$(secs "$duration")

echo "soak: building"
commit=$(git rev-parse --short HEAD)
go build -o "$bin/switchboard" .
go build -o "$bin/loadgen" ./bench/loadgen

cfg="$out/soak.yaml"
cat >"$cfg" <<EOF
listen: 127.0.0.1:${port}
static_dir: ""
log:
  level: warn
pprof: true
# Every client comes from 127.0.0.1: no per-address or total connection
# limits. The event rate limit (200/s per socket) stays on: no client here
# goes near it.
limits:
  max_connections: 0
  max_connections_per_ip: 0
  max_tcp_connections_per_ip: 0
  handshakes_per_second: 0
namespaces:
  - name: /
    app: bench
EOF

"$bin/switchboard" -config "$cfg" 2>"$out/server.log" &
srv=$!
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	kill "$srv" 2>/dev/null || true
	wait 2>/dev/null || true
}
trap cleanup EXIT
url="http://127.0.0.1:${port}"
for _ in $(seq 50); do
	curl -fsS "$url/debug/pprof/" >/dev/null 2>&1 && break
	sleep 0.2
done

# sample LABEL: one line of goroutines, heap in use after a GC (bytes), RSS
# (kB) and open files.
sample() {
	local g h r f
	g=$(curl -fsS "$url/debug/pprof/goroutine?debug=1" | sed -n 's/^goroutine profile: total \([0-9]*\).*/\1/p')
	h=$(curl -fsS "$url/debug/pprof/heap?debug=1&gc=1" | sed -n 's/^# HeapInuse = \([0-9]*\).*/\1/p')
	r=$(awk '/^VmRSS:/ {print $2}' "/proc/$srv/status")
	f=$(ls "/proc/$srv/fd" | wc -l)
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%H:%M:%S)" "$1" "$g" "$h" "$r" "$f"
}

printf 'time\tphase\tgoroutines\theap_inuse_bytes\trss_kb\tfds\n' >"$out/samples.tsv"
sleep 5
base=$(sample baseline)
echo "$base" >>"$out/samples.tsv"
echo "soak: baseline $base"

# The loads run for about $duration: the fanout stops sending then; echo and
# polling clients do as many rounds as fit with their pace plus 10 ms of
# round trip each (a little less than $duration), and -timeout leaves room
# for a slow machine.
lg=("$bin/loadgen" -url "$url" -pid "$srv" -json -timeout "$((total + 300))s")
"${lg[@]}" -scenario churn -rate 40 -duration "$duration" >"$out/churn.json" 2>"$out/churn.err" &
pids+=($!)
"${lg[@]}" -scenario fanout -n 200 -w 1 -k 1000000000 -send-for "$duration" -pace 20ms >"$out/fanout.json" 2>"$out/fanout.err" &
pids+=($!)
"${lg[@]}" -scenario echo -c 50 -rounds "$((total * 1000 / 110))" -pace 100ms >"$out/echo.json" 2>"$out/echo.err" &
pids+=($!)
"${lg[@]}" -scenario polling -m 20 -rounds "$((total * 1000 / 210))" -pace 200ms >"$out/polling.json" 2>"$out/polling.err" &
pids+=($!)

echo "soak: running for $duration (samples in $out/samples.tsv)"
# Sample every minute until every load generator has finished.
while :; do
	running=0
	for p in "${pids[@]}"; do
		kill -0 "$p" 2>/dev/null && running=1
	done
	((running)) || break
	sleep 60
	sample load >>"$out/samples.tsv" || true
done
fail=0
for p in "${pids[@]}"; do
	wait "$p" || fail=1
done
pids=()
sleep 20
after=$(sample after)
echo "$after" >>"$out/samples.tsv"

{
	echo "soak of $duration ending $(date -u +%Y-%m-%dT%H:%MZ), server built from commit $commit"
	echo
	column -t "$out/samples.tsv"
	echo
	for s in churn fanout echo polling; do
		echo "$s: $(tr -d '\n' <"$out/$s.json" | head -c 2000)"
		[[ -s "$out/$s.err" ]] && echo "  stderr: $(tail -n 3 "$out/$s.err")"
	done
	echo
	read -r _ _ g0 h0 r0 f0 <<<"$base"
	read -r _ _ g1 h1 r1 f1 <<<"$after"
	echo "goroutines $g0 -> $g1, heap in use $((h0 / 1024)) -> $((h1 / 1024)) KiB, RSS $r0 -> $r1 kB, open files $f0 -> $f1"
	verdict=PASS
	((g1 <= g0 + 5)) || { verdict=FAIL; echo "FAIL: goroutines did not return to the baseline"; }
	((f1 <= f0 + 5)) || { verdict=FAIL; echo "FAIL: open files did not return to the baseline"; }
	((h1 <= h0 + h0 / 2 + 8 * 1024 * 1024)) || { verdict=FAIL; echo "FAIL: heap did not return to the baseline"; }
	for s in churn fanout echo polling; do
		# Every scenario must have run to the end with nothing lost.
		if ! grep -q '"scenario"' "$out/$s.json"; then
			verdict=FAIL
			echo "FAIL: $s did not report"
		elif grep -qE '"(lost|errors|out_of_order|duplicates)":[1-9]' "$out/$s.json"; then
			verdict=FAIL
			echo "FAIL: $s reported losses or errors"
		fi
	done
	((fail == 0)) || { verdict=FAIL; echo "FAIL: a load generator exited with an error"; }
	echo "RESULT: $verdict"
} | tee "$out/summary.txt"
grep -q 'RESULT: PASS' "$out/summary.txt"
