#!/usr/bin/env bash
# `switchboard route explain`: the customer found, candidates in order with reasons, outcome; --json too.
# Usage: route_explain_test.sh SWITCHBOARD DATA_DIR
set -u
bin=$1
data=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
cat >"$work/c.yaml" <<YAML
storage: {main: {type: soci, config: {connection: "sqlite3://$work/db.sqlite"}}}
routing:
  projects:
    type: project_rules
    config:
      storage: main
      projects: [{number: "100", operators: "116;117;"}]
      all_projects_operators: "118;"
YAML
"$bin" rules import "$data/rules.csv" -c "$work/c.yaml" >/dev/null || fail "import"

out=$("$bin" route explain -c "$work/c.yaml" --project 100 --caller "0602 123 456" --busy 114)
echo "$out"
echo "$out" | grep -qx "customer: rule 12" || fail "customer"
echo "$out" | grep -q "operator 114 busy" || fail "no reason for skipping 114"
echo "$out" | grep -qx "result: operator 115, outcome 1 (operator of the customer's rule)" || fail "result"

json=$("$bin" route explain -c "$work/c.yaml" --project 100 --caller 0777000999 --busy 116 --offline 117 --json)
echo "$json"
echo "$json" | grep -q '"outcome":3' || fail "json outcome"
echo "$json" | grep -q '"operator":"118"' || fail "json operator"
echo "$json" | grep -q '"customer_id":null' || fail "json customer"
echo "$json" | grep -q '"steps":\[' || fail "json steps"

out=$("$bin" route explain -c "$work/c.yaml" --project 100 --busy 118)
echo "$out" | grep -qx "result: no operator, outcome 9 (all operators busy: not handed over)" || fail "withheld, all busy: $out"
"$bin" route explain -c "$work/c.yaml" --project 999 --caller 115 >/dev/null 2>&1 && fail "an unknown project must fail"
echo "ok: explain"
