#!/usr/bin/env bash
# The main job: a local deployment of every actor on one machine, one conversion, then stop.
#   scripts/run-local.sh            PostgreSQL (default)
#   scripts/run-local.sh --mysql    MariaDB
# Installs and builds first (scripts/setup.sh). Starts a database server in a temporary data
# directory with one database per actor, creates a deployment CA and a certificate per actor,
# starts the super dealer, three dealers and the model owner with mTLS, prints their health
# as the client sees it, registers a model, loads its batches, and runs one MPC-to-2PC
# conversion as the client; then stops everything and removes the temporary directory.
set -euo pipefail
cd "$(dirname "$0")/.."
dialect=postgresql
case "${1:-}" in
  "") ;;
  --mysql | --mariadb) dialect=mysql ;;
  --postgresql) ;;
  *) echo "usage: $0 [--mysql]" >&2; exit 2 ;;
esac

scripts/setup.sh
build=${BUILD_DIR:-build}
work=$(mktemp -d /tmp/ppi-local-XXXXXX)
chmod 755 "$work"
db_pid=""
actor_pids=()

cleanup() {
  set +e
  for pid in "${actor_pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  for pid in "${actor_pids[@]}"; do wait "$pid" 2>/dev/null; done
  if [ -n "$db_pid" ]; then kill -TERM "$db_pid" 2>/dev/null; wait "$db_pid" 2>/dev/null; fi
  rm -rf "$work"
}
trap cleanup EXIT

dealers=(dealer-1 dealer-2 dealer-3)
echo "== database: $dialect in $work"
"$build/tests/support/ppi_local_db" --dialect "$dialect" --env-file "$work/db.env" \
  super_dealer model_owner client dealer_1 dealer_2 dealer_3 >"$work/db.log" 2>&1 &
db_pid=$!
for _ in $(seq 1 600); do
  [ -f "$work/db.env" ] && break
  kill -0 "$db_pid" 2>/dev/null || { cat "$work/db.log" >&2; exit 1; }
  sleep 0.1
done
[ -f "$work/db.env" ] || { echo "database did not start" >&2; cat "$work/db.log" >&2; exit 1; }
# shellcheck disable=SC1091
. "$work/db.env"

echo "== certificates"
scripts/make-certs.sh "$work/certs" super_dealer model_owner client "${dealers[@]}"

tls_flags() {
  echo "--tls.cert=$work/certs/$1.pem --tls.key=$work/certs/$1.key --tls.ca=$work/certs/ca.pem"
}

# Starts an actor on a free port (listen.port=0) and prints its URL once it listens; extra
# arguments are passed on.
start_actor() {
  local exe=$1 identity=$2 db_url=$3 log="$work/$2.log"
  shift 3
  # shellcheck disable=SC2046
  PPI_DB_URL="$db_url" "$build/$exe/$exe" --listen.port=0 $(tls_flags "$identity") "$@" \
    >"$log" 2>&1 &
  actor_pids+=($!)
  local pid=$!
  for _ in $(seq 1 300); do
    local port
    port=$(sed -n 's/.*event=listening .*port=\([0-9]*\).*/\1/p' "$log" | head -n 1)
    if [ -n "$port" ]; then
      echo "https://127.0.0.1:$port"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "$identity did not start:" >&2
  cat "$log" >&2
  return 1
}

echo "== actors"
sd_url=$(start_actor super_dealer super_dealer "$DB_URL_SUPER_DEALER")
urls=("$sd_url")
for i in 1 2 3; do
  db_var="DB_URL_DEALER_$i"
  urls+=("$(start_actor dealer "dealer-$i" "${!db_var}" --dealer.id="dealer-$i" \
    --grpc.port=0 --super_dealer.url="$sd_url")")
done
mo_url=$(start_actor model_owner model_owner "$DB_URL_MODEL_OWNER" --super_dealer.url="$sd_url")
urls+=("$mo_url")
printf '   %s\n' "${urls[@]}"

echo "== health, as the client sees it"
# shellcheck disable=SC2046
PPI_DB_URL="$DB_URL_CLIENT" "$build/client/client" status "${urls[@]}" $(tls_flags client)

echo "== model: the model owner registers 'demo' and its material plan"
cat >"$work/demo-plan.json" <<'PLAN'
[{"type": "TRIPLE", "count": 4096}, {"type": "MATRIX_TRIPLE_16_64_10", "count": 4},
 {"type": "TRUNC_16", "count": 640}, {"type": "DABIT", "count": 1024}]
PLAN
# shellcheck disable=SC2046
PPI_DB_URL="$DB_URL_MODEL_OWNER" "$build/model_owner/model_owner" register demo \
  "$work/demo-plan.json" --super_dealer.url="$sd_url" $(tls_flags model_owner)

echo "== material: TEST FIXTURE batches (a trusted dealer) until the dealers generate their own"
"$build/tests/support/ppi_fixture_loader" --super-dealer-db "$DB_URL_SUPER_DEALER" \
  --dealer dealer-1="$DB_URL_DEALER_1" --dealer dealer-2="$DB_URL_DEALER_2" \
  --dealer dealer-3="$DB_URL_DEALER_3" --model demo --plan "$work/demo-plan.json" --batches 2

echo "== conversion: the client asks the model owner for an inference of 'demo'"
# shellcheck disable=SC2046
PPI_DB_URL="$DB_URL_CLIENT" "$build/client/client" convert --model=demo \
  --dealers=dealer-1,dealer-2,dealer-3 --model_owner.url="$mo_url" $(tls_flags client)

echo "== stopping"
cleanup
trap - EXIT
echo "== done: all actors and the $dialect server stopped"
