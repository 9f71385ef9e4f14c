#!/usr/bin/env bash
# Routed calls per second and latency (from each call's scheduled send time to its DeflectCall) of the host
# with the `csta` driver, driven by switchboard-pbxsim's load mode over loopback; host and pbxsim each pinned
# to its own core.
# Usage: bench/csta_load.sh SWITCHBOARD PBXSIM CALLS RATE [deflect|routeing] [CUSTOMERS]
#   bash bench/csta_load.sh build/bin/switchboard build/bin/switchboard-pbxsim 300000 30000   # throughput
#   bash bench/csta_load.sh build/bin/switchboard build/bin/switchboard-pbxsim 30000 1000     # latency
# The host keeps its durable call log (SQLite, WAL, synchronous FULL, group commit) and no exporters.
# LOW_LATENCY_IDLE=true sets the host's runtime.low_latency_idle (idle CPUs poll; needs root).
set -eu
if [ $# -lt 4 ] || [ "$1" = --help ] || [ "$1" = -h ]; then
  sed -n '2,/^set -eu/{/^set -eu/d; s/^# \{0,1\}//; p}' "$0" >&2
  exit 2
fi
bin=$(realpath "$1")
pbxsim=$(realpath "$2")
calls=$3
rate=$4
mode=${5:-deflect}
customers=${6:-100000}
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
. "$(dirname "$0")/csta_setup.sh"

runtime="{low_latency_idle: ${LOW_LATENCY_IDLE:-false}}"
csta_rules "$customers" >"$work/rules.csv"
csta_host_yaml "$work" 1 "$mode" "$runtime" >"$work/host.yaml"
"$bin" rules import "$work/rules.csv" -c "$work/host.yaml" >/dev/null
csta_scenario >"$work/scenario.yaml"

pin 1 "$pbxsim" --listen 127.0.0.1:0 --scenario "$work/scenario.yaml" --load "$calls" --rate "$rate" \
  --report-json "$work/report.json" --log-level warn >"$work/pbxsim.out" 2>"$work/pbxsim.log" &
pbx=$!
pids+=($pbx)
for _ in $(seq 1 100); do grep -q "^listening" "$work/pbxsim.out" && break; sleep 0.05; done
port=$(sed -n 's/^listening csta=127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/pbxsim.out")
csta_host_yaml "$work" "$port" "$mode" "$runtime" >"$work/host.yaml"
pin 0 "$bin" serve -c "$work/host.yaml" >"$work/serve.log" 2>&1 &
host=$!
pids+=($host)
wait "$pbx" || { echo "pbxsim failed:"; cat "$work/pbxsim.log" "$work/serve.log"; exit 1; }
host_cpu=$(awk '{printf "%.2f", ($14 + $15) / 100}' "/proc/$host/stat")
kill -TERM "$host"
wait "$host" || true
cat "$work/pbxsim.out" | grep -v "^listening"
echo "host CPU (user+sys) over the run: ${host_cpu} s"
cat "$work/report.json"; echo
