#!/usr/bin/env bash
# The console over TLS (api.tls): a self-signed certificate made with openssl; HTTPS answers and a login sets
# a Secure cookie; plain HTTP on that port gets nothing; a certificate the host cannot read stops `serve`
# with exit 1 and the file named; half a TLS section is a configuration error (exit 2).
# Usage: api_tls_test.sh SWITCHBOARD
set -u
bin=$(realpath "$1")
work=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
cd "$work"
fail() { echo "FAIL: $*"; [ -f serve.log ] && { echo "--- serve.log"; tail -n 30 serve.log; }; exit 1; }

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null ||
       echo $(( 20000 + RANDOM % 20000 )))
openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem -days 2 -subj "/CN=127.0.0.1" \
  -addext "subjectAltName=IP:127.0.0.1" >openssl.log 2>&1 || fail "openssl: $(cat openssl.log)"

config() {  # config TLS_SECTION
  cat <<YAML
storage: {main: {type: soci, config: {connection: "sqlite3://db.sqlite"}}}
command_log: "LOG_SA.TXT"
control: {socket: "control.sock"}
api: {enabled: true, listen: "127.0.0.1:$port", $1}
YAML
}

# Half a section: refused before anything starts.
config 'tls: {certificate: cert.pem}' >half.yaml
code=0; "$bin" check -c half.yaml >check.log 2>&1 || code=$?
[ "$code" -eq 2 ] || fail "half a tls section: exit $code, expected 2"
grep -q "half.yaml:4:.*api.tls: give both 'certificate' and 'key'" check.log || fail "half a tls section: $(cat check.log)"

# A key file that is not there: serve names it and exits 1.
config 'tls: {certificate: cert.pem, key: missing.pem}' >missing.yaml
code=0; timeout 20 "$bin" serve -c missing.yaml >serve.log 2>&1 || code=$?
[ "$code" -eq 1 ] || fail "a missing key: exit $code, expected 1"
grep -q "api.tls: cannot read missing.pem: No such file or directory" serve.log || fail "a missing key is not named"

echo secret | "$bin" agents add anna -c missing.yaml --extension 101 --call-module >agents.log 2>&1 ||
  fail "agents add: $(cat agents.log)"
config 'tls: {certificate: cert.pem, key: key.pem}' >tls.yaml
"$bin" serve -c tls.yaml >serve.log 2>&1 &
pid=$!
for _ in $(seq 1 100); do
  curl -s --cacert cert.pem "https://127.0.0.1:$port/healthz" -o health.json && break
  sleep 0.1
done
grep -q '"status":"ok"' health.json 2>/dev/null || fail "no healthy answer over HTTPS: $(cat health.json 2>/dev/null)"
grep -q "web console on https://127.0.0.1:$port/" serve.log || fail "the log does not give the https address"
curl -s --cacert cert.pem -D headers.txt -o login.json -H 'Content-Type: application/json' \
  -d '{"name":"anna","password":"secret"}' "https://127.0.0.1:$port/api/login"
grep -qi '^set-cookie: switchboard_session=.*; HttpOnly; SameSite=Strict; Path=/; Secure' headers.txt ||
  fail "the session cookie over HTTPS is not Secure: $(cat headers.txt)"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$port/healthz")
[ "$code" = "000" ] || fail "plain HTTP on the TLS port answered $code"
kill -0 "$pid" 2>/dev/null || fail "serve died after a plain HTTP request on the TLS port"
kill -TERM "$pid"; wait "$pid"; code=$?; pid=""
[ "$code" -eq 0 ] || fail "serve exited with $code"
echo "TLS: half section refused, missing key named, HTTPS healthy, Secure cookie, plain HTTP refused"
