#!/usr/bin/env bash
# Link faults over a real socket, injected through switchboard-pbxsim's control port, with the host serving:
#   drop     → LinkDown at once, the `exec` alert runs within 1 s, reconnect, monitors re-created, routing resumes;
#   silent   → detected after heartbeat_misses keep-alive intervals, not before; recovery when it speaks again;
#   garbage  → the connection is reset (malformed frame logged), recovery; the process stays up throughout.
# Usage: csta_faults_test.sh SWITCHBOARD PBXSIM
set -u
bin=$1
pbxsim=$2
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$work"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; for f in "$work"/*.log "$work"/alerts.txt; do [ -f "$f" ] && { echo "--- $f"; tail -n 40 "$f"; }; done; exit 1; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
# wait_for SECONDS 'CONDITION': evaluates the condition every 20 ms
wait_for() {
  local limit=$(( $1 * 50 ))
  for _ in $(seq 1 "$limit"); do eval "$2" && return 0; sleep 0.02; done
  return 1
}
count() { grep -c "$1" "$2" 2>/dev/null || true; }
calllog_lines() { { wc -l <"$work/calllog.txt"; } 2>/dev/null || echo 0; }
control() {  # control COMMAND: one line to the control port, one line back
  exec 3<>"/dev/tcp/127.0.0.1/$control_port" || fail "control port"
  echo "$1" >&3
  read -r -t 5 answer <&3 || answer="(no answer)"
  exec 3>&-
  case "$answer" in ok*) ;; *) fail "control '$1': $answer" ;; esac
}

cat >"$work/scenario.yaml" <<'YAML'
projects: ["100"]
extensions: ["101", "102", "103"]
status_interval: 0
calls: {seed: 3, speed: 20, calls_per_minute: 240, known_callers: 0, withheld_callers: 0, answer_probability: 1,
        answer_delay_min: 1s, answer_delay_max: 2s, talk_time_min: 2s, talk_time_max: 4s, abandon_min: 30s,
        abandon_max: 60s, offline_operators: 0}
YAML
"$pbxsim" --listen 127.0.0.1:0 --control 127.0.0.1:0 --scenario "$work/scenario.yaml" \
  >"$work/pbxsim.out" 2>"$work/pbxsim.log" &
pids+=($!)
wait_for 5 'grep -q "^listening" "$work/pbxsim.out"' || fail "pbxsim did not start"
csta_port=$(sed -n 's/^listening csta=127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/pbxsim.out")
control_port=$(sed -n 's/.* control=127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/pbxsim.out")

cat >"$work/host.yaml" <<YAML
control: {socket: "$work/control.sock"}
command_log: "$work/LOG_SA.TXT"
storage: {main: {type: soci, config: {connection: "sqlite3://$work/db.sqlite"}}}
routing:
  projects:
    type: project_rules
    config:
      storage: main
      projects: [{number: "100", operators: ["101", "102", "103"]}]
drivers:
  pbx:
    type: csta
    config: {host: 127.0.0.1, port: $csta_port, heartbeat_interval: 200ms, heartbeat_misses: 3,
             reconnect_initial: 200ms, reconnect_jitter: 0}
exporters: {log: {type: calllog_file, config: {path: "$work/calllog.txt"}}}
alerting: {min_interval: 0s}
alerts:
  to-file:
    type: exec
    config:
      command: ["/bin/sh", "-c", "echo \"\$SWITCHBOARD_ALERT_RULE \$(date +%s%N)\" >> '$work/alerts.txt'"]
      timeout: 5s
YAML
SWITCHBOARD_LOG="driver.pbx=info,host=info" "$bin" serve -c "$work/host.yaml" >"$work/serve.log" 2>&1 &
serve=$!
pids+=($serve)
up_count() { count "link up peer" "$work/serve.log"; }
wait_for 10 'test "$(up_count)" -ge 1' || fail "the link did not come up"
wait_for 10 'test "$(calllog_lines)" -ge 3' || fail "no calls routed"
echo "link up, calls routed"

# 1. The switch drops the link.
before=$(calllog_lines)
t0=$(now_ms)
control drop
wait_for 5 'grep -q "^pbx_link_down " "$work/alerts.txt"' || fail "no pbx_link_down alert"
alert_ms=$(( $(awk '/^pbx_link_down /{print $2; exit}' "$work/alerts.txt") / 1000000 ))
[ $(( alert_ms - t0 )) -le 1000 ] || fail "the exec alert ran $(( alert_ms - t0 )) ms after the drop"
grep -q 'link down reason="the switch closed the connection"' "$work/serve.log" || fail "no link down line"
wait_for 10 'test "$(up_count)" -ge 2' || fail "no reconnect after the drop"
grep -q "link up peer=127.0.0.1:$csta_port monitors=4/4" "$work/serve.log" || fail "monitors not re-created"
wait_for 10 'test "$(calllog_lines)" -ge $(( before + 3 ))' || fail "routing did not resume after the drop"
echo "drop: alert after $(( alert_ms - t0 )) ms, reconnected with 4 monitors, routing resumed"

# 2. The switch goes silent: 3 misses of 200 ms.
t1=$(now_ms)
control "silent on"
wait_for 5 'grep -q '\''link down reason="no answer'\'' "$work/serve.log"' || fail "silence not detected"
wait_for 5 'test "$(count '\''^pbx_link_down '\'' "$work/alerts.txt")" -ge 2' || fail "no second pbx_link_down alert"
detected_ms=$(( $(awk '/^pbx_link_down /{n++; if (n == 2) {print $2; exit}}' "$work/alerts.txt") / 1000000 ))
silent_for=$(( detected_ms - t1 ))
control "silent off"
[ "$silent_for" -ge 350 ] || fail "silence reported after $silent_for ms: before the keep-alive misses"
[ "$silent_for" -le 1200 ] || fail "silence reported after $silent_for ms: later than 3 × 200 ms and the alert"
wait_for 10 'test "$(up_count)" -ge 3' || fail "no reconnect after the silence"
echo "silent: reported after $silent_for ms, reconnected"

# 3. A malformed frame.
control garbage
wait_for 5 'grep -q '\''link down reason="malformed frame'\'' "$work/serve.log"' || fail "malformed frame not reported"
wait_for 10 'test "$(up_count)" -ge 4' || fail "no reconnect after the malformed frame"
before=$(calllog_lines)
wait_for 10 'test "$(calllog_lines)" -ge $(( before + 3 ))' || fail "routing did not resume after the malformed frame"
grep -q "^pbx_link_up " "$work/alerts.txt" || fail "no pbx_link_up alert"
echo "garbage: connection reset, reconnected, routing resumed"

kill -0 "$serve" 2>/dev/null || fail "serve died"
kill -TERM "$serve"
wait "$serve" || fail "serve did not exit cleanly"
echo "ok"
