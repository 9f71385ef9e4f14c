#!/usr/bin/env bash
# End to end over a real socket: the host with the `csta` driver against switchboard-pbxsim routes a
# fixed-seed scenario and writes the same call log as the in-process `sim` driver (run by `simulate` in
# virtual time) for the same scenario — in deflect mode and in routeing mode.
# Timestamps differ (real time against virtual time), so the lines are compared without their first field.
# Usage: csta_same_calllog_test.sh SWITCHBOARD PBXSIM
set -u
bin=$1
pbxsim=$2
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$work"; }
trap cleanup EXIT
export TZ=Europe/Prague
fail() { echo "FAIL: $*"; for f in "$work"/*.log; do echo "--- $f"; tail -n 30 "$f"; done; exit 1; }
calls=40

# Six customers; the scenario's known callers are their numbers in rule order, as the sim driver reads them.
cat >"$work/rules.csv" <<'CSV'
id;project;company_id;company;caller1;caller2;caller3;operators;street;city;postcode;note
1;100;;Novák s.r.o.;602111001;;;101,102;;;;
2;100;;Dvořák a.s.;+420 602 111 002;602111003;;102,103;;;;
3;200;;Černá;602111004;;;104;;;;
4;200;;Svoboda;00420602111005;;;105,104;;;;
5;100;;Marek;0602111007;;;103;;;;
CSV
model_settings='seed: 11, speed: 40, calls_per_minute: 12, known_callers: 0.7, withheld_callers: 0.1,
      answer_probability: 0.7, answer_delay_min: 2s, answer_delay_max: 6s, talk_time_min: 10s,
      talk_time_max: 30s, abandon_min: 8s, abandon_max: 25s, offline_operators: 0'

config() {  # config DIR DRIVER_BLOCK
  cat <<YAML
numbers: {region: CZ, pbx_exit_code: "0", internal_max_digits: 4}
control: {socket: "$1/control.sock"}
command_log: "$1/LOG_SA.TXT"
storage: {main: {type: soci, config: {connection: "sqlite3://$1/db.sqlite"}}}
routing:
  projects:
    type: project_rules
    config:
      storage: main
      projects: [{number: "100", operators: "101;102;103;"}, {number: "200", operators: ["104", "105"]}]
      all_projects_operators: ["106"]
      ring_timeout: 10m
drivers:
  pbx:
$2
exporters: {log: {type: calllog_file, config: {path: "$1/calllog.txt"}}}
YAML
}

# The reference: the sim driver in virtual time.
mkdir -p "$work/sim"
config "$work/sim" "    type: sim
    config: {$model_settings}" >"$work/sim.yaml"
"$bin" rules import "$work/rules.csv" -c "$work/sim.yaml" >/dev/null 2>"$work/import.log" || fail "rules import"
"$bin" simulate -c "$work/sim.yaml" --calls "$calls" >"$work/simulate.log" 2>&1 || fail "simulate"
[ "$(wc -l <"$work/sim/calllog.txt")" -eq "$calls" ] || fail "simulate wrote $(wc -l <"$work/sim/calllog.txt") lines"
cut -d';' -f2- "$work/sim/calllog.txt" | sort >"$work/sim.expected"

cat >"$work/scenario.yaml" <<YAML
projects: ["100", "200"]
extensions: ["101", "102", "103", "104", "105", "106"]
callers:
  - {number: "602111001", project: "100"}
  - {number: "+420602111002", project: "100"}
  - {number: "602111003", project: "100"}
  - {number: "602111004", project: "200"}
  - {number: "00420602111005", project: "200"}
  - {number: "0602111007", project: "100"}
calls: {$model_settings, max_calls: $calls}
YAML

for mode in deflect routeing; do
  dir="$work/$mode"
  mkdir -p "$dir"
  "$pbxsim" --listen 127.0.0.1:0 --scenario "$work/scenario.yaml" >"$work/pbxsim-$mode.out" 2>"$work/pbxsim-$mode.log" &
  pids+=($!)
  port=""
  for _ in $(seq 1 100); do
    port=$(sed -n 's/^listening csta=127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/pbxsim-$mode.out")
    [ -n "$port" ] && break
    sleep 0.05
  done
  [ -n "$port" ] || fail "pbxsim did not report its port"
  config "$dir" "    type: csta
    config: {host: 127.0.0.1, port: $port, mode: $mode, heartbeat_interval: 1s}" >"$work/$mode.yaml"
  cp "$work/sim/db.sqlite" "$dir/db.sqlite"
  SWITCHBOARD_LOG="driver.pbx=info" "$bin" serve -c "$work/$mode.yaml" >"$work/serve-$mode.log" 2>&1 &
  serve=$!
  pids+=($serve)
  for _ in $(seq 1 600); do
    [ -f "$dir/calllog.txt" ] && [ "$(wc -l <"$dir/calllog.txt")" -ge "$calls" ] && break
    kill -0 "$serve" 2>/dev/null || fail "$mode: serve exited"
    sleep 0.1
  done
  lines=$(wc -l <"$dir/calllog.txt" 2>/dev/null || echo 0)
  [ "$lines" -eq "$calls" ] || fail "$mode: $lines of $calls calls in the call log within 60s"
  kill -TERM "$serve"
  wait "$serve" || fail "$mode: serve did not exit cleanly"
  grep -q "link up peer=127.0.0.1:$port" "$work/serve-$mode.log" || fail "$mode: no link up"
  # pbxsim counts a client set up once every operator is monitored and every project monitored or registered
  # (before or after LinkUp, as the engine's request arrives).
  grep -q "client set up client=1" "$work/pbxsim-$mode.log" || fail "$mode: not every device monitored"
  cut -d';' -f2- "$dir/calllog.txt" | sort >"$work/$mode.got"
  diff "$work/sim.expected" "$work/$mode.got" >"$work/$mode.diff" || fail "$mode: call log differs from the sim driver's:
$(cat "$work/$mode.diff")"
  outcomes=$(cut -d';' -f4 "$work/$mode.got" | sort | uniq -c | awk '{printf " %s×%s", $1, $2}')
  echo "$mode: $calls calls, same call log as the sim driver; outcome codes:$outcomes"
done
echo "ok"
