#!/usr/bin/env bash
# Import of N generated rules (3 projects, 1-3 numbers each) into a fresh SQLite database, timed: first the
# file checked alone (--dry-run), then the import. Figure: 1,000,000 rules <= 10 s.
# Wall clock always; CPU (user + sys) and peak resident memory too when GNU time is installed
# (/usr/bin/time, Debian package `time`): on a busy machine the CPU figure is the steadier one.
# Usage: bench/import_bench.sh [SWITCHBOARD] [N]
set -eu
if [ "${1:-}" = --help ] || [ "${1:-}" = -h ]; then
  sed -n '2,/^set -eu/{/^set -eu/d; s/^# \{0,1\}//; p}' "$0" >&2
  exit 2
fi
bin=${1:-build/bin/switchboard}
n=${2:-1000000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat >"$work/c.yaml" <<YAML
storage: {main: {type: soci, config: {connection: "sqlite3://$work/db.sqlite"}}}
YAML
"$bin" rules generate --customers "$n" --seed 1 -o "$work/rules.csv" 2>/dev/null
size=$(du -h "$work/rules.csv" | cut -f1)

timed() {  # timed WHAT COMMAND...: runs COMMAND (its standard output dropped) and prints its figures
  local what=$1
  shift
  local start end wall
  start=$(date +%s.%N)
  if [ -x /usr/bin/time ]; then
    /usr/bin/time -f '%U %S %M' -o "$work/time" "$@" >/dev/null
  else
    "$@" >/dev/null
  fi
  end=$(date +%s.%N)
  wall=$(echo "$end $start" | awk '{printf "%.2f", $1 - $2}')
  if [ -s "$work/time" ]; then
    echo "$what: $wall s ($(awk '{printf "%.2f s CPU, %d MiB peak", $1 + $2, $3 / 1024}' "$work/time"); $size of CSV)"
  else
    echo "$what: $wall s ($size of CSV)"
  fi
}

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
timed "dry run of $n rules" "$bin" rules import "$work/rules.csv" -c "$work/c.yaml" --dry-run
timed "import of $n rules" "$bin" rules import "$work/rules.csv" -c "$work/c.yaml"
