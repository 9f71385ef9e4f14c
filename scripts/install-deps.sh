#!/usr/bin/env bash
# Installs the Debian packages Switchboard builds and tests with; skips what is already present.
set -euo pipefail
packages=(
  build-essential cmake ninja-build ccache pkg-config
  libboost1.74-dev libboost-filesystem1.74-dev libboost-system1.74-dev
  libyaml-cpp-dev libspdlog-dev libfmt-dev libcli11-dev nlohmann-json3-dev libpugixml-dev
  libsoci-dev libsqlite3-dev libphonenumber-dev libsodium-dev libcsv-dev libjemalloc-dev
  postgresql sqlite3
  libgtest-dev libgmock-dev libbenchmark-dev
  clang libclang-rt-14-dev valgrind
  chromium
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# The browser test's node and npm: any install will do (a nodejs package from another source bundles npm).
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "installing missing packages: ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
