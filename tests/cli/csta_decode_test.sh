#!/usr/bin/env bash
# `switchboard csta decode`: bare XML and binary frames become JSON lines; garbage and truncation fail clearly.
# Usage: csta_decode_test.sh SWITCHBOARD DATA_DIR
set -u
bin=$1
data=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

frame() {  # frame INVOKE_ID FILE: the ECMA-323 J.2 header (00 00, big-endian total length, 4 digits) + body
  local n=$(( $(wc -c <"$2") + 8 ))
  printf '\x00\x00'"$(printf '\\x%02x\\x%02x' $((n >> 8)) $((n & 255)))"'%s' "$1"
  cat "$2"
}

out=$("$bin" csta decode "$data/delivered.xml") || fail "bare XML: $out"
echo "$out"
echo "$out" | grep -q '"kind":"delivered"' || fail "kind"
echo "$out" | grep -q '"type":"delivered","call_id":"4711","device":"100","calling":"0602123456"' || fail "event fields"
echo "$out" | grep -q '"cause":"new_call"' || fail "cause normalised"

{ frame 9999 "$data/delivered.xml"; frame 9999 "$data/delivered.xml"; } >"$work/two.bin"
out=$("$bin" csta decode "$work/two.bin") || fail "frames: $out"
[ "$(echo "$out" | grep -c '"invoke_id":9999')" -eq 2 ] || fail "two frames expected: $out"

head -c 40 "$work/two.bin" >"$work/cut.bin"
err=$("$bin" csta decode "$work/cut.bin" 2>&1) && fail "a truncated frame must fail"
echo "$err" | grep -q "truncated" || fail "truncation message: $err"

printf '\x00\x00\x00\x05abcd' >"$work/short.bin"
err=$("$bin" csta decode "$work/short.bin" 2>&1) && fail "a short length must fail"
echo "$err" | grep -q "frame 1: error" || fail "bad header message: $err"

echo '<NotCsta/>' >"$work/other.xml"
err=$("$bin" csta decode "$work/other.xml" 2>&1) && fail "an unknown message must fail"
echo "$err" | grep -q "unknown CSTA message <NotCsta>" || fail "unknown message: $err"
echo '<DeliveredEvent><connection>' >"$work/broken.xml"
"$bin" csta decode "$work/broken.xml" >/dev/null 2>&1 && fail "malformed XML must fail"
echo "ok: csta decode"
