#!/usr/bin/env bash
# Import of N generated rules (3 projects, 1-3 numbers each) into a fresh SQLite database, timed.
# Figure: 1,000,000 rules <= 10 s. Usage: bench/import_bench.sh [SWITCHBOARD] [N]
set -eu
bin=${1:-build/bin/switchboard}
n=${2:-1000000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat >"$work/c.yaml" <<YAML
storage: {main: {type: soci, config: {connection: "sqlite3://$work/db.sqlite"}}}
YAML
"$bin" rules generate --customers "$n" --seed 1 -o "$work/rules.csv" 2>/dev/null
start=$(date +%s.%N)
"$bin" rules import "$work/rules.csv" -c "$work/c.yaml"
end=$(date +%s.%N)
echo "import of $n rules: $(echo "$end - $start" | awk '{printf "%.2f", $1 - $3}') s ($(du -h "$work/rules.csv" | cut -f1) of CSV)"
