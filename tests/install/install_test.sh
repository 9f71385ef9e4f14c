#!/usr/bin/env bash
# Installs the SDK from a built tree into a temporary prefix, builds the out-of-tree example plugin
# (sdk/examples/alert_file) against it the way a vendor would, installs the plugin beside the host and
# checks that the installed host lists, validates and fires it.
# Usage: install_test.sh BUILD_DIR SOURCE_DIR   (BUILD_DIR: the main build tree, already built)
set -Eeuo pipefail

if [ $# -ne 2 ]; then
  echo "usage: $0 BUILD_DIR SOURCE_DIR" >&2
  exit 2
fi
build_dir=$(cd "$1" && pwd)
source_dir=$(cd "$2" && pwd)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix="$tmp/prefix"
example_build="$tmp/example-build"
config="$tmp/alerts.yaml"
alert_log="$tmp/alerts.log"
# Only the prefix's plugin directory counts: a developer's own plugin path must not hide a broken install.
unset SWITCHBOARD_PLUGIN_PATH

step="(setup)"
trap 'echo "FAIL: step \"$step\" failed (exit $?)" >&2' ERR
begin() {
  step=$1
  echo
  echo "==> $step"
}
fail() {
  echo "FAIL: step \"$step\": $*" >&2
  exit 1
}

launcher=()
if command -v ccache >/dev/null 2>&1; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi

begin "install the main build tree ($build_dir) into $prefix"
[ -x "$build_dir/bin/switchboard" ] || fail "$build_dir/bin/switchboard is missing: build the main tree first"
cmake --install "$build_dir" --prefix "$prefix"
[ -x "$prefix/bin/switchboard" ] || fail "the install has no bin/switchboard"

begin "configure the example plugin against the installed SDK only"
cmake -S "$source_dir/sdk/examples/alert_file" -B "$example_build" -G Ninja \
  -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_INSTALL_PREFIX="$prefix" "${launcher[@]}"
found=$(sed -n 's/^Switchboard_DIR:PATH=//p' "$example_build/CMakeCache.txt")
case "$found" in
  "$prefix"/*) echo "found the SDK package in $found" ;;
  *) fail "find_package(Switchboard) used '$found', not the package installed under $prefix" ;;
esac

begin "build the example plugin"
cmake --build "$example_build" -j2

begin "run the example plugin's tests"
tests=$(ctest --test-dir "$example_build" -N | sed -n 's/^Total Tests: *//p')
if [ "${tests:-0}" -gt 0 ]; then
  ctest --test-dir "$example_build" --output-on-failure -j2
else
  echo "no tests were built (GoogleTest not found?): skipped"
fi

begin "install the example plugin into $prefix"
cmake --install "$example_build"

begin "switchboard plugins list shows the example plugin"
out=$("$prefix/bin/switchboard" plugins list 2>&1) || fail "exit code $?; output:"$'\n'"$out"
echo "$out"
echo "$out" | grep -Eq '^alert +file +example\.alert-file +[^ ]+ +.*/example_alert_file\.so$' \
  || fail "no line 'alert  file  example.alert-file  VERSION  .../example_alert_file.so' in the output above"

begin "switchboard check accepts a config that uses the example plugin"
cat >"$config" <<EOF
alerts:
  to-file:
    type: file
    config:
      path: '$alert_log'
EOF
cat "$config"
"$prefix/bin/switchboard" check -c "$config" || fail "switchboard check -c $config exited $?"

begin "switchboard alerts test fires through the example plugin"
"$prefix/bin/switchboard" alerts test -c "$config" || fail "switchboard alerts test -c $config exited $?"
[ -f "$alert_log" ] || fail "$alert_log was not written"
echo "--- $alert_log:"
cat "$alert_log"
grep -qF "test alert from switchboard" "$alert_log" || fail "$alert_log lacks the test alert's summary"

step="(done)"
echo
echo "ok: SDK installed, example plugin built out of tree, listed, checked and fired"
