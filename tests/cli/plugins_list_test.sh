#!/usr/bin/env bash
# `switchboard plugins list` shows every factory and names every refused file with its reason.
# Usage: plugins_list_test.sh SWITCHBOARD TEST_PLUGIN_DIR
set -u
bin=$1
dir=$2
out=$("$bin" plugins list --plugin-dir "$dir")
code=$?
fail() { echo "FAIL: $*"; echo "--- output:"; echo "$out"; exit 1; }
[ "$code" -eq 0 ] || fail "exit code $code"
echo "$out" | grep -Eq '^alert +log +switchboard\.alert-log +[0-9.]+ +/.*switchboard_alert_log\.so$' || fail "no line for the log alert"
echo "$out" | grep -Eq '^alert +asio_probe +test\.probe +1\.0\.0 ' || fail "no line for the probe plugin"
echo "$out" | grep -q '^refused:$' || fail "no refused section"
for file in test_abi_major_99.so test_abi_minor_newer.so test_build_tag_other.so test_not_a_plugin.so \
            test_probe_duplicate.so test_undocumented_key.so; do
  echo "$out" | grep -Eq "^  /.*/$file: .+" || fail "refused file $file is not named with a reason"
done
echo "$out" | grep -q "test_abi_major_99.so: built for SDK ABI 99; this host provides ABI 1.1; rebuild the plugin against a Switchboard SDK of ABI 1.x" \
  || fail "the ABI refusal does not give both versions and the fix"
echo "ok: factories listed, 6 refused files named with reasons"
