#!/usr/bin/env bash
# Installs the Debian packages ctxlog builds, tests and benchmarks with, if any is missing.
# As root: apt-get update (once) and apt-get install. Otherwise: prints the command to run.
# Arguments name packages a script needs beyond these (scripts/valgrind.sh: valgrind).
set -euo pipefail

packages=(
  g++ clang libclang-rt-14-dev meson ninja-build pkg-config cmake
  libfmt-dev libspdlog-dev nlohmann-json3-dev doctest-dev
  libtbb-dev libasio-dev libboost-dev libcpp-httplib-dev libbenchmark-dev
  libsqlite3-dev jq
  rsyslog clickhouse-server
  "$@"
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "ctxlog needs these Debian packages; run:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
