#!/usr/bin/env bash
# Instructions per routed call, counted by valgrind's callgrind: steadier than CPU time on a shared machine,
# and the figure the regression test (tests/bench/callgrind_regression.sh) compares.
#
# Usage: bench/callgrind.sh SWITCHBOARD_BUILD_DIR [--quick] [--only in_process|csta]
#   bash bench/callgrind.sh build            # both figures (a few minutes)
#   bash bench/callgrind.sh build --quick    # smaller call counts
#
# Each figure is two runs with different call counts; (instructions of the larger - of the smaller) /
# (calls of the larger - of the smaller), so the fixed start-up cost (plugins, customer index) cancels out.
#
# (a) in process: bin/engine_bench (sim driver, virtual time, project_rules over 20,000 customers in SQLite,
#     75% known / 20% unknown / 5% withheld callers). Instrumented only while it runs the calls
#     (Runtime::run_until_idle, through a callgrind client request, --instr-atstart=no), and counted only
#     inside that function (--toggle-collect), i.e. the thread that runs the engine, the strategy and the
#     sim PBX in virtual time: the same scope as engine_bench's CPU figure. The blocking work (the call
#     log's SQLite appends), which that thread runs itself in virtual time, is not counted: a second
#     --toggle-collect switches counting off inside Runtime::run_next_blocking.
# (b) over CSTA: bin/switchboard serve (csta driver, deflect mode, project_rules over 20,000 customers in
#     SQLite, 2 projects of 20 operators, the durable call log in SQLite) under callgrind, every thread of
#     the host counted from start to exit, against bin/switchboard-pbxsim --load N --rate R (not under
#     valgrind; the pbxsim side is not counted). The rate is low (callgrind slows the host some 50x), so the
#     call log's group commit stores few records per transaction: the figure is for that rate.
#
# Prints one JSON object on stdout: {"name":"callgrind","in_process_instructions_per_call":A,
# "csta_instructions_per_call":B} (null for a figure not measured); the runs' details on stderr.
set -euo pipefail
if [ $# -lt 1 ]; then
  echo "usage: $0 SWITCHBOARD_BUILD_DIR [--quick] [--only in_process|csta]" >&2
  exit 2
fi
build=$(realpath "$1")
shift
quick=0
only=""
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --only) only=$2; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
if ! command -v valgrind >/dev/null; then
  echo "error: valgrind is not installed (Debian: apt-get install -y valgrind)" >&2
  exit 3
fi
bin=$build/bin
customers=20000
if [ "$quick" = 1 ]; then
  inproc_calls=(1000 5000)
  csta_calls=(500 1500)
else
  inproc_calls=(2000 12000)
  csta_calls=(1000 4000)
fi
csta_rate=${CALLGRIND_CSTA_RATE:-200}
work=$(mktemp -d "${TMPDIR:-/tmp}/switchboard-callgrind.XXXXXX")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  if [ -n "${CALLGRIND_KEEP:-}" ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
. "$(dirname "$0")/csta_setup.sh"

# Sum of the Ir totals of every callgrind output file matching a prefix ("totals:"; "summary:" can be 0
# when collection was toggled).
instructions() {
  local total=0 n
  for f in "$1"*; do
    n=$(awk '/^totals:/ { t = $2 } /^summary:/ { s = $2 } END { print (t != "" ? t : s) }' "$f")
    total=$((total + ${n:-0}))
  done
  echo "$total"
}

per_call() {  # INSTR_SMALL INSTR_LARGE CALLS_SMALL CALLS_LARGE
  awk -v a="$1" -v b="$2" -v m="$3" -v n="$4" 'BEGIN { printf "%.0f", (b - a) / (n - m) }'
}

inproc=null
if [ -z "$only" ] || [ "$only" = in_process ]; then
  data=$work/data
  # The customers' SQLite file, made natively once; the runs under callgrind reuse it.
  "$bin/engine_bench" --customers "$customers" --calls 100 --data "$data" --json >/dev/null 2>"$work/prepare.log" ||
    { cat "$work/prepare.log" >&2; exit 1; }
  counts=()
  for calls in "${inproc_calls[@]}"; do
    valgrind --tool=callgrind --instr-atstart=no --collect-atstart=no \
      --toggle-collect='switchboard::core::Runtime::run_until_idle()' \
      --toggle-collect='switchboard::core::Runtime::run_next_blocking()' \
      --callgrind-out-file="$work/inproc-$calls.out" \
      "$bin/engine_bench" --customers "$customers" --calls "$calls" --data "$data" --json \
      >"$work/inproc-$calls.json" 2>"$work/inproc-$calls.log" || { tail -20 "$work/inproc-$calls.log" >&2; exit 1; }
    counts+=("$(instructions "$work/inproc-$calls.out")")
    echo "callgrind in process: $calls calls over $customers customers: ${counts[-1]} instructions" >&2
  done
  inproc=$(per_call "${counts[0]}" "${counts[1]}" "${inproc_calls[0]}" "${inproc_calls[1]}")
  echo "callgrind in process: $inproc instructions per routed call (engine thread, Runtime::run_until_idle)" >&2
fi

csta=null
if [ -z "$only" ] || [ "$only" = csta ]; then
  # The csta_load.sh setup at a smaller size.
  csta_rules "$customers" >"$work/rules.csv"
  csta_host_yaml "$work" 1 deflect "{start_timeout: 300s}" >"$work/host.yaml"
  "$bin/switchboard" rules import "$work/rules.csv" -c "$work/host.yaml" >/dev/null
  cp "$work/db.sqlite" "$work/db.template"
  csta_scenario >"$work/scenario.yaml"
  counts=()
  for calls in "${csta_calls[@]}"; do
    cp "$work/db.template" "$work/db.sqlite"
    rm -f "$work/db.sqlite-wal" "$work/db.sqlite-shm"
    pin 1 "$bin/switchboard-pbxsim" --listen 127.0.0.1:0 --scenario "$work/scenario.yaml" --load "$calls" \
      --rate "$csta_rate" --report-json "$work/report-$calls.json" --log-level warn \
      >"$work/pbxsim-$calls.out" 2>"$work/pbxsim-$calls.log" &
    pbx=$!
    pids+=($pbx)
    for _ in $(seq 1 100); do grep -q "^listening" "$work/pbxsim-$calls.out" && break; sleep 0.05; done
    port=$(sed -n 's/^listening csta=127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/pbxsim-$calls.out")
    csta_host_yaml "$work" "$port" deflect "{start_timeout: 300s}" >"$work/host.yaml"
    pin 0 valgrind --tool=callgrind ${CALLGRIND_EXTRA:-} --callgrind-out-file="$work/csta-$calls.out" \
      "$bin/switchboard" serve -c "$work/host.yaml" >"$work/serve-$calls.log" 2>&1 &
    host=$!
    pids+=($host)
    wait "$pbx" || { echo "pbxsim failed:" >&2; cat "$work/pbxsim-$calls.log" "$work/serve-$calls.log" >&2; exit 1; }
    kill -TERM "$host"
    wait "$host" || true
    counts+=("$(instructions "$work/csta-$calls.out")")
    echo "callgrind over CSTA: $calls calls at $csta_rate/s: ${counts[-1]} host instructions; pbxsim: $(cat "$work/report-$calls.json")" >&2
    if ! grep -q '"errors":0,' "$work/report-$calls.json"; then
      echo "warning: calls not routed within 2 s under callgrind; lower CALLGRIND_CSTA_RATE (now $csta_rate)" >&2
    fi
  done
  csta=$(per_call "${counts[0]}" "${counts[1]}" "${csta_calls[0]}" "${csta_calls[1]}")
  echo "callgrind over CSTA: $csta instructions per routed call (every host thread)" >&2
fi

echo "{\"name\":\"callgrind\",\"in_process_instructions_per_call\":$inproc,\"csta_instructions_per_call\":$csta}"
