#!/usr/bin/env bash
# `switchboard serve` starts every instance, reports ready, and stops cleanly on SIGTERM and on SIGINT.
# Runs in a scratch folder (the config's relative paths, such as var/, land there).
# Usage: serve_test.sh SWITCHBOARD CONFIG
set -u
bin=$1
config=$(realpath "$2")
work=$(mktemp -d)
log="$work/serve.log"
trap 'rm -rf "$work"' EXIT
cd "$work"
# The lifecycle lines are INFO; the demo config itself logs warnings only.
export SWITCHBOARD_LOG="host=info"
fail() { echo "FAIL: $*"; echo "--- log:"; cat "$log"; exit 1; }

for signal in TERM INT; do
  "$bin" serve -c "$config" >"$log" 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do
    grep -q "host: ready" "$log" && break
    kill -0 "$pid" 2>/dev/null || fail "serve exited before it was ready"
    sleep 0.1
  done
  grep -q "host: ready" "$log" || { kill -9 "$pid"; fail "serve did not report ready within 10s"; }
  kill -"$signal" "$pid"
  code=0
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && { kill -9 "$pid"; fail "serve did not stop within 10s of SIG$signal"; }
  wait "$pid" || code=$?
  [ "$code" -eq 0 ] || fail "serve exited with $code after SIG$signal"
  grep -q "signal SIG$signal received: stopping" "$log" || fail "no stop message for SIG$signal"
  grep -q "instance stopped instance=alert.ops-log" "$log" || fail "the alert instance was not stopped"
  grep -q "host: stopped" "$log" || fail "no final 'stopped' line"
  echo "SIG$signal: started, ready, stopped cleanly"
done
