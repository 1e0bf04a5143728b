#!/usr/bin/env bash
# The main job: a local deployment of every actor on one machine, one private inference, then
# stop.
#   scripts/run-local.sh            PostgreSQL (default)
#   scripts/run-local.sh --mysql    MariaDB
# Installs and builds first (scripts/setup.sh). Starts a database server in a temporary data
# directory with one database per actor, creates a deployment CA and a certificate per actor,
# starts the super dealer, three dealers and the model owner with mTLS, prints their health
# as the client sees it, registers the digits classifier, forms the three dealers into a group
# (key agreement over their mTLS mesh), lets the super dealer fill the model's pool by
# generation among the dealers (no trusted dealer anywhere), and runs one private
# inference as the client (MPC-to-2PC conversion, then the 2PC online phase), printed next to
# the plaintext model's answer; then stops everything and removes the temporary directory.
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

echo "== certificates, and each dealer's master key (seals its group keys at rest)"
scripts/make-certs.sh "$work/certs" super_dealer model_owner client operator "${dealers[@]}"
for d in "${dealers[@]}"; do
  (umask 077 && openssl rand -hex 32 >"$work/certs/$d.master.key")
done

tls_flags() {
  echo "--tls.cert=$work/certs/$1.pem --tls.key=$work/certs/$1.key --tls.ca=$work/certs/ca.pem"
}

# Starts an actor on a free port (listen.port=0) and sets the variable named by the first
# argument to its URL once it listens; extra arguments are passed on. It runs in this shell,
# not in a $(...) subshell, so that the actor's PID reaches actor_pids and cleanup stops it.
start_actor() {
  local out=$1 exe=$2 identity=$3 db_url=$4 log="$work/$3.log"
  shift 4
  # The log exists before the actor opens it: the first read below may come first, and a sed of
  # a missing file would end the script (set -e, pipefail).
  : >"$log"
  # shellcheck disable=SC2046
  PPI_DB_URL="$db_url" "$build/$exe/$exe" --listen.port=0 $(tls_flags "$identity") "$@" \
    >>"$log" 2>&1 &
  actor_pids+=($!)
  local pid=$!
  for _ in $(seq 1 300); do
    local port
    port=$(sed -n 's/.*event=listening .*port=\([0-9]*\).*/\1/p' "$log" | head -n 1)
    if [ -n "$port" ]; then
      printf -v "$out" '%s' "https://127.0.0.1:$port"
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
start_actor sd_url super_dealer super_dealer "$DB_URL_SUPER_DEALER" \
  --triple_pool.min_size=1 --triple_pool.max_size=2 --triple_pool.interval_ms=200
urls=("$sd_url")
for i in 1 2 3; do
  db_var="DB_URL_DEALER_$i"
  start_actor dealer_url dealer "dealer-$i" "${!db_var}" --dealer.id="dealer-$i" \
    --grpc.port=0 --super_dealer.url="$sd_url" \
    --keys.master_key_file="$work/certs/dealer-$i.master.key"
  urls+=("$dealer_url")
done
start_actor mo_url model_owner model_owner "$DB_URL_MODEL_OWNER" --super_dealer.url="$sd_url" \
  --online.port=0
mo_online="127.0.0.1:$(sed -n 's/.*event=online_listening .*port=\([0-9]*\).*/\1/p' \
  "$work/model_owner.log" | head -n 1)"
urls+=("$mo_url")
printf '   %s\n' "${urls[@]}"
echo "   model owner online (gRPC): $mo_online"

echo "== health, as the client sees it"
# shellcheck disable=SC2046
PPI_DB_URL="$DB_URL_CLIENT" "$build/client/client" status "${urls[@]}" $(tls_flags client)

model_file=models/digits_mlp/model.safetensors
samples=models/digits_mlp/samples.json
echo "== model: the model owner registers 'digits' ($model_file: an MLP trained on the"
echo "   handwritten digits of scikit-learn by scripts/train_mlp.py), one image per inference"
# shellcheck disable=SC2046
PPI_DB_URL="$DB_URL_MODEL_OWNER" "$build/model_owner/model_owner" register digits "$model_file" \
  --model.rows=1 --model.reveal_logits --super_dealer.url="$sd_url" $(tls_flags model_owner)
# shellcheck disable=SC2046
PPI_DB_URL="$DB_URL_MODEL_OWNER" "$build/model_owner/model_owner" plan "$model_file" \
  --model.rows=1 --model.reveal_logits --super_dealer.url="$sd_url" $(tls_flags model_owner) \
  >"$work/digits-plan.json"

super_dealer_cmd() {
  # shellcheck disable=SC2046
  PPI_DB_URL="$DB_URL_SUPER_DEALER" "$build/super_dealer/super_dealer" "$@" \
    $(tls_flags super_dealer)
}
echo "== dealer group: the three dealers agree keys (X25519 over their mTLS mesh)"
super_dealer_cmd group "${dealers[@]}"
echo "== material: the super dealer keeps a pool of 'digits' batches, generated by the group"
super_dealer_cmd pool digits "${dealers[@]}"
for _ in $(seq 1 1200); do
  pools=$(super_dealer_cmd pools)
  echo "$pools" | grep -q "model=digits .* available=[1-9]" && break
  sleep 0.5
done
echo "   $pools"
echo "$pools" | grep -q "model=digits .* available=[1-9]" || {
  echo "no batch was generated" >&2
  tail -n 20 "$work"/dealer-*.log "$work/super_dealer.log" >&2
  exit 1
}

row=${SAMPLE_ROW:-$((RANDOM % 16))}
echo "== private inference: the client classifies test image $row of $samples"
# shellcheck disable=SC2046
PPI_DB_URL="$DB_URL_CLIENT" "$build/client/client" infer --model=digits \
  --dealers=dealer-1,dealer-2,dealer-3 --model_owner.url="$mo_url" \
  --model_owner.online="$mo_online" --input="$samples" --input.row="$row" $(tls_flags client) \
  | tee "$work/infer.out"
echo "== the same image in the clear (the model owner's plaintext model), and its true label"
# shellcheck disable=SC2046
PPI_DB_URL="$DB_URL_MODEL_OWNER" "$build/model_owner/model_owner" plaintext "$model_file" \
  "$samples" --input.row="$row" --super_dealer.url="$sd_url" $(tls_flags model_owner) \
  | tee "$work/plain.out"
label=$(sed -n 's/.*"labels": \[\([-0-9, ]*\)\].*/\1/p' "$samples" | tr -d ' ' | cut -d, -f$((row + 1)))
private=$(sed -n 's/^row=0 private_class=\([0-9]*\).*/\1/p' "$work/infer.out")
plain=$(sed -n 's/^row=0 plaintext_class=\([0-9]*\).*/\1/p' "$work/plain.out")
echo "== result: private class $private, plaintext model's class $plain, true label $label"
[ -n "$private" ] && [ "$private" = "$plain" ] || { echo "private and plaintext answers differ" >&2; exit 1; }

echo "== stopping"
cleanup
trap - EXIT
echo "== done: all actors and the $dialect server stopped"
