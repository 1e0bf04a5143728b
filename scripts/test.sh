#!/usr/bin/env bash
# Installs, builds and runs every test. The test harness starts its own PostgreSQL 15 and
# MariaDB 10.11 servers on free loopback ports in temporary data directories and stops them.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
build_dir=${BUILD_DIR:-build}
cd "$build_dir"
ctest --output-on-failure --timeout 1200
