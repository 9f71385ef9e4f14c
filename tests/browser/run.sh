#!/usr/bin/env bash
# The web console in a real browser (Debian's chromium driven by playwright-core), against a real host:
#   switchboard-pbxsim (CSTA switch) ← csta driver ← `switchboard serve` with the HTTP API on a free port;
#   a customer imported with `switchboard rules import`, two agents added with `switchboard agents add`;
#   console_test.mjs logs both agents in, makes a call ring at anna's extension through pbxsim's control port
#   and checks the pop, the note sent with Enter, and the note arriving on the other agent's console.
# Screenshots go to BUILD_DIR/browser/*.png. Installs chromium, nodejs and npm (apt) and playwright-core (npm,
# into BUILD_DIR/browser/npm, never a browser download) when they are missing.
# Usage: run.sh SWITCHBOARD PBXSIM BUILD_DIR
set -u
if [ $# -ne 3 ]; then echo "usage: $0 SWITCHBOARD PBXSIM BUILD_DIR" >&2; exit 2; fi
bin=$(realpath "$1")
pbxsim=$(realpath "$2")
mkdir -p "$3/browser"
build=$(realpath "$3")
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
out="$build/browser"
work=$(mktemp -d)
pids=()
failed=0

cleanup() {
  local p
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
  for _ in $(seq 1 50); do
    local alive=0
    for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ "$alive" -eq 0 ] && break
    sleep 0.1
  done
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
  if [ "$failed" -ne 0 ]; then
    mkdir -p "$out/logs"
    cp "$work"/*.log "$work"/*.yaml "$out/logs/" 2>/dev/null
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
fail() {
  failed=1
  echo "FAIL: $*"
  for f in "$work"/*.log; do [ -f "$f" ] && { echo "--- $f"; tail -n 40 "$f"; }; done
  exit 1
}
wait_for() {  # wait_for SECONDS 'CONDITION', checked every 100 ms
  local limit=$(( $1 * 10 ))
  for _ in $(seq 1 "$limit"); do eval "$2" && return 0; sleep 0.1; done
  return 1
}

# ----- what the test needs: chromium, node and npm (Debian), playwright-core (npm) -------------------------
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
apt_install() {
  echo "installing $*"
  $sudo apt-get update -qq >/dev/null 2>&1 || true
  DEBIAN_FRONTEND=noninteractive timeout 240 $sudo apt-get install -y -qq --no-install-recommends "$@" >"$work/apt.log" 2>&1 \
    || fail "apt-get install $* failed: $(tail -5 "$work/apt.log")"
}
[ -x /usr/bin/chromium ] || apt_install chromium
{ command -v node >/dev/null && command -v npm >/dev/null; } || apt_install nodejs npm
[ -x /usr/bin/chromium ] || fail "/usr/bin/chromium is missing after installing the chromium package"
node -e 'process.exit(parseInt(process.versions.node) >= 20 ? 0 : 1)' || fail "node $(node --version) is older than 20, which playwright-core needs"

npm_dir="$out/npm"
mkdir -p "$npm_dir"
if [ ! -f "$npm_dir/node_modules/playwright-core/package.json" ] || ! cmp -s "$here/package.json" "$npm_dir/package.json"; then
  cp "$here/package.json" "$npm_dir/package.json"
  echo "installing playwright-core into $npm_dir"
  (cd "$npm_dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 timeout 240 npm install --no-audit --no-fund --loglevel=error) \
    >"$work/npm.log" 2>&1 || fail "npm install failed: $(tail -20 "$work/npm.log")"
fi
[ -f "$npm_dir/node_modules/playwright-core/package.json" ] || fail "playwright-core is not in $npm_dir/node_modules"

# ----- the switch, the data and the host ---------------------------------------------------------------------
cd "$work"
cat >scenario.yaml <<'YAML'
projects: ["100", "300"]
extensions: ["101", "102", "103"]
status_interval: 0
calls: {seed: 1, calls_per_minute: 0, answer_probability: 0, abandon_min: 150s, abandon_max: 200s,
        offline_operators: 0}
YAML
"$pbxsim" --listen 127.0.0.1:0 --control 127.0.0.1:0 --scenario scenario.yaml >pbxsim.out 2>pbxsim.log &
pids+=($!)
wait_for 10 'grep -q "^listening" pbxsim.out' || fail "pbxsim did not start"
csta_port=$(sed -n 's/^listening csta=127\.0\.0\.1:\([0-9]*\).*/\1/p' pbxsim.out)
control_port=$(sed -n 's/.* control=127\.0\.0\.1:\([0-9]*\).*/\1/p' pbxsim.out)
api_port=$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close();})') \
  || fail "no free port"

cat >host.yaml <<YAML
numbers: {region: CZ, pbx_exit_code: "0", internal_max_digits: 4}
control: {socket: "$work/control.sock"}
command_log: "$work/LOG_SA.TXT"
storage: {main: {type: soci, config: {connection: "sqlite3://$work/db.sqlite"}}}
routing:
  projects:
    type: project_rules
    config:
      storage: main
      projects: [{number: "100", operators: ["103"]}]
      ring_timeout: 120s
  groups:
    type: sa_group
    config:
      storage: main
      groups:
        - {number: "300", name: Support, capacity: 5, members: "101;102;103;", ring_timeout: 30s}
drivers:
  pbx:
    type: csta
    config: {host: 127.0.0.1, port: $csta_port}
exporters: {log: {type: calllog_file, config: {path: "$work/calllog.txt"}}}
api: {enabled: true, listen: "127.0.0.1:$api_port", web_root: "$repo/web"}
YAML

# The customer whose call pops (caller 0602 123 456 → +420602123456), two more for the search, and history.
cat >rules.csv <<'CSV'
id;project;company_id;company;caller1;caller2;caller3;operators;street;city;postcode;note
12;100;NOV-0012;Novák a syn s.r.o.;+420 602 123 456;+420 222 111 012;;101;Dlouhá 12;Praha;110 00;Key customer: service contract until 2027. Prefers calls in the morning.
13;100;KRT-0013;Krátký Transport a.s.;+420 777 000 113;;;101;Krátká 3;Brno;602 00;
14;;SVB-0014;Svoboda Elektro;+420 606 555 014;;;;Nádražní 40;Ostrava;702 00;SA-group customer
CSV
cat >history.csv <<'CSV'
rule_id;saved_at;call_at;operator;agent;text
12;2026-01-14 09:12:40;2026-01-14 09:05:02;102;olga;Asked about the spring maintenance visit, sent the price list by e-mail.
12;2026-02-03 15:40:11;2026-02-03 15:31:47;101;anna;Invoice 2026-017 paid twice: refund agreed, accounting informed.
CSV
"$bin" rules import rules.csv --history history.csv -c host.yaml >import.log 2>&1 || fail "rules import: $(cat import.log)"
printf 'secret\n' | "$bin" agents add anna --extension 101 --call-module --central -c host.yaml >agents.log 2>&1 \
  || fail "agents add anna: $(cat agents.log)"
printf 'secret2\n' | "$bin" agents add olga --extension 102 --call-module --central --own --role administrator \
  --group 300 -c host.yaml >>agents.log 2>&1 || fail "agents add olga: $(cat agents.log)"
"$bin" check -c host.yaml >check.log 2>&1 || fail "check: $(cat check.log)"

"$bin" serve -c host.yaml >serve.log 2>&1 &
serve=$!
pids+=($serve)

# ----- the browser -------------------------------------------------------------------------------------------
rm -f "$out"/*.png
BASE_URL="http://127.0.0.1:$api_port" CONTROL_PORT="$control_port" NPM_DIR="$npm_dir" SCREENSHOT_DIR="$out" \
  WORK_DIR="$work" CALL_PROJECT=100 CALL_CALLER=0602123456 COMPANY="Novák a syn s.r.o." \
  timeout -k 5 200 node "$here/console_test.mjs" >browser.log 2>&1 &
node_pid=$!
pids+=($node_pid)
wait "$node_pid"
code=$?
cat browser.log
[ "$code" -eq 0 ] || fail "console_test.mjs exited $code"
kill -0 "$serve" 2>/dev/null || fail "serve died during the test"
echo "ok: console pop, note on Enter, note pushed to a second console; screenshots in $out"
