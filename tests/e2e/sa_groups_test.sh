#!/usr/bin/env bash
# SA groups with the host serving, side by side with project_rules:
#   sim driver  → members dial the leave and join codes (402, 401): the engine clears those calls, sends the
#                 membership to the PBX and writes LOG_SA.TXT and the audit table; `switchboard groups
#                 status|login|logout` reach the running host through its control socket; unanswered group
#                 calls go on the agent's missed-call list (`switchboard missed list`);
#   csta        → the same dial codes over a real socket with switchboard-pbxsim: Originated, ClearConnection,
#                 SetAgentState answered by the simulated switch.
# Usage: sa_groups_test.sh SWITCHBOARD PBXSIM
set -u
bin=$(realpath "$1")
pbxsim=$(realpath "$2")
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$work"; }
trap cleanup EXIT
cd "$work"
fail() { echo "FAIL: $*"; for f in "$work"/*.log "$work"/var/log/LOG_SA.TXT; do [ -f "$f" ] && { echo "--- $f"; tail -n 30 "$f"; }; done; exit 1; }
wait_for() {  # wait_for SECONDS 'CONDITION', checked every 50 ms
  local limit=$(( $1 * 20 ))
  for _ in $(seq 1 "$limit"); do eval "$2" && return 0; sleep 0.05; done
  return 1
}
log_lines() { { wc -l <var/log/LOG_SA.TXT; } 2>/dev/null || echo 0; }

routing() {  # the routing section both parts share
  cat <<'YAML'
routing:
  projects:
    type: project_rules
    config:
      storage: main
      projects: [{number: "100", operators: "104;"}]
  groups:
    type: sa_group
    config:
      storage: main
      groups:
        - {number: "300", name: Support, capacity: 5, members: "101;102;103;", ring_timeout: 30s,
           unanswered: {action: notify, agent: "120", after: 1s}}
YAML
}

# ----- part 1: the sim driver ------------------------------------------------------------------------------
mkdir -p var
{
  echo 'storage: {main: {type: soci, config: {connection: "sqlite3://var/db.sqlite"}}}'
  routing
  cat <<'YAML'
drivers:
  pbx:
    type: sim
    config: {seed: 5, speed: 10, calls_per_minute: 6, answer_probability: 1, answer_delay_min: 15s,
             answer_delay_max: 20s, talk_time_min: 2s, talk_time_max: 3s, abandon_min: 60s, abandon_max: 90s,
             offline_operators: 0,
             dials: [{after: 2s, from: "103", number: "402"}, {after: 6s, from: "103", number: "401"}]}
YAML
} >sim.yaml
"$bin" check -c sim.yaml >check.log 2>&1 || fail "check: $(cat check.log)"
"$bin" serve -c sim.yaml >serve.log 2>&1 &
pids+=($!)
serve=$!
wait_for 10 '[ "$(log_lines)" -ge 2 ]' || fail "the two dial codes did not reach the PBX command log"
grep -q ';pbx;dial code 402;set_agent_state device=103 group=300 state=logged_out;ok;' var/log/LOG_SA.TXT \
  || fail "leave line: $(head -1 var/log/LOG_SA.TXT)"
grep -q ';pbx;dial code 401;set_agent_state device=103 group=300 state=logged_in;ok;' var/log/LOG_SA.TXT \
  || fail "join line: $(sed -n 2p var/log/LOG_SA.TXT)"
grep -Eq '^[0-9]{1,2}\.[0-9]{1,2}\.[0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2};' var/log/LOG_SA.TXT || fail "time field"

"$bin" groups status -c sim.yaml >status.txt 2>status.log || fail "groups status: $(cat status.log)"
grep -q 'group 300 "Support" (linear, capacity 5): 3 of 3 members joined' status.txt || fail "status: $(cat status.txt)"
"$bin" groups logout 102 -c sim.yaml >logout.txt 2>logout.log || fail "groups logout: $(cat logout.log)"
"$bin" groups status -c sim.yaml >status2.txt 2>&1
grep -q '  102 left' status2.txt || fail "102 did not leave: $(cat status2.txt)"
wait_for 5 'grep -q ";pbx;cli;set_agent_state device=102 group=300 state=logged_out;ok;" var/log/LOG_SA.TXT' \
  || fail "the CLI's change is not in the command log"
if "$bin" groups login 199 -c sim.yaml >nonmember.txt 2>&1; then fail "a non-member joined"; fi
grep -q "199 is no member of any SA group" nonmember.txt || fail "non-member message: $(cat nonmember.txt)"
lines_before=$(log_lines)

wait_for 20 '"$bin" missed list --agent 120 -c sim.yaml --json 2>/dev/null | grep -q "\"number\":\"300\""' \
  || fail "no unanswered group call reached 120's missed-call list"
kill -TERM "$serve"
wait "$serve" || fail "serve did not stop cleanly: $(tail -5 serve.log)"
pids=()
[ ! -e var/run/switchboard.sock ] || fail "the control socket was left behind"
if "$bin" groups status -c sim.yaml >nohost.txt 2>&1; then fail "groups status without a host succeeded"; fi
grep -q "no running switchboard answers on var/run/switchboard.sock" nohost.txt || fail "no-host message: $(cat nohost.txt)"
"$bin" missed list -c sim.yaml >missed.txt 2>&1 || fail "missed list: $(cat missed.txt)"
grep -Eq '^[0-9]+ +[0-9.]+ [0-9:]+ +300 ' missed.txt || fail "missed list table: $(head -3 missed.txt)"
audit=$(sqlite3 var/db.sqlite "SELECT actor || '|' || command || '|' || result || '|' || ok FROM audit ORDER BY sequence")
echo "$audit" | grep -qx 'dial code 402|set_agent_state device=103 group=300 state=logged_out|ok|1' || fail "audit: $audit"
echo "$audit" | grep -qx 'cli|set_agent_state device=102 group=300 state=logged_out|ok|1' || fail "audit: $audit"
[ "$(log_lines)" -eq "$lines_before" ] || fail "the command log changed after the last command"

# ----- part 2: CSTA with switchboard-pbxsim ----------------------------------------------------------------
cat >scenario.yaml <<'YAML'
projects: ["100", "300"]
extensions: ["101", "102", "103", "104", "120"]
status_interval: 0
calls: {seed: 3, calls_per_minute: 0}
YAML
"$pbxsim" --listen 127.0.0.1:0 --control 127.0.0.1:0 --scenario scenario.yaml >pbxsim.out 2>pbxsim.log &
pids+=($!)
wait_for 5 'grep -q "^listening" pbxsim.out' || fail "pbxsim did not start"
csta_port=$(sed -n 's/^listening csta=127\.0\.0\.1:\([0-9]*\).*/\1/p' pbxsim.out)
control_port=$(sed -n 's/.* control=127\.0\.0\.1:\([0-9]*\).*/\1/p' pbxsim.out)
{
  echo 'storage: {main: {type: soci, config: {connection: "sqlite3://var/csta.sqlite"}}}'
  echo 'command_log: var/log/LOG_SA-csta.TXT'
  echo 'control: {socket: var/run/csta.sock}'
  routing
  echo "drivers: {pbx: {type: csta, config: {host: 127.0.0.1, port: $csta_port}}}"
} >csta.yaml
"$bin" serve -c csta.yaml >serve-csta.log 2>&1 &
pids+=($!)
wait_for 10 'grep -q "pbx link up" serve-csta.log || grep -q "link up" serve-csta.log' || fail "no link up: $(tail -5 serve-csta.log)"
exec 3<>"/dev/tcp/127.0.0.1/$control_port" || fail "control port"
echo "dial 103 402" >&3
read -r -t 5 answer <&3 || answer="(no answer)"
exec 3>&-
case "$answer" in ok*) ;; *) fail "pbxsim dial: $answer" ;; esac
wait_for 10 'grep -q "state=logged_out;ok;" var/log/LOG_SA-csta.TXT 2>/dev/null' \
  || fail "the leave code over CSTA: $(cat var/log/LOG_SA-csta.TXT 2>/dev/null) $(tail -5 pbxsim.log)"
grep -q ';pbx;dial code 402;set_agent_state device=103 group=300 state=logged_out;ok;' var/log/LOG_SA-csta.TXT \
  || fail "csta command line: $(cat var/log/LOG_SA-csta.TXT)"
"$bin" groups status -c csta.yaml >status-csta.txt 2>&1 || fail "groups status over csta: $(cat status-csta.txt)"
grep -q '  103 left' status-csta.txt || fail "status over csta: $(cat status-csta.txt)"
echo "ok: dial codes, CLI membership, command log, audit and missed calls with the sim driver; dial codes over CSTA"
