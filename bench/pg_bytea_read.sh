#!/usr/bin/env bash
# What PostgreSQL itself costs to read bytea out, without any ppi code on the read path: about
# 245 MB stored twice, as 4 MiB rows (TOASTed, as the actors store shares) and as 8 KB rows kept
# inline (STORAGE PLAIN), each read back twice with `COPY ... TO /dev/null WITH BINARY`. Prints
# one JSON line per read: wall time and the machine's CPU time (server and psql together).
# Needs a build (ppi_local_db).
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
random_rows() {  # table, rows, 4-byte words per row
  echo "INSERT INTO $1 SELECT g, decode(string_agg(lpad(to_hex((random() * 2147483647)::int),
        8, '0'), ''), 'hex') FROM generate_series(1, $2) g, generate_series(1, $3) x GROUP BY g"
}
psql "$DB_URL_BENCH" -q -c "CREATE TABLE toasted (seq int PRIMARY KEY, data bytea)" \
  -c "CREATE TABLE inline8k (seq int PRIMARY KEY, data bytea)" \
  -c "ALTER TABLE inline8k ALTER COLUMN data SET STORAGE PLAIN" \
  -c "$(random_rows toasted 60 1048576)" -c "$(random_rows inline8k 30720 2000)"
busy() { awk '/^cpu /{ print $2 + $3 + $4 + $7 + $8 }' /proc/stat; }
for table in toasted inline8k toasted inline8k; do
  bytes=$(psql "$DB_URL_BENCH" -At -c "SELECT sum(length(data)) FROM $table")
  start=$(date +%s.%N)
  cpu0=$(busy)
  psql "$DB_URL_BENCH" -q -c "\\copy (SELECT data FROM $table ORDER BY seq) TO '/dev/null' WITH BINARY"
  end=$(date +%s.%N)
  cpu1=$(busy)
  awk -v t="$table" -v b="$bytes" -v s="$start" -v e="$end" -v c0="$cpu0" -v c1="$cpu1" 'BEGIN {
    printf "{\"bench\":\"pg_bytea_read\",\"rows\":\"%s\",\"bytes\":%d,\"seconds\":%.3f,", t, b, e - s
    printf "\"mb_per_s\":%.1f,\"machine_cpu_seconds\":%.2f}\n", b / (e - s) / 1e6, (c1 - c0) / 100 }'
done
