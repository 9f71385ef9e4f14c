#!/usr/bin/env bash
# `switchboard simulate` with a fixed seed gives the same summary and the same call log twice, in seconds.
# Usage: simulate_test.sh SWITCHBOARD
set -u
bin=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export TZ=Europe/Prague
fail() { echo "FAIL: $*"; exit 1; }

run() {  # run DIR: a fresh database with generated customers, then 300 simulated calls
  mkdir -p "$1/var"
  cat >"$1/sim.yaml" <<YAML
storage: {main: {type: soci, config: {connection: "sqlite3://$1/var/db.sqlite"}}}
routing:
  projects:
    type: project_rules
    config:
      storage: main
      projects: [{number: "100", operators: "101;104;"}, {number: "200", operators: ["102"]}]
      all_projects_operators: "118;119;"
drivers: {pbx: {type: sim, config: {seed: 1}}}
exporters: {log: {type: calllog_file, config: {path: "$1/var/calllog.txt"}}}
YAML
  "$bin" rules generate --customers 300 --projects 100,200 --operators 101-110 --seed 4 -o "$1/rules.csv" 2>/dev/null \
    || fail "rules generate"
  "$bin" rules import "$1/rules.csv" -c "$1/sim.yaml" >/dev/null || fail "rules import"
  "$bin" simulate -c "$1/sim.yaml" --calls 300 --seed 5 >"$1/summary.txt" 2>&1 || fail "simulate: $(cat "$1/summary.txt")"
}
run "$work/a"
run "$work/b"
head -1 "$work/a/summary.txt" | grep -q "^simulated 300 calls in " || fail "summary: $(cat "$work/a/summary.txt")"
grep -q "^wait until answered: p50 " "$work/a/summary.txt" || fail "no wait percentiles: $(cat "$work/a/summary.txt")"
cmp -s "$work/a/summary.txt" "$work/b/summary.txt" || fail "summaries differ: $(diff "$work/a/summary.txt" "$work/b/summary.txt")"
[ "$(wc -l <"$work/a/var/calllog.txt")" -eq 300 ] || fail "expected 300 call-log lines, got $(wc -l <"$work/a/var/calllog.txt")"
cmp -s "$work/a/var/calllog.txt" "$work/b/var/calllog.txt" || fail "call logs differ"
# The original's line format: day and month without leading zeros; the virtual day starts 5 January 2026.
head -1 "$work/a/var/calllog.txt" | grep -Eq '^5\.1\.2026 09:00:[0-9]{2};(100|200);[0-9]*;[0-9]*;[0-9]+;[0-9]*;'$'\r''?$' \
  || fail "line format: $(head -1 "$work/a/var/calllog.txt" | od -c | head -3)"
cat "$work/a/summary.txt"
echo "ok: same seed, same summary and call log"
