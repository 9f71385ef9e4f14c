#!/usr/bin/env bash
# Every benchmark figure of bench/RESULTS.md, measured in one go and collected as one JSON document.
# Usage: bench/run.sh BUILD_DIR full|quick      (`make bench`, `make bench-quick`: a Release build first)
#   full:  the figures at the issue's scale (1M customers, 30 s load runs); writes bench/results/latest.json
#          and the summary table at the top of bench/RESULTS.md (between the bench:summary markers).
#   quick: every figure at reduced scale (20,000 customers, 3 s load runs), under a minute in total; prints
#          the JSON on stdout and writes bench/results/quick.json. Scale-bound figures (memory, cold start,
#          import) are not judged against their targets in quick mode (holds: null).
# A figure whose tool is missing (not built, not installed) is recorded with value null and the reason in its
# note; the script does not fail for it. Progress goes to stderr, each step's output to BUILD_DIR/bench-logs/.
# Needs bash, awk and coreutils only (no python3, no jq): the JSON is written with awk.
set -u
export LC_ALL=C

[ $# -eq 2 ] || { echo "usage: $0 BUILD_DIR full|quick" >&2; exit 2; }
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$1" && pwd) || exit 2
mode=$2
case $mode in full|quick) ;; *) echo "usage: $0 BUILD_DIR full|quick" >&2; exit 2 ;; esac
bin=$build/bin
logs=$build/bench-logs/$mode
rm -rf "$logs"
mkdir -p "$logs" "$root/bench/results"
work=$(mktemp -d)
figures=$work/figures.tsv
: >"$figures"
pg_dir=""
fixture=$root/tests/postgres/postgres_fixture.sh
cg_pid=""
cleanup() {
  if [ -n "$cg_pid" ]; then for c in $(pgrep -P "$cg_pid"); do kill "$c" 2>/dev/null; done; fi
  [ -n "$pg_dir" ] && bash "$fixture" stop "$pg_dir" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
started=$(date +%s)
say() { echo "bench [$(( $(date +%s) - started ))s] $*" >&2; }
# speed_probe: CPU time in us of one decode of the DeliveredEvent, the same code in every run, so that runs can
# be compared by it: a virtual machine has slower spells, and every figure slows with it (null if not built).
speed_probe() {
  "$bin/csta_decode_bench" --benchmark_filter='BM_DecodeDeliveredFrame$' --benchmark_min_time=0.3 \
    --benchmark_format=json 2>/dev/null | num cpu_time | awk '$1 != "null" { printf "%.2f", $1 / 1000; next } { print }'
}

if [ "$mode" = full ]; then
  customers=1000000 load_seconds=30 scale_runs=5 csta_customers=100000
else
  customers=20000 load_seconds=3 scale_runs=3 csta_customers=20000
fi

# figure NAME VALUE UNIT TARGET COMMAND NOTE: one figure. VALUE a number or "null"; TARGET "" (none) or
# ">= N" / "<= N" in UNIT; holds is worked out here (null when the value or the target is missing, or
# when JUDGE=no is set for the call).
figure() {
  local holds=null
  if [ "$2" != null ] && [ -n "$4" ] && [ "${JUDGE:-yes}" = yes ]; then
    holds=$(awk -v v="$2" -v t="$4" 'BEGIN { split(t, p, " "); ok = (p[1] == ">=") ? (v + 0 >= p[2] + 0) : (v + 0 <= p[2] + 0)
                                          print ok ? "true" : "false" }')
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$section" "$1" "$2" "$3" "$4" "$holds" "$5" "$6" >>"$figures"
  say "$1 = $2 $3 (target ${4:-none}, holds $holds)"
}
# num KEY < JSON: the first number after "KEY": in a JSON text (flat keys are enough here); null if absent.
num() { tr -d '\n' | sed -n "s/.*\"$1\"[[:space:]]*:[[:space:]]*\(-\{0,1\}[0-9.eE+-]*\).*/\1/p" | awk 'NR == 1 && $1 != "" { print $1 + 0; f = 1 } END { if (!f) print "null" }'; }
# step LOG TIMEOUT COMMAND...: runs COMMAND with its stdout and stderr in $logs/LOG; status as COMMAND's.
# The page cache's dirty data goes to disk first, so that a step's fsyncs do not wait for an earlier step's
# writeback (about 1 GB is dirty after the 1M rules imported into PostgreSQL).
step() {
  local log=$logs/$1 limit=$2
  shift 2
  sync
  echo "\$ $*" >"$log.cmd"
  timeout --kill-after=10 "$limit" "$@" >"$log" 2>"$log.err"
}
rel() { echo "${1#"$root"/}"; }  # a path as the command column shows it
b=$(rel "$bin")

probe_start=$(speed_probe)
say "speed probe: ${probe_start} us"

# --- 1. In process: the engine with the sim driver --------------------------------------------------------
section=1
if [ -x "$bin/engine_bench" ]; then
  say "engine in process, $customers customers"
  if [ "$mode" = full ]; then calls_opt=(); else calls_opt=(--calls 2000); fi
  mkdir -p "$work/engine"
  cmd="$b/engine_bench --customers $customers ${calls_opt[*]:+${calls_opt[*]} }--data DIR --json"
  if step engine 900 "$bin/engine_bench" --customers "$customers" "${calls_opt[@]}" --data "$work/engine" --json; then
    out=$(grep '^{' "$logs/engine" | tail -1)
    cpu=$(echo "$out" | num cpu_seconds)
    blocking=$(echo "$out" | num blocking_cpu_seconds)
    floor=$(echo "$out" | num floor_lookups_per_second)
    figure engine_calls_per_second "$(echo "$out" | num calls_per_second)" "calls/s" ">= 200000" "$cmd" \
      "routed calls per second on one core, $customers customers, sim driver; CPU ${cpu} s of the engine thread, not counting the ${blocking} s it ran the call log's SQLite appends (blocking work, on the blocking pool in real time; one transaction a call here)"
    figure engine_ratio_to_hash_map_floor "$(echo "$out" | num ratio)" "x" "<= 5" "$cmd" \
      "bare hash-map floor: $floor lookups/s"
  else
    note="engine_bench failed (status $?): see $(rel "$logs")/engine.err"
    figure engine_calls_per_second null "calls/s" ">= 200000" "$cmd" "$note"
    figure engine_ratio_to_hash_map_floor null "x" "<= 5" "$cmd" "$note"
  fi
else
  note="missing: $b/engine_bench is not built (bench/engine_bench.cpp)"
  figure engine_calls_per_second null "calls/s" ">= 200000" "$b/engine_bench --customers $customers --json" "$note"
  figure engine_ratio_to_hash_map_floor null "x" "<= 5" "$b/engine_bench --customers $customers --json" "$note"
fi

# --- 2. Over CSTA: host with the csta driver against switchboard-pbxsim on loopback -------------------------
section=2
# csta_load RATE SECONDS LOG: one run; sets load_errors, load_rate, load_json. Sustained = every call routed
# within pbxsim's 2 s (errors 0) and the routed rate within 3% of the offered one.
# LOW_LATENCY_IDLE in the environment of a call passes on to the host's runtime.low_latency_idle.
csta_load() {
  local calls=$(( $1 * $2 ))
  load_json="" load_errors=null load_rate=null load_before=$(cut -d' ' -f1 /proc/loadavg)
  step "$3" $(( $2 * 3 + 120 )) env LOW_LATENCY_IDLE="${LOW_LATENCY_IDLE:-false}" bash "$root/bench/csta_load.sh" \
    "$bin/switchboard" "$bin/switchboard-pbxsim" "$calls" "$1" deflect "$csta_customers" || return 1
  load_json=$(grep '^{' "$logs/$3" | tail -1)
  load_errors=$(echo "$load_json" | num errors)
  load_rate=$(echo "$load_json" | num rate)
  [ "$load_errors" = 0 ] && awk -v r="$load_rate" -v q="$1" 'BEGIN { exit !(r >= 0.97 * q) }'
}
if [ -x "$bin/switchboard-pbxsim" ] && [ -x "$bin/switchboard" ]; then
  cmd_load="bash bench/csta_load.sh $b/switchboard $b/switchboard-pbxsim RATE*$load_seconds RATE deflect $csta_customers"
  # Highest rate sustained for $load_seconds s: from 30,000 upwards while it holds, else downwards.
  if [ "$mode" = full ]; then up=(30000 35000 40000 45000); down=(27500 25000 22500 20000 15000 10000 5000)
  else up=(30000); down=(15000); fi
  best=0 tried=""
  for rate in "${up[@]}"; do
    say "CSTA load: $rate calls/s for $load_seconds s"
    if csta_load "$rate" "$load_seconds" "csta-$rate"; then best=$rate; tried="$tried $rate:ok(load $load_before)"
    else tried="$tried $rate:errors=$load_errors,rate=$load_rate(load $load_before)"; break; fi
  done
  if [ "$best" = 0 ]; then
    for rate in "${down[@]}"; do
      say "CSTA load: $rate calls/s for $load_seconds s"
      if csta_load "$rate" "$load_seconds" "csta-$rate"; then best=$rate; tried="$tried $rate:ok(load $load_before)"; break
      else tried="$tried $rate:errors=$load_errors,rate=$load_rate(load $load_before)"; fi
    done
  fi
  figure csta_sustained_calls_per_second "$best" "calls/s" ">= 30000" "$cmd_load" \
    "highest rate tried with 0 errors for $load_seconds s (routed rate within 3% of offered); host on core 0, pbxsim on core 1; $csta_customers customers in SQLite; tried (1-minute load average before each run):$tried"
  # What a routed call costs the host at that rate: every thread of it (events, routing, the call log's
  # SQLite commits), from the run's /proc CPU times. The issue's reference: Kamailio's comparable SIP redirect
  # takes about 30 us of CPU a call.
  host_cpu=null
  if [ "$best" != 0 ]; then
    host_cpu=$(sed -n 's/^host CPU (user+sys) over the run: \([0-9.]*\) s$/\1/p' "$logs/csta-$best" |
      awk -v n=$(( best * load_seconds )) '{ printf "%.1f", $1 * 1e6 / n }')
  fi
  figure csta_host_cpu_us_per_call "${host_cpu:-null}" "us" "" "$cmd_load" \
    "host CPU (user + system, every thread) over the $best calls/s run divided by its calls; for comparison, the issue's reference (Kamailio as a SIP redirect server over a 1M-entry table) takes about 30 us a call"

  # The latency figures are for a host tuned for latency (runtime.low_latency_idle: idle CPUs poll); the full
  # run also measures the default (idle CPUs sleep), whose wake-up on a virtual machine is most of the median.
  cmd_lat="bash bench/csta_load.sh $b/switchboard $b/switchboard-pbxsim $(( 1000 * load_seconds )) 1000 deflect $csta_customers"
  lat_note="from the scheduled send time (start + i / rate) to DeflectCall received, measured by pbxsim, so a stalled generator cannot hide latency (coordinated omission)"
  if [ "$mode" = full ]; then
    say "CSTA latency: 1000 calls/s for $load_seconds s, idle CPUs sleeping (default)"
    if csta_load 1000 "$load_seconds" csta-latency-default-idle || [ -n "$load_json" ]; then
      lat=$(echo "$load_json" | sed -n 's/.*"latency_us":{\([^}]*\)}.*/{\1}/p')
      figure csta_latency_default_idle_p50_us "$(echo "$lat" | num p50)" "us" "" "$cmd_lat" \
        "runtime.low_latency_idle false (the default): idle CPUs sleep; $lat_note; p99 $(echo "$lat" | num p99) us; errors $load_errors"
    else
      figure csta_latency_default_idle_p50_us null "us" "" "$cmd_lat" "the run failed: see $(rel "$logs")/csta-latency-default-idle.err"
    fi
  fi
  say "CSTA latency: 1000 calls/s for $load_seconds s, runtime.low_latency_idle"
  cmd_lat="LOW_LATENCY_IDLE=true $cmd_lat"
  lat_note="runtime.low_latency_idle true (idle CPUs poll); $lat_note"
  if LOW_LATENCY_IDLE=true csta_load 1000 "$load_seconds" csta-latency || [ -n "$load_json" ]; then
    lat=$(echo "$load_json" | sed -n 's/.*"latency_us":{\([^}]*\)}.*/{\1}/p')
    write_lat=$(echo "$load_json" | sed -n 's/.*"write_latency_us":{\([^}]*\)}.*/{\1}/p')
    lag=$(echo "$load_json" | sed -n 's/.*"send_lag_us":{\([^}]*\)}.*/{\1}/p')
    figure csta_latency_p50_us "$(echo "$lat" | num p50)" "us" "<= 100" "$cmd_lat" \
      "$lat_note; errors $load_errors; load average before $load_before; from the Delivered write p50 $(echo "$write_lat" | num p50) us"
    figure csta_latency_p99_us "$(echo "$lat" | num p99)" "us" "<= 1000" "$cmd_lat" \
      "$lat_note; p90 $(echo "$lat" | num p90) us; from the Delivered write p99 $(echo "$write_lat" | num p99) us"
    figure csta_latency_p99_9_us "$(echo "$lat" | num p99_9)" "us" "" "$cmd_lat" \
      "$lat_note; max $(echo "$lat" | num max) us; from the Delivered write p99.9 $(echo "$write_lat" | num p99_9) us; pbxsim's send lag (scheduled -> written) p99.9 $(echo "$lag" | num p99_9) us, max $(echo "$lag" | num max) us"
  else
    for p in p50 p99 p99_9; do figure "csta_latency_${p}_us" null "us" "" "$cmd_lat" "the run failed: see $(rel "$logs")/csta-latency.err"; done
  fi
else
  note="missing: switchboard or switchboard-pbxsim not built"
  figure csta_sustained_calls_per_second null "calls/s" ">= 30000" "bash bench/csta_load.sh" "$note"
  figure csta_host_cpu_us_per_call null "us" "" "bash bench/csta_load.sh" "$note"
  figure csta_latency_p50_us null "us" "<= 100" "bash bench/csta_load.sh" "$note"
  figure csta_latency_p99_us null "us" "<= 1000" "bash bench/csta_load.sh" "$note"
  figure csta_latency_p99_9_us null "us" "" "bash bench/csta_load.sh" "$note"
fi

# --- 3. Instructions per routed call (callgrind) ---------------------------------------------------------
# Instruction counts do not depend on the other work on the machine: in quick mode callgrind runs in the
# background beside figures 4-6 (not beside the CSTA runs, which need both cores), to stay within a minute.
cg_cmd="bash bench/callgrind.sh $(rel "$build")$([ "$mode" = quick ] && echo " --quick")"
cg_pid=""
callgrind_figures() {  # STATUS
  section=3
  if [ "$1" = 0 ]; then
    out=$(grep '^{' "$logs/callgrind" | tail -1)
    figure callgrind_in_process_instructions_per_call "$(echo "$out" | num in_process_instructions_per_call)" \
      "instructions" "<= 20000" "$cg_cmd" "callgrind, engine in process with the sim driver (engine_bench), per routed call"
    figure callgrind_csta_instructions_per_call "$(echo "$out" | num csta_instructions_per_call)" "instructions" "<= 50000" \
      "$cg_cmd" "callgrind, every thread of the host with the csta driver against pbxsim, per routed call"
  else
    note="callgrind.sh failed (status $1): see $(rel "$logs")/callgrind.err"
    [ "$1" = 3 ] && note="not measured: valgrind is not installed (apt-get install valgrind)"
    figure callgrind_in_process_instructions_per_call null "instructions" "<= 20000" "$cg_cmd" "$note"
    figure callgrind_csta_instructions_per_call null "instructions" "<= 50000" "$cg_cmd" "$note"
  fi
}
if [ -f "$root/bench/callgrind.sh" ]; then
  say "callgrind$([ "$mode" = quick ] && echo " (in the background)")"
  quick_opt=(); [ "$mode" = quick ] && quick_opt=(--quick)
  if [ "$mode" = quick ]; then
    step callgrind 600 bash "$root/bench/callgrind.sh" "$build" "${quick_opt[@]}" &
    cg_pid=$!
  else
    step callgrind 1800 bash "$root/bench/callgrind.sh" "$build"
    callgrind_figures $?
  fi
else
  section=3
  figure callgrind_in_process_instructions_per_call null "instructions" "<= 20000" "$cg_cmd" "missing: bench/callgrind.sh"
  figure callgrind_csta_instructions_per_call null "instructions" "<= 50000" "$cg_cmd" "missing: bench/callgrind.sh"
fi

# --- PostgreSQL: one throw-away cluster for figures 4 and 5 ----------------------------------------------
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
pg_note=""
if [ -z "$pg_bin" ] || [ ! -x "$pg_bin/initdb" ]; then
  pg_note="not measured: no PostgreSQL server installed (apt-get install postgresql)"
else
  pg_dir=$(mktemp -d /tmp/sb-bench-pg.XXXXXX)
  pg_port=""
  for p in $(seq 55480 55520); do
    (: </dev/tcp/127.0.0.1/$p) 2>/dev/null || { pg_port=$p; break; }
  done
  say "PostgreSQL: a throw-away cluster on 127.0.0.1:$pg_port"
  if [ -n "$pg_port" ] && step postgres-start 120 bash "$fixture" start "$pg_dir" "$pg_port"; then
    pg_conn="postgresql://host=127.0.0.1 port=$pg_port dbname=switchboard_test user=switchboard"
    pg_password=${SWITCHBOARD_TEST_POSTGRES_PASSWORD:-switchboard-test}
  else
    pg_note="not measured: the throw-away PostgreSQL cluster did not start (see $(rel "$logs")/postgres-start.err)"
    pg_dir=""
  fi
fi
as_postgres=(); [ "$(id -u)" -eq 0 ] && as_postgres=(runuser -u postgres --)

# --- 4. Scale of data --------------------------------------------------------------------------------------
section=4
say "scale: $customers customers, $scale_runs cold starts each"
cmd="bash bench/scale_bench.sh $b/switchboard $customers $scale_runs"
scale_env=()
[ -n "$pg_dir" ] && scale_env=(SWITCHBOARD_BENCH_POSTGRES="$pg_conn" SWITCHBOARD_BENCH_PASSWORD="$pg_password")
[ "$mode" = quick ] && export JUDGE=no
if step scale $(( 600 + customers / 1000 )) env "${scale_env[@]}" bash "$root/bench/scale_bench.sh" "$bin/switchboard" \
    "$customers" "$scale_runs"; then
  out=$(grep '^{' "$logs/scale" | tail -1)
  growth=$(echo "$out" | num rss_growth_bytes)
  figure rss_growth_mb "$(awk -v g="$growth" 'BEGIN { printf "%.1f", g / 1e6 }')" "MB" "<= 100" "$cmd" \
    "VmRSS of serve (sim driver, project_rules) ready with $customers customers in SQLite minus with an empty storage ($(echo "$out" | num rss_empty_kib) KiB); of it anonymous memory $(echo "$out" | num rss_anon_growth_bytes | awk '{ printf "%.1f", $1 / 1e6 }') MB (the rest: mapped files)"
  figure cold_start_sqlite_s "$(echo "$out" | num cold_start_sqlite_s)" "s" "<= 1.5" "$cmd" \
    "exec of serve to its ready line, $customers customers, SQLite in the page cache, median of $scale_runs (runs $(echo "$out" | sed -n 's/.*"cold_start_sqlite_runs":\(\[[^]]*\]\).*/\1/p'); empty storage $(echo "$out" | num cold_start_empty_s) s)"
  pgs=$(echo "$out" | num cold_start_postgres_s)
  note=$(echo "$out" | sed -n 's/.*"postgres_note":"\([^"]*\)".*/\1/p')
  [ -n "$pg_note" ] && note=$pg_note
  [ "$pgs" != null ] && note="exec of serve to its ready line, $customers customers, median of $scale_runs (runs $(echo "$out" | sed -n 's/.*"cold_start_postgres_runs":\(\[[^]]*\]\).*/\1/p')); $note; fsync off in the throw-away cluster (reads only)"
  figure cold_start_postgres_s "$pgs" "s" "<= 5" "$cmd" "$note"
else
  note="scale_bench.sh failed: see $(rel "$logs")/scale.err"
  figure rss_growth_mb null "MB" "<= 100" "$cmd" "$note"
  figure cold_start_sqlite_s null "s" "<= 1.5" "$cmd" "$note"
  figure cold_start_postgres_s null "s" "<= 5" "$cmd" "$note"
fi

say "import of $customers rules"
cmd="bash bench/import_bench.sh $b/switchboard $customers"
if step import 900 bash "$root/bench/import_bench.sh" "$bin/switchboard" "$customers"; then
  line=$(grep '^import of' "$logs/import" | tail -1)
  figure import_rules_s "$(echo "$line" | sed -n 's/^import of [0-9]* rules: \([0-9.]*\) s.*/\1/p')" "s" "<= 10" "$cmd" \
    "rules import of $customers generated rules into a new SQLite file (WAL, synchronous FULL, one transaction), wall clock; ${line#*: }"
else
  figure import_rules_s null "s" "<= 10" "$cmd" "import_bench.sh failed: see $(rel "$logs")/import.err"
fi
unset JUDGE

# --- 5. Durable call log -----------------------------------------------------------------------------------
section=5
# calllog_append_bench: batches of 100 records, one transaction each, each committed durably before the next.
calllog() {  # calllog LOG NAME WHAT [ENV...]
  local log=$1 name=$2 what=$3
  shift 3
  local cmd="$b/calllog_append_bench"
  [ $# -gt 0 ] && cmd="SWITCHBOARD_BENCH_CONNECTION=... $cmd"
  if [ ! -x "$bin/calllog_append_bench" ]; then
    figure "$name" null "rows/s" ">= 20000" "$cmd" "missing: calllog_append_bench not built"
  elif step "$log" 300 env "$@" "$bin/calllog_append_bench" --benchmark_format=json; then
    local cpu_us
    cpu_us=$(awk -v s="$(num cpu_s_per_row <"$logs/$log")" 'BEGIN { printf "%.1f", s * 1e6 }')
    figure "$name" "$(num rows_per_wall_s <"$logs/$log" | awk '{ printf "%.0f", $1 }')" "rows/s" ">= 20000" "$cmd" \
      "$what; append_calls of the soci storage in batches of 100 records, one transaction each, every commit durable before the next batch starts (a 100-row batch every 5 ms = 20,000 calls/s; the host commits at most once per 10 ms window, so its batches at that rate are larger); wall rows/s; CPU ${cpu_us} us per row. Storage append only, not the engine's CallLogPipeline timer"
  else
    figure "$name" null "rows/s" ">= 20000" "$cmd" "calllog_append_bench failed: see $(rel "$logs")/$log.err"
  fi
}
# The bench needs 3 s of its thread's CPU time (which the fsync waits are not): tens of seconds of wall time.
[ "$mode" = quick ] && export SWITCHBOARD_BENCH_MIN_TIME=0.3
say "call log: SQLite"
TMPDIR=$work calllog calllog-sqlite calllog_rows_per_second_sqlite \
  "SQLite file in $(dirname "$work") ($(stat -f -c %T "$work") file system; WAL, synchronous FULL)"
if [ -n "$pg_dir" ]; then
  say "call log: PostgreSQL (restarted with fsync on)"
  if step postgres-restart 120 "${as_postgres[@]}" "$pg_bin/pg_ctl" -D "$pg_dir/data" -m fast -w restart \
      -o "-c listen_addresses=127.0.0.1 -p $pg_port -k '$pg_dir/socket' -c fsync=on -c full_page_writes=on -c synchronous_commit=on"; then
    settings=$("${as_postgres[@]}" "$pg_bin/psql" -X -A -t -h "$pg_dir/socket" -p "$pg_port" -U postgres -d postgres \
      -c "SELECT string_agg(name || '=' || setting, ' ' ORDER BY name) FROM pg_settings WHERE name IN ('fsync','synchronous_commit','full_page_writes','wal_sync_method')" 2>/dev/null)
    calllog calllog-postgres calllog_rows_per_second_postgres \
      "PostgreSQL $(basename "$(dirname "$pg_bin")") on 127.0.0.1, $settings" \
      SWITCHBOARD_BENCH_CONNECTION="$pg_conn" SWITCHBOARD_BENCH_PASSWORD="$pg_password"
  else
    figure calllog_rows_per_second_postgres null "rows/s" ">= 20000" "$b/calllog_append_bench" \
      "not measured: the cluster did not restart with fsync on (see $(rel "$logs")/postgres-restart.err)"
  fi
else
  figure calllog_rows_per_second_postgres null "rows/s" ">= 20000" "$b/calllog_append_bench" "$pg_note"
fi

# --- 6. CSTA decode -----------------------------------------------------------------------------------------
section=6
if [ "$mode" = full ]; then reps=(--benchmark_repetitions=5); else reps=(--benchmark_repetitions=3 --benchmark_min_time=0.2); fi
cmd="$b/csta_decode_bench ${reps[*]} --benchmark_report_aggregates_only=true"
if [ ! -x "$bin/csta_decode_bench" ]; then
  figure csta_decode_us null "us" "<= 3" "$cmd" "missing: csta_decode_bench not built (libbenchmark-dev)"
elif step decode 300 "$bin/csta_decode_bench" "${reps[@]}" --benchmark_report_aggregates_only=true --benchmark_format=json; then
  # median_cpu NAME: the median's CPU time in microseconds.
  median_cpu() {
    awk -v want="\"$1_median\"," '
      $1 == "\"name\":" { inside = ($2 == want) }
      inside && $1 == "\"cpu_time\":" { t = $2 + 0 }
      inside && $1 == "\"time_unit\":" { u = $2; gsub(/[",]/, "", u)
        f = (u == "ns") ? 1e-3 : (u == "us") ? 1 : (u == "ms") ? 1e3 : 1e6; printf "%.2f\n", t * f; exit }' "$logs/decode"
  }
  figure csta_decode_us "$(median_cpu BM_DecodeDeliveredFrame)" "us" "<= 3" "$cmd" \
    "frame + XML decode of a 1,298-byte DeliveredEvent into a new message, median CPU time of the repetitions"
  figure csta_decode_reused_message_us "$(median_cpu BM_DecodeDeliveredFrameIntoReusedMessage)" "us" "<= 3" "$cmd" \
    "the same into one reused message, as the csta driver decodes"
else
  figure csta_decode_us null "us" "<= 3" "$cmd" "csta_decode_bench failed: see $(rel "$logs")/decode.err"
fi

if [ -n "$cg_pid" ]; then
  say "waiting for callgrind"
  wait "$cg_pid"
  callgrind_figures $?
fi

# --- The document --------------------------------------------------------------------------------------------
# The figures in section order (callgrind may have finished last), without the section column.
sort -s -t "$(printf '\t')" -k1,1n "$figures" | cut -f2- >"$work/sorted.tsv"
mv "$work/sorted.tsv" "$figures"
cpu_model=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
ram=$(awk '/^MemTotal:/ { printf "%.0f", $2 * 1024 }' /proc/meminfo)
commit=$(git -C "$root" rev-parse HEAD 2>/dev/null || echo unknown)
dirty=false
[ -n "$(git -C "$root" status --porcelain --untracked-files=no 2>/dev/null)" ] && dirty=true
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build/CMakeCache.txt" 2>/dev/null)
date_utc=$(date -u +%Y-%m-%dT%H:%M:%SZ)
load=$(cut -d' ' -f1-3 /proc/loadavg)
probe_end=$(speed_probe)

json=$work/result.json
awk -F'\t' -v cores="$(nproc)" -v cpu="$cpu_model" -v ram="$ram" -v kernel="$(uname -r)" -v date="$date_utc" \
  -v commit="$commit" -v dirty="$dirty" -v build_type="${build_type:-unknown}" -v mode="$mode" \
  -v load="$load" -v seconds="$(( $(date +%s) - started ))" -v probe_start="${probe_start:-null}" \
  -v probe_end="${probe_end:-null}" '
  function str(s) { gsub(/\\/, "\\\\", s); gsub(/"/, "\\\"", s); gsub(/\t/, " ", s); return "\"" s "\"" }
  BEGIN {
    printf "{\"machine\":{\"cores\":%d,\"cpu_model\":%s,\"ram_bytes\":%s,\"kernel\":%s,\"load_average_at_end\":%s,",
      cores, str(cpu), ram, str(kernel), str(load)
    printf "\"speed_probe_us\":{\"start\":%s,\"end\":%s}},\n", probe_start, probe_end
    printf " \"date\":%s,\"commit\":%s,\"commit_dirty\":%s,\"build_type\":%s,\"mode\":%s,\"seconds\":%d,\n \"figures\":[",
      str(date), str(commit), dirty, str(build_type), str(mode), seconds
  }
  {
    printf "%s\n  {\"name\":%s,\"value\":%s,\"unit\":%s,\"target\":%s,\"holds\":%s,\"command\":%s,\"note\":%s}",
      (NR > 1 ? "," : ""), str($1), $2, str($3), ($4 == "" ? "null" : str($4)), $5, str($6), str($7)
  }
  END { print "\n ]}" }' "$figures" >"$json"

if [ "$mode" = quick ]; then
  cp "$json" "$root/bench/results/quick.json"
  cat "$json"
  say "done: bench/results/quick.json"
  exit 0
fi
cp "$json" "$root/bench/results/latest.json"

# The summary table at the top of bench/RESULTS.md, between the markers; the rest of the file is kept.
results_md=$root/bench/RESULTS.md
start_marker='<!-- bench:summary:start -->'
end_marker='<!-- bench:summary:end -->'
summary=$work/summary.md
{
  echo "$start_marker"
  echo "## Summary of the last \`make bench\`"
  echo
  echo "Generated by \`bash bench/run.sh $(rel "$build") full\` (\`make bench\`) from \`bench/results/latest.json\`; the"
  echo "sections below are the history. Machine: $(nproc) cores ($cpu_model), $(awk -v r="$ram" 'BEGIN { printf "%.1f", r / 2^30 }') GiB RAM,"
  echo "kernel $(uname -r). Date: $date_utc. Commit: \`${commit:0:12}\`$([ "$dirty" = true ] && echo " (with uncommitted changes)"). Build: ${build_type:-unknown}."
  echo "Load average at the end: $load; the run took $(( $(date +%s) - started )) s. Speed probe (CPU time of one"
  echo "decode of the DeliveredEvent, the same code in every run; higher means a slower machine, and every figure"
  echo "moves with it): $probe_start µs at the start, $probe_end µs at the end."
  echo
  echo "| figure | result | target | | command |"
  echo "|---|---|---|---|---|"
  awk -F'\t' '
    function group(v,   s, neg, i, frac) {  # 1234567.5 -> 1,234,567.5
      if (v == "null") return "—"
      neg = (v < 0); if (neg) v = -v
      s = v ""; frac = ""
      i = index(s, "."); if (i) { frac = substr(s, i); s = substr(s, 1, i - 1) }
      if (s ~ /e/) return v
      while (length(s) > 3) { frac = "," substr(s, length(s) - 2) frac; s = substr(s, 1, length(s) - 3) }
      return (neg ? "-" : "") s frac
    }
    function pretty(t,   p) { split(t, p, " "); return (p[1] == ">=" ? "≥ " : "≤ ") group(p[2]) }
    {
      v = $2
      if (v != "null" && v >= 10 && v != int(v)) v = (v >= 100) ? sprintf("%.0f", v) : sprintf("%.1f", v)
      value = ($2 == "null") ? "not measured" : group(v) " " $3
      target = ($4 == "") ? "—" : pretty($4) " " $3
      verdict = ($5 == "true") ? "holds" : ($5 == "false") ? "**misses**" : ""
      if ($2 == "null") verdict = ""
      printf "| %s | %s | %s | %s | `%s` |\n", $1, value, target, verdict, $6
    }' "$figures"
  echo
  echo "Notes:"
  echo
  awk -F'\t' '{ printf "- %s: %s\n", $1, $7 }' "$figures"
  echo "$end_marker"
} >"$summary"
if grep -qF "$start_marker" "$results_md"; then
  awk -v s="$start_marker" -v e="$end_marker" -v f="$summary" '
    $0 == s { while ((getline line < f) > 0) print line; skip = 1; next }
    $0 == e { skip = 0; next }
    !skip' "$results_md" >"$work/RESULTS.md"
else
  # After the title paragraph: the first blank line after the first non-title paragraph.
  awk -v f="$summary" '
    { print }
    !done && NR > 1 && $0 == "" && seen { while ((getline line < f) > 0) print line; print ""; done = 1 }
    NR > 1 && $0 != "" { seen = 1 }' "$results_md" >"$work/RESULTS.md"
fi
cat "$work/RESULTS.md" >"$results_md"
say "done: bench/results/latest.json and the summary in bench/RESULTS.md"
