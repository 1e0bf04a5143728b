#!/usr/bin/env bash
# One-time set-up of a deployment, as scripts/run-local.sh does it on one machine: registers a
# model with the super dealer (as the model owner), forms the dealer group (key agreement among
# the dealers), creates the model's pool for that group, and waits until the super dealer's
# pool keeper has generated a first batch. Every step may be repeated: registering the same
# model, forming the same group and adding the same pool again change nothing.
# Runs the actors' own command-line operations, so it holds what they hold:
#   SUPER_DEALER_DB_URL, SUPER_DEALER_TLS_DIR  the super dealer's database and certificate
#                                              directory (ca.pem, super_dealer.pem, .key)
#   MODEL_OWNER_DB_URL, MODEL_OWNER_TLS_DIR    the model owner's (model_owner.pem, .key)
#   SUPER_DEALER_URL                           e.g. https://super-dealer:8440
#   DEALERS                                    the group, e.g. "dealer-1 dealer-2 dealer-3"
#   MODEL_ID, MODEL_FILE, MODEL_FLAGS          what `model_owner register` gets
#   WAIT_SECONDS                               how long to wait for the first batch (600)
set -euo pipefail
: "${SUPER_DEALER_DB_URL:?}" "${SUPER_DEALER_TLS_DIR:?}" "${MODEL_OWNER_DB_URL:?}"
: "${MODEL_OWNER_TLS_DIR:?}" "${SUPER_DEALER_URL:?}" "${DEALERS:?}"
model_id=${MODEL_ID:-digits}
model_file=${MODEL_FILE:-/usr/share/ppi/models/digits_mlp/model.safetensors}
read -r -a model_flags <<<"${MODEL_FLAGS:---model.rows=1 --model.reveal_logits}"
read -r -a dealers <<<"$DEALERS"
wait_seconds=${WAIT_SECONDS:-600}

tls() { echo "--tls.cert=$1/$2.pem --tls.key=$1/$2.key --tls.ca=$1/ca.pem"; }
super_dealer_cmd() {
  # shellcheck disable=SC2046
  PPI_DB_URL="$SUPER_DEALER_DB_URL" super_dealer "$@" $(tls "$SUPER_DEALER_TLS_DIR" super_dealer)
}
model_owner_cmd() {
  # shellcheck disable=SC2046
  PPI_DB_URL="$MODEL_OWNER_DB_URL" model_owner "$@" --super_dealer.url="$SUPER_DEALER_URL" \
    $(tls "$MODEL_OWNER_TLS_DIR" model_owner)
}
# Runs "$@" until it succeeds, at most $1 times, 2 s apart: the dealers register with the super
# dealer as they start, and a group of dealers not yet registered is refused. A configuration
# error (exit status 2) is not retried.
retry() {
  local tries=$1 i rc
  shift
  for ((i = 1; ; i++)); do
    rc=0
    "$@" || rc=$?
    [ "$rc" -ne 0 ] || return 0
    [ "$rc" -ne 2 ] && [ "$i" -lt "$tries" ] || return "$rc"
    echo "ppi-setup: retrying in 2 s ($i/$tries)" >&2
    sleep 2
  done
}

echo "== model: register $model_id ($model_file)"
retry 30 model_owner_cmd register "$model_id" "$model_file" "${model_flags[@]}"
echo "== dealer group: ${dealers[*]}"
retry 30 super_dealer_cmd group "${dealers[@]}"
echo "== pool: $model_id on ${dealers[*]}"
super_dealer_cmd pool "$model_id" "${dealers[@]}"
echo "== waiting up to $wait_seconds s for the first batch"
deadline=$((SECONDS + wait_seconds))
while :; do
  pools=$(super_dealer_cmd pools)
  if grep -q "model=$model_id .* available=[1-9]" <<<"$pools"; then
    echo "$pools"
    echo "ppi-setup: done"
    exit 0
  fi
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "$pools"
    echo "ppi-setup: no batch of $model_id was generated in $wait_seconds s: see the super" \
      "dealer's and the dealers' logs" >&2
    exit 1
  fi
  sleep 2
done
