# The setup both CSTA benchmarks share (bench/csta_load.sh, bench/callgrind.sh), sourced by them:
# customers with one number each ("6" and 8 digits) on projects 100 and 200 with 20 operators (101-120), a
# pbxsim scenario calling from the first 2,000 of them, and the host's configuration.

# pin CORE COMMAND...: exec COMMAND on CORE when the machine has two cores or more.
pin() { if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then exec taskset -c "$1" "${@:2}"; else exec "${@:2}"; fi; }

# csta_rules CUSTOMERS > FILE: the rules to import.
csta_rules() {
  echo "id;project;company_id;company;caller1;caller2;caller3;operators;street;city;postcode;note"
  awk -v n="$1" 'BEGIN { for (i = 1; i <= n; i++)
    printf "%d;%d;;Customer %d;6%08d;;;%d;;;;\n", i, (i % 2 ? 100 : 200), i, i, 101 + i % 20 }'
}

# csta_scenario > FILE: pbxsim's scenario.
csta_scenario() {
  echo 'projects: ["100", "200"]'
  echo "extensions: [$(seq -s, 101 120 | sed 's/\([0-9]*\)/"\1"/g')]"
  echo "callers:"
  awk 'BEGIN { for (i = 1; i <= 2000; i++) printf "  - {number: \"6%08d\", project: \"%d\"}\n", i, (i % 2 ? 100 : 200) }'
}

# csta_host_yaml WORK PORT MODE RUNTIME > FILE: the host (csta driver in MODE towards 127.0.0.1:PORT, SQLite
# storage and durable call log in WORK); RUNTIME is the `runtime` section as a YAML flow mapping.
csta_host_yaml() {
  local operators
  operators=$(seq -s";" 101 120)
  cat <<YAML
numbers: {region: CZ, pbx_exit_code: "0", internal_max_digits: 4}
logging: {level: warn}
runtime: $4
control: {socket: "$1/control.sock"}
command_log: "$1/LOG_SA.TXT"
storage: {main: {type: soci, config: {connection: "sqlite3://$1/db.sqlite"}}}
routing:
  projects:
    type: project_rules
    config:
      storage: main
      projects: [{number: "100", operators: "$operators"}, {number: "200", operators: "$operators"}]
drivers:
  pbx: {type: csta, config: {host: 127.0.0.1, port: $2, mode: $3}}
YAML
}
