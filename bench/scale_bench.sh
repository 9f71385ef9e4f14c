#!/usr/bin/env bash
# Scale of data: resident memory growth and cold start of `switchboard serve` with N customers.
# Usage: bench/scale_bench.sh SWITCHBOARD [CUSTOMERS] [RUNS]
#   bash bench/scale_bench.sh build-release/bin/switchboard 1000000 5
# PostgreSQL too when SWITCHBOARD_BENCH_POSTGRES is a connection (postgresql://host=... port=... dbname=...
# user=...) to a throw-away database (its rules are replaced), with the password in SWITCHBOARD_BENCH_PASSWORD;
# bench/run.sh starts one with tests/postgres/postgres_fixture.sh.
#
# What is measured:
#  - `rules generate --customers N` (3 projects, 1-3 numbers each), `rules import` into a new SQLite file
#    (and into PostgreSQL); the rules are imported once, not timed here (bench/import_bench.sh times that).
#  - cold start: from the exec of `switchboard serve` (sim driver, no calls, `project_rules` on the storage)
#    to its log line "ready instances=...", which the host writes after every instance has started and the
#    call engine has loaded its customer index: ready to route. RUNS runs each, median (and every run).
#    The database files are in the page cache (a restarted host, not a rebooted machine).
#  - resident memory growth: VmRSS of the ready host with N customers minus VmRSS of the same host on an empty
#    storage, each read 0.5 s after "ready".
# The sim driver reads its "known callers" from a storage at start (every rule); here it is given a second,
# empty SQLite storage so that the figures are the host's and its routing's, not the simulator's.
# Prints one JSON object on stdout; progress on stderr.
set -eu
if [ $# -lt 1 ] || [ "$1" = --help ] || [ "$1" = -h ]; then
  sed -n '2,/^set -eu/{/^set -eu/d; s/^# \{0,1\}//; p}' "$0" >&2
  exit 2
fi
bin=$(realpath "$1")
customers=${2:-1000000}
runs=${3:-5}
postgres=${SWITCHBOARD_BENCH_POSTGRES:-}
work=$(mktemp -d)
host_pid=""
cleanup() { [ -n "$host_pid" ] && kill "$host_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
say() { echo "scale_bench: $*" >&2; }

# config NAME CONNECTION [PASSWORD]: a host on that storage, sim driver on an empty second storage.
config() {
  local password=""
  [ -n "${3:-}" ] && password=", password: \"$3\""
  cat >"$work/$1.yaml" <<YAML
numbers: {region: CZ, pbx_exit_code: "0", internal_max_digits: 4}
logging: {level: info}
storage:
  main: {type: soci, config: {connection: "$2"$password}}
  callers: {type: soci, config: {connection: "sqlite3://$work/callers.sqlite"}}
routing:
  projects:
    type: project_rules
    config:
      storage: main
      projects: [{number: "100", operators: ["101", "102"]}, {number: "200", operators: ["103", "104"]},
                 {number: "300", operators: ["105", "106"]}]
drivers:
  pbx: {type: sim, config: {storage: callers, calls_per_minute: 0, seed: 1}}
YAML
}

# start_host NAME: runs serve on NAME.yaml until its "ready" line; sets ready_seconds and host_pid.
start_host() {
  rm -f "$work/fifo"
  mkfifo "$work/fifo"
  local start=$EPOCHREALTIME line
  "$bin" serve -c "$work/$1.yaml" >"$work/fifo" 2>&1 &
  host_pid=$!
  ready_seconds=""
  exec 3<"$work/fifo"
  while IFS= read -r line <&3; do
    case $line in
      *"ready instances="*)
        ready_seconds=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }')
        break ;;
      *error*) echo "$line" >&2 ;;
    esac
  done
  # Keep reading the log so that the host never blocks on a full pipe.
  cat <&3 >/dev/null &
  exec 3<&-
  [ -n "$ready_seconds" ] || { say "serve -c $1.yaml never became ready"; exit 1; }
}
stop_host() {
  kill -TERM "$host_pid" 2>/dev/null || true
  wait "$host_pid" 2>/dev/null || true
  host_pid=""
}
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$host_pid/status"; }
anon_kib() { awk '/^RssAnon:/ { print $2 }' "/proc/$host_pid/status"; }
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print "null"; else if (NR % 2) print v[(NR + 1) / 2];
                                               else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# cold_starts NAME: RUNS cold starts of NAME.yaml; prints "median [run,run,...]".
cold_starts() {
  local all="" i
  for i in $(seq 1 "$runs"); do
    start_host "$1"
    stop_host
    all="$all $ready_seconds"
  done
  echo "$(echo "$all" | tr ' ' '\n' | grep . | median) [$(echo $all | tr ' ' ',')]"
}

say "generating $customers customers"
"$bin" rules generate --customers "$customers" --seed 1 -o "$work/rules.csv" 2>/dev/null
config empty "sqlite3://$work/empty.sqlite"
config sqlite "sqlite3://$work/main.sqlite"
say "importing into SQLite"
"$bin" rules import "$work/rules.csv" -c "$work/sqlite.yaml" --storage main >/dev/null

say "empty storage: $runs cold starts"
read -r empty_median empty_runs <<<"$(cold_starts empty)"
[ -n "$empty_runs" ] || exit 1
say "SQLite, $customers customers: $runs cold starts"
read -r sqlite_median sqlite_runs <<<"$(cold_starts sqlite)"
[ -n "$sqlite_runs" ] || exit 1
# Resident memory: one more run each.
start_host empty; sleep 0.5; empty_rss=$(rss_kib); empty_anon=$(anon_kib); stop_host
start_host sqlite; sleep 0.5; sqlite_rss=$(rss_kib); sqlite_anon=$(anon_kib); stop_host

pg_median=null pg_runs="[]" pg_note="not measured: SWITCHBOARD_BENCH_POSTGRES not set"
if [ -n "$postgres" ]; then
  config postgres "$postgres" "${SWITCHBOARD_BENCH_PASSWORD:-}"
  say "importing into PostgreSQL"
  pg_start=$EPOCHREALTIME
  if "$bin" rules import "$work/rules.csv" -c "$work/postgres.yaml" --storage main >"$work/pg-import.log" 2>&1; then
    pg_import=$(awk -v a="$pg_start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
    say "PostgreSQL, $customers customers: $runs cold starts"
    read -r pg_median pg_runs <<<"$(cold_starts postgres)"
    pg_note="PostgreSQL on 127.0.0.1 (TCP, scram-sha-256), import took ${pg_import} s"
    if [ -z "$pg_runs" ]; then
      pg_median=null pg_runs="[]" pg_note="not measured: serve on PostgreSQL did not become ready"
    fi
  else
    pg_note="not measured: rules import into PostgreSQL failed: $(tail -1 "$work/pg-import.log" | tr '"\\' "''")"
  fi
fi

printf '{"name":"scale","customers":%s,"runs":%s,"rss_empty_kib":%s,"rss_loaded_kib":%s,"rss_growth_bytes":%s,' \
  "$customers" "$runs" "$empty_rss" "$sqlite_rss" "$(( (sqlite_rss - empty_rss) * 1024 ))"
printf '"rss_anon_growth_bytes":%s,' "$(( (sqlite_anon - empty_anon) * 1024 ))"
printf '"cold_start_empty_s":%s,"cold_start_sqlite_s":%s,"cold_start_sqlite_runs":%s,' \
  "$empty_median" "$sqlite_median" "$sqlite_runs"
printf '"cold_start_postgres_s":%s,"cold_start_postgres_runs":%s,"postgres_note":"%s"}\n' \
  "$pg_median" "$pg_runs" "$pg_note"
