#!/usr/bin/env bash
# `switchboard calllog export --clear` while calls finish: every record is written exactly once, and the
# exported lines are the original's format. A live `serve` keeps writing during several exports.
# Usage: calllog_export_test.sh SWITCHBOARD
set -u
bin=$(realpath "$1")
work=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$work"' EXIT
cd "$work"
fail() { echo "FAIL: $*"; exit 1; }
mkdir -p var
cat >live.yaml <<YAML
storage: {main: {type: soci, config: {connection: "sqlite3://var/db.sqlite"}}}
routing:
  projects:
    type: project_rules
    config:
      storage: main
      projects: [{number: "100", operators: ["101", "102", "103"]}]
      all_projects_operators: ["118"]
      ring_timeout: 2s
drivers:
  pbx:
    type: sim
    config: {seed: 3, speed: 50, calls_per_minute: 30, answer_delay_min: 1s, answer_delay_max: 2s,
             talk_time_min: 1s, talk_time_max: 3s}
exporters: {every-call: {type: jsonl, config: {path: var/calls.jsonl}}}
YAML
"$bin" serve -c live.yaml >serve.log 2>&1 &
pid=$!
for i in 1 2 3 4 5; do
  sleep 1
  kill -0 "$pid" 2>/dev/null || fail "serve died: $(cat serve.log)"
  "$bin" calllog export -c live.yaml -o "part-$i.txt" --clear >"export-$i.log" 2>&1 || fail "export $i: $(cat "export-$i.log")"
done
kill -TERM "$pid"
wait "$pid" || fail "serve did not stop cleanly: $(tail -5 serve.log)"
pid=
"$bin" calllog export -c live.yaml -o part-last.txt --clear >export-last.log 2>&1 || fail "last export"
exported=$(cat part-*.txt | wc -l)
seen=$(wc -l <var/calls.jsonl)
[ "$seen" -gt 20 ] || fail "too few calls to mean anything: $seen"
[ "$exported" -eq "$seen" ] || fail "exported $exported lines, but $seen calls were logged"
written=0
for n in $(sed -n 's/^wrote \([0-9]*\) records.*/\1/p' export-*.log); do written=$((written + n)); done
[ "$written" -eq "$seen" ] || fail "the exports report $written records for $seen calls"
"$bin" calllog export -c live.yaml -o empty.txt >/dev/null 2>&1
[ ! -s empty.txt ] || fail "records left after the last export with --clear"
grep -Evq '^[0-9]{1,2}\.[0-9]{1,2}\.[0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2};100;[0-9]*;[0-9]*;[0-9]+;[0-9]*;'$'\r''$' part-*.txt \
  && fail "a line not in the original's format: $(grep -Ev '^[0-9]' part-*.txt | head -2)"
echo "ok: $seen calls, $exported lines over $(ls part-*.txt | wc -l) exports, none lost, none twice"
