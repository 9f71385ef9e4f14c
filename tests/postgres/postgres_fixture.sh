#!/usr/bin/env bash
# A throw-away PostgreSQL cluster for the storage tests.
#
#   postgres_fixture.sh start DIR PORT   # new cluster in DIR, listening on 127.0.0.1:PORT only
#   postgres_fixture.sh stop DIR         # stops it (fast mode) and removes DIR
#
# The cluster has a database `switchboard_test` owned by the role `switchboard`, whose password
# (SWITCHBOARD_TEST_POSTGRES_PASSWORD, default `switchboard-test`) is required over TCP (scram-sha-256 on
# 127.0.0.1 only), so the tests exercise the plugin's secret `password` key. The superuser connects only through the Unix socket inside DIR (trust). initdb and postgres refuse
# to run as root: as root, DIR belongs to the `postgres` user and the tools run through runuser.
# Quiet on success; on failure the server log is printed.
set -euo pipefail

usage() { echo "usage: $0 start DIR PORT | stop DIR" >&2; exit 2; }
[ $# -ge 2 ] || usage
command=$1
dir=$2

bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
  echo "postgres_fixture: no PostgreSQL server found under /usr/lib/postgresql/*/bin (apt-get install postgresql)" >&2
  exit 1
fi

as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

password=${SWITCHBOARD_TEST_POSTGRES_PASSWORD:-switchboard-test}
data="$dir/data"
socket="$dir/socket"
log="$dir/server.log"

stop_cluster() {
  if [ -f "$data/postmaster.pid" ]; then
    as_owner "$bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1 || true
  fi
}

case "$command" in
  start)
    [ $# -eq 3 ] || usage
    port=$3
    # A cluster left behind by an interrupted run is stopped and replaced.
    stop_cluster
    rm -rf "$dir"
    # A Unix socket path is limited to 107 bytes, including the socket's own name (.s.PGSQL.PORT).
    if [ ${#socket} -gt 90 ]; then
      echo "postgres_fixture: $socket is too long for a Unix socket; use a shorter build folder" >&2
      exit 1
    fi
    mkdir -p "$socket"
    if [ "$(id -u)" -eq 0 ]; then
      chown -R postgres: "$dir"
      if ! runuser -u postgres -- test -w "$dir"; then
        echo "postgres_fixture: the postgres user cannot reach $dir (a parent folder is closed to other" \
          "users, e.g. under /root); use a build folder it can enter" >&2
        exit 1
      fi
    fi
    as_owner "$bin/initdb" -D "$data" -U postgres --auth-local=trust --auth-host=reject \
      --encoding=UTF8 --locale=C >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
    # Only the test role may log in over TCP, and only with its password; the superuser uses the socket.
    cat >"$data/pg_hba.conf" <<HBA
local all all trust
host switchboard_test switchboard 127.0.0.1/32 scram-sha-256
HBA
    # fsync off: the cluster is thrown away, and the tests check SQL behaviour, not the disk.
    if ! as_owner "$bin/pg_ctl" -D "$data" -l "$log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $port -k '$socket' -c fsync=off -c full_page_writes=off" \
        start >/dev/null 2>&1; then
      echo "postgres_fixture: the server did not start on 127.0.0.1:$port" >&2
      cat "$log" >&2 || true
      exit 1
    fi
    psql=("$bin/psql" -X -q -v ON_ERROR_STOP=1 -h "$socket" -p "$port" -U postgres -d postgres)
    # The password travels as a psql variable, quoted by psql (:'password'), never pasted into SQL.
    echo "CREATE ROLE switchboard LOGIN PASSWORD :'password';" |
      as_owner "${psql[@]}" -v password="$password" >/dev/null
    as_owner "$bin/createdb" -h "$socket" -p "$port" -U postgres -O switchboard switchboard_test
    # Ready means the test role logs in over TCP with its password, as the tests will.
    for _ in $(seq 1 50); do
      if PGPASSWORD="$password" "$bin/psql" -X -q -h 127.0.0.1 -p "$port" -U switchboard -d switchboard_test \
          -c 'SELECT 1' >/dev/null 2>&1; then
        exit 0
      fi
      sleep 0.2
    done
    echo "postgres_fixture: the role switchboard cannot log in to 127.0.0.1:$port" >&2
    cat "$log" >&2 || true
    exit 1
    ;;
  stop)
    [ $# -eq 2 ] || usage
    stop_cluster
    rm -rf "$dir"
    ;;
  *)
    usage
    ;;
esac
