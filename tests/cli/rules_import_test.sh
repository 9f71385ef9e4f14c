#!/usr/bin/env bash
# `switchboard rules import|export` end to end on SQLite: import with history, re-import, every kind of bad
# row with nothing changed, dry run, replace, CP1250, and the export -> import -> export round trip.
# Usage: rules_import_test.sh SWITCHBOARD DATA_DIR
set -u
bin=$1
data=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export TZ=Europe/Prague
fail() { echo "FAIL: $*"; exit 1; }

config() {  # config FILE DB
  cat >"$1" <<YAML
numbers: {region: CZ, pbx_exit_code: "0", internal_max_digits: 4}
storage:
  main: {type: soci, config: {connection: "sqlite3://$2"}}
YAML
}
config "$tmp/a.yaml" "$tmp/a.db"
config "$tmp/b.yaml" "$tmp/b.db"
config "$tmp/c.yaml" "$tmp/c.db"

run() {  # run EXPECTED_CODE ARGS... ; output in $out
  local expected=$1
  shift
  out=$("$bin" "$@" 2>&1)
  local code=$?
  [ "$code" -eq "$expected" ] || fail "'switchboard $*' exited $code, expected $expected:
$out"
}
expect_line() {  # expect_line TEXT: $out must contain the exact line
  printf '%s\n' "$out" | grep -qxF -- "$1" || fail "missing line: $1
--- output:
$out"
}

# 1. Import rules and history into an empty database.
run 0 rules import "$data/rules.csv" --history "$data/history.csv" -c "$tmp/a.yaml"
expect_line "imported $data/rules.csv: 3 added, 0 updated, 0 unchanged, 0 removed; notes from $data/history.csv: 2 added, 0 already present"

# 2. The export shows the stored rules, operators as a list, quoting where needed.
run 0 rules export -c "$tmp/a.yaml" -o "$tmp/export.csv" --history "$tmp/export-history.csv"
expected=$'id;project;company_id;company;caller1;caller2;caller3;operators;street;city;postcode;note\r
12;100;ACME-1;"ACME; a.s.";+420 602 123 456;0602 123 457;;114,115;Dlouhá 5;Praha;110 00;"Key customer.\nPrefers mornings."\r
13;100;BETA-7;Beta s.r.o.;00420 777 000 111;;;116;Krátká 1;Brno;602 00;\r
14;;GAMMA;Gamma (lookup only);+420 222 333 444;;;;;Ostrava;;SA-group customer\r'
[ "$(cat "$tmp/export.csv")" = "$expected" ] || fail "export differs:
$(diff <(printf '%s\n' "$expected") "$tmp/export.csv")"
grep -qF '12;2006-02-23 09:00:00;;115;dvorak;"Called back; settled"' "$tmp/export-history.csv" || fail "history export: $(cat "$tmp/export-history.csv")"

# 3. Importing the same again changes nothing and duplicates no note.
run 0 rules import "$data/rules.csv" --history "$data/history.csv" -c "$tmp/a.yaml"
expect_line "imported $data/rules.csv: 0 added, 0 updated, 3 unchanged, 0 removed; notes from $data/history.csv: 0 added, 2 already present"

# 4. A bad file: every bad row reported, exit 2, the database untouched.
cp "$tmp/a.db" "$tmp/before.db"
run 2 rules import "$data/bad.csv" -c "$tmp/a.yaml"
expect_line "$data/bad.csv:3: caller1: '60300000a' is not a phone number (unexpected 'a')"
expect_line "$data/bad.csv:4: operators: operators need a project number: a rule without a project only identifies the caller (the SA group routes the call)"
expect_line "$data/bad.csv:6: operators: '1x4' is not an extension (digits only)"
expect_line "3 problems; nothing was imported"
run 0 rules export -c "$tmp/a.yaml" -o "$tmp/after-bad.csv"
cmp -s "$tmp/export.csv" "$tmp/after-bad.csv" || fail "a rejected import changed the rules"
# The clash with a stored rule shows once the rows themselves are good.
sed -e '/Bad number/d' -e '/Operators without/d' -e '/Bad operator/d' "$data/bad.csv" >"$tmp/clash.csv"
run 2 rules import "$tmp/clash.csv" -c "$tmp/a.yaml"
expect_line "$tmp/clash.csv:3: caller1: ambiguous route: +420602123456 is also a caller of stored rule 12 in project 100"

# 5. A dry run checks and writes nothing.
sed -n '1,2p' "$data/bad.csv" >"$tmp/one.csv"
run 0 rules import "$tmp/one.csv" -c "$tmp/a.yaml" --dry-run
expect_line "$tmp/one.csv: 1 rules are valid (dry run: nothing written)"
run 0 rules export -c "$tmp/a.yaml" -o "$tmp/after-dry.csv"
cmp -s "$tmp/export.csv" "$tmp/after-dry.csv" || fail "a dry run changed the rules"

# 6. Replacing project 100 with a one-rule file removes its other rules, keeps the rest and every note.
run 0 rules import "$tmp/one.csv" -c "$tmp/a.yaml" --project 100 --replace
expect_line "imported $tmp/one.csv: 1 added, 0 updated, 0 unchanged, 2 removed"
run 0 rules export -c "$tmp/a.yaml"
[ "$(printf '%s\n' "$out" | grep -Ec '^[0-9]+;')" -eq 2 ] || fail "after replace, expected rules 14 and 20:
$out"
run 0 rules export -c "$tmp/a.yaml" -o "$tmp/x.csv" --history "$tmp/notes-after-replace.csv"
[ "$(grep -c '^12;' "$tmp/notes-after-replace.csv")" -eq 2 ] || fail "notes were lost with their rule"

# 7. Round trip: export -> import into a new database -> export gives the same files.
run 0 rules import "$tmp/export.csv" --history "$tmp/export-history.csv" -c "$tmp/b.yaml"
run 0 rules export -c "$tmp/b.yaml" -o "$tmp/again.csv" --history "$tmp/again-history.csv"
cmp -s "$tmp/export.csv" "$tmp/again.csv" || fail "round trip changed the rules: $(diff "$tmp/export.csv" "$tmp/again.csv")"
cmp -s "$tmp/export-history.csv" "$tmp/again-history.csv" || fail "round trip changed the history"

# 8. CP1250 both ways.
run 0 rules export -c "$tmp/b.yaml" -o "$tmp/cp.csv" --encoding cp1250
grep -q "Dlouh$(printf '\xe1') 5" "$tmp/cp.csv" || fail "the CP1250 export is not CP1250"
run 2 rules import "$tmp/cp.csv" -c "$tmp/c.yaml"
expect_line "$tmp/cp.csv:2: bytes that are not UTF-8; a file from a legacy Windows tool needs --encoding cp1250"
run 0 rules import "$tmp/cp.csv" -c "$tmp/c.yaml" --encoding cp1250
run 0 rules export -c "$tmp/c.yaml" -o "$tmp/from-cp.csv"
cmp -s "$tmp/export.csv" "$tmp/from-cp.csv" || fail "CP1250 round trip changed the rules"

echo "ok: import, re-import, bad rows, dry run, replace, round trip, CP1250"
