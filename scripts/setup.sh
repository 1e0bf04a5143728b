#!/usr/bin/env bash
# Installs everything the project needs on Debian 12 (as root) and builds it into build/.
# Idempotent: packages already present are not reinstalled, and the build is incremental.
#   scripts/setup.sh            install + build
#   BUILD_DIR=... BUILD_TYPE=... scripts/setup.sh
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake pkg-config ccache git openssl ca-certificates clang-format curl
  libssl-dev libboost1.74-dev libboost-program-options1.74-dev libboost-system1.74-dev
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  nlohmann-json3-dev libpq-dev libmysqlcppconn-dev doctest-dev
  postgresql-15 mariadb-server mariadb-client
  # promtool and a real scrape in tests/integration/test_observability.cpp
  prometheus
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing packages (run as root to install): ${missing[*]}" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  # Debian starts the database services on install; the project starts its own servers on
  # free ports in temporary directories, so the system ones are left as the package set them.
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# Swagger UI (served at /docs) and the OpenAPI linter, from the npm registry.
bash scripts/install-web-deps.sh

build_dir=${BUILD_DIR:-build}
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" >/dev/null
cmake --build "$build_dir" -j"$(nproc)"
echo "setup: built into $build_dir"
