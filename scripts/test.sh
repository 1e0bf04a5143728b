#!/usr/bin/env bash
# Installs, builds and runs every test. The test harness starts its own PostgreSQL 15 and
# MariaDB 10.11 servers on free loopback ports in temporary data directories and stops them.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# The tools of the deployment check (ctest deploy_check): docker-compose, promtool, kubernetes-models.
bash tests/deploy/install-tools.sh
build_dir=${BUILD_DIR:-build}
(cd "$build_dir" && ctest --output-on-failure --timeout 1200)

# The REST server under connection floods once more, built with AddressSanitizer and
# UndefinedBehaviorSanitizer (a race in connection shutdown crashed actors: issue 15 item 1).
asan_dir=${ASAN_BUILD_DIR:-build-asan}
cmake -S . -B "$asan_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPPI_SANITIZE=address,undefined \
  -DBUILD_BENCH=OFF -DENABLE_CUDA=OFF >/dev/null
cmake --build "$asan_dir" --target net_tests -j"$(nproc)"
"$asan_dir"/tests/net/net_tests
