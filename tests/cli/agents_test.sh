#!/usr/bin/env bash
# `switchboard agents add|list|passwd|set|remove` end to end on SQLite: passwords from standard input stored
# only as argon2id hashes, never listed; duplicates, bad extensions and unknown names refused; `set`
# changes only the fields given.
# Usage: agents_test.sh SWITCHBOARD
set -u
bin=$(realpath "$1")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
fail() { echo "FAIL: $*"; exit 1; }
mkdir -p var
cat >sb.yaml <<YAML
storage: {main: {type: soci, config: {connection: "sqlite3://var/db.sqlite"}}}
YAML

run() {  # run EXPECTED_CODE ARGS... ; standard input from $input; output in $out
  local expected=$1
  shift
  out=$(printf '%s' "${input-}" | "$bin" "$@" 2>&1)
  local code=$?
  [ "$code" -eq "$expected" ] || fail "'switchboard $*' exited $code, expected $expected:
$out"
}
hash_of() { sqlite3 var/db.sqlite "SELECT password_hash FROM agents WHERE name='$1'"; }
field() { sqlite3 var/db.sqlite "SELECT $2 FROM agents WHERE name='$1'"; }

input=$'first secret\n' run 0 agents add alice --extension 101 --role administrator --central --own -c sb.yaml
input=$'second secret\r\nignored\n' run 0 agents add bob --extension 102 --call-module --group 500 -c sb.yaml
alice_hash=$(hash_of alice)
bob_hash=$(hash_of bob)
case "$alice_hash" in '$argon2id$'*) ;; *) fail "alice's stored hash is no argon2id hash: $alice_hash" ;; esac
case "$bob_hash" in '$argon2id$'*) ;; *) fail "bob's stored hash is no argon2id hash: $bob_hash" ;; esac
sqlite3 var/db.sqlite "SELECT * FROM agents" | grep -q secret && fail "a password is stored in clear"

input= run 0 agents list -c sb.yaml
text=$out
grep -q '^name ' <<<"$text" || fail "no header in the list: $text"
grep -Eq '^alice +101 +administrator +yes +yes +no +- ' <<<"$text" || fail "alice's row wrong: $text"
grep -Eq '^bob +102 +agent +no +no +yes +500 ' <<<"$text" || fail "bob's row wrong: $text"
grep -q 'argon2' <<<"$text" && fail "the list shows a hash: $text"
grep -q 'logged in' <<<"$text" && fail "nobody logged in, but the list says so: $text"

run 0 agents list --json -c sb.yaml
json=$out
[ "$(wc -l <<<"$json")" -eq 2 ] || fail "expected 2 JSON lines: $json"
python3 - "$json" <<'PY' || fail "JSON list wrong: $json"
import json, sys
rows = {r["name"]: r for r in map(json.loads, sys.argv[1].splitlines())}
assert set(rows) == {"alice", "bob"}, rows
for r in rows.values():
    assert not any("hash" in k or "password" in k for k in r), r
    assert not any(isinstance(v, str) and "argon2" in v for v in r.values()), r
    assert r["start"] is None and r["stop"] is None and r["logged_in"] is False and r["last_ip"] == "", r
a, b = rows["alice"], rows["bob"]
assert (a["extension"], a["role"], a["may_edit_central_list"], a["may_edit_own_list"], a["call_module"], a["group"]) \
    == ("101", "administrator", True, True, False, ""), a
assert (b["extension"], b["role"], b["may_edit_central_list"], b["may_edit_own_list"], b["call_module"], b["group"]) \
    == ("102", "agent", False, False, True, "500"), b
PY

# Refusals change nothing.
input=$'other\n' run 1 agents add alice --extension 103 -c sb.yaml
grep -q 'exists' <<<"$out" || fail "duplicate refused without saying why: $out"
[ "$(hash_of alice)" = "$alice_hash" ] || fail "a refused duplicate add changed alice's hash"
[ "$(field alice extension)" = 101 ] || fail "a refused duplicate add changed alice's extension"
input=$'pw\n' run 2 agents add carol --extension 1a3 -c sb.yaml
input=$'\n' run 2 agents add carol --extension 103 -c sb.yaml
input= run 2 agents add carol --extension 103 -c sb.yaml
input=$'pw\n' run 2 agents add carol --extension 103 --role boss -c sb.yaml
[ -z "$(field carol name)" ] || fail "carol was added although refused"
input=$'pw\n' run 1 agents passwd nobody -c sb.yaml
input= run 1 agents set nobody --extension 109 -c sb.yaml
input= run 2 agents set alice -c sb.yaml
input= run 2 agents set alice --extension x1 -c sb.yaml
input= run 2 agents set alice --central maybe -c sb.yaml

# passwd: a new hash for alice only.
input=$'new secret\n' run 0 agents passwd alice -c sb.yaml
new_hash=$(hash_of alice)
case "$new_hash" in '$argon2id$'*) ;; *) fail "alice's new hash is no argon2id hash: $new_hash" ;; esac
[ "$new_hash" != "$alice_hash" ] || fail "passwd did not change the hash"
[ "$(hash_of bob)" = "$bob_hash" ] || fail "passwd alice changed bob's hash"
[ "$(field alice extension)|$(field alice role)|$(field alice may_edit_central_list)" = "101|administrator|1" ] \
  || fail "passwd changed other fields of alice"
input=$'\n' run 2 agents passwd alice -c sb.yaml
[ "$(hash_of alice)" = "$new_hash" ] || fail "an empty password changed the hash"

# set: only the given fields.
before=$(sqlite3 var/db.sqlite "SELECT password_hash, may_edit_central_list, may_edit_own_list, call_module, role FROM agents WHERE name='bob'")
input= run 0 agents set bob --extension 112 --group "" -c sb.yaml
after=$(sqlite3 var/db.sqlite "SELECT password_hash, may_edit_central_list, may_edit_own_list, call_module, role FROM agents WHERE name='bob'")
[ "$before" = "$after" ] || fail "set --extension --group changed other fields: $before -> $after"
[ "$(field bob extension)|$(field bob group_number)" = "112|" ] || fail "set did not change extension and group"
input= run 0 agents set bob --central on --call-module off --role administrator -c sb.yaml
[ "$(field bob may_edit_central_list)|$(field bob may_edit_own_list)|$(field bob call_module)|$(field bob role)|$(field bob extension)" \
  = "1|0|0|administrator|112" ] || fail "set of flags and role wrong"
[ "$(hash_of bob)" = "$bob_hash" ] || fail "set changed bob's hash"

# remove.
input= run 0 agents remove bob -c sb.yaml
[ -z "$(field bob name)" ] || fail "bob still stored after remove"
input= run 1 agents remove bob -c sb.yaml
input= run 0 agents list --json -c sb.yaml
[ "$(wc -l <<<"$out")" -eq 1 ] && grep -q '"name":"alice"' <<<"$out" || fail "after remove, the list is: $out"
input= run 2 agents list --storage other -c sb.yaml
echo "ok: agents added, listed, refused, re-passworded, changed and removed"
