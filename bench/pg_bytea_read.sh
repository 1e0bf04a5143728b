#!/usr/bin/env bash
# The ceiling of reading bytea chunks out of PostgreSQL on this machine, without any ppi code
# on the read path: 25 rows of 4 MiB random bytes (stored uncompressed, TOASTed), read back with
# `COPY ... TO /dev/null WITH BINARY`. Prints one JSON line. Needs a build (ppi_local_db).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
work=$(mktemp -d)
"$build/tests/support/ppi_local_db" --dialect postgresql --env-file "$work/env" bench \
  >"$work/log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 300); do [ -f "$work/env" ] && break; sleep 0.1; done
# shellcheck disable=SC1091
. "$work/env"
psql "$DB_URL_BENCH" -q -c "CREATE TABLE chunks (seq int PRIMARY KEY, data bytea)" \
  -c "INSERT INTO chunks SELECT g, decode(string_agg(lpad(to_hex((random() * 2147483647)::int),
        8, '0'), ''), 'hex') FROM generate_series(1, 25) g, generate_series(1, 1048576) x
      GROUP BY g"
bytes=$(psql "$DB_URL_BENCH" -At -c "SELECT sum(length(data)) FROM chunks")
start=$(date +%s.%N)
psql "$DB_URL_BENCH" -q -c "\\copy (SELECT data FROM chunks) TO '/dev/null' WITH BINARY"
end=$(date +%s.%N)
awk -v b="$bytes" -v s="$start" -v e="$end" 'BEGIN {
  printf "{\"bench\":\"pg_bytea_read\",\"bytes\":%d,\"seconds\":%.3f,\"mb_per_s\":%.1f}\n",
    b, e - s, b / (e - s) / 1e6 }'
