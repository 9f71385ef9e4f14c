#!/usr/bin/env bash
# Runs `switchboard check` on one bad config and compares its error output with the golden file.
# Usage: check_golden.sh SWITCHBOARD CONFIG.yaml   (expects CONFIG.expected beside it, exit code 2)
set -u
bin=$1
config=$2
dir=$(dirname "$config")
name=$(basename "$config")
expected="$dir/${name%.yaml}.expected"
unset SWITCHBOARD_TEST_UNSET_VARIABLE
actual=$(cd "$dir" && "$bin" check -c "$name" 2>&1)
code=$?
status=0
if [ "$code" -ne 2 ]; then
  echo "expected exit code 2, got $code"
  status=1
fi
if ! diff -u "$expected" <(printf '%s\n' "$actual"); then
  echo "output differs from $expected (above: - expected, + actual)"
  status=1
fi
exit $status
