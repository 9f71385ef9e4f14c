#!/usr/bin/env bash
# Instructions per routed call in process (bench/callgrind.sh --quick --only in_process) against the value
# recorded for this build type in bench/results/callgrind_baseline.json; fails above baseline + tolerance.
# Usage: callgrind_regression.sh BUILD_DIR BUILD_TYPE SOURCE_DIR
# Exit 77 (ctest: skipped) only when valgrind is missing and cannot be installed.
set -euo pipefail
build=$1
build_type=${2:-}
source_dir=$3
baseline_file=$source_dir/bench/results/callgrind_baseline.json

if ! command -v valgrind >/dev/null; then
  echo "valgrind not installed; trying apt-get install -y valgrind"
  if [ "$(id -u)" = 0 ]; then apt-get install -y valgrind >/dev/null 2>&1 || true
  elif command -v sudo >/dev/null; then sudo -n apt-get install -y valgrind >/dev/null 2>&1 || true
  fi
  if ! command -v valgrind >/dev/null; then
    echo "skipped: valgrind not installed (and it could not be installed: apt-get install -y valgrind)"
    exit 77
  fi
fi

read -r baseline tolerance < <(python3 - "$baseline_file" "$build_type" <<'PY'
import json, sys
path, build_type = sys.argv[1], sys.argv[2]
try:
    data = json.load(open(path))
except OSError as e:
    print("missing 0"); sys.exit(0)
entry = data.get("in_process", {}).get(build_type)
tolerance = data.get("tolerance_percent", 15)
print(f"{entry['instructions_per_call'] if entry else 'missing'} {tolerance}")
PY
)
if [ "$baseline" = missing ]; then
  echo "FAIL: no in-process baseline for build type '$build_type' in $baseline_file."
  echo "Record one: bash $source_dir/bench/callgrind.sh $build --quick --only in_process, then add"
  echo "\"$build_type\": {\"instructions_per_call\": N, ...} under \"in_process\" in that file."
  exit 1
fi

out=$(bash "$source_dir/bench/callgrind.sh" "$build" --quick --only in_process)
echo "$out"
measured=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["in_process_instructions_per_call"])' "$out")
limit=$(python3 -c "print(round($baseline * (1 + $tolerance / 100)))")
echo "in process ($build_type, quick scale): $measured instructions per routed call; baseline $baseline, limit $limit (+$tolerance%)"
if [ "$measured" -gt "$limit" ]; then
  echo "FAIL: $measured instructions per routed call exceeds the baseline $baseline by more than $tolerance% (limit $limit)."
  echo "If the rise is intended, record the new value in $baseline_file (and say why in bench/RESULTS.md)."
  exit 1
fi
low=$(python3 -c "print(round($baseline * (1 - $tolerance / 100)))")
if [ "$measured" -lt "$low" ]; then
  echo "note: $measured is more than $tolerance% below the baseline $baseline: consider recording the new value in $baseline_file."
fi
echo "ok"
