#!/usr/bin/env bash
# Makes the Secrets that deploy/k8s/ mounts, as three manifest files in OUT_DIR:
#   deploy/k8s/make-secrets.sh OUT_DIR [NAMESPACE]            (NAMESPACE: ppi)
#   secrets-tls.yaml          ppi-tls-NAME: ca.pem, NAME.pem, NAME.key for super_dealer,
#                             dealer-1..3, model_owner and prometheus (role monitor)
#   secrets-db.yaml           ppi-db-NAME: url, from DB_URL_SUPER_DEALER, DB_URL_MODEL_OWNER,
#                             DB_URL_DEALER_1, DB_URL_DEALER_2, DB_URL_DEALER_3
#   secrets-master-keys.yaml  ppi-master-key-dealer-N: master.key, each dealer's
#                             keys.master_key_file (64 hex characters, drawn here)
# Certificates come from scripts/make-certs.sh; their host names are the Services' names in
# every form a peer may use (dealer-1, dealer-1.NS, dealer-1.NS.svc,
# dealer-1.NS.svc.cluster.local). The deployment CA stays in OUT_DIR/ca (keep it offline: it
# issues every identity). Apply the master keys with `kubectl create -f`, never `apply`: a
# master key that replaces another loses the dealer's groups (docs/operations.md).
set -euo pipefail
if [ $# -lt 1 ] || [ $# -gt 2 ]; then
  echo "usage: $0 OUT_DIR [NAMESPACE]" >&2
  exit 2
fi
out=$1
ns=${2:-ppi}
here=$(cd "$(dirname "$0")" && pwd)
dealers=(dealer-1 dealer-2 dealer-3)
# Actor identity (certificate CN) and its Service name.
declare -A service=([super_dealer]=super-dealer [model_owner]=model-owner [dealer-1]=dealer-1
  [dealer-2]=dealer-2 [dealer-3]=dealer-3)
: "${DB_URL_SUPER_DEALER:?}" "${DB_URL_MODEL_OWNER:?}" "${DB_URL_DEALER_1:?}"
: "${DB_URL_DEALER_2:?}" "${DB_URL_DEALER_3:?}"

mkdir -p "$out"
umask 077
specs=()
for name in super_dealer "${dealers[@]}" model_owner; do
  s=${service[$name]}
  specs+=("$name=$s,$s.$ns,$s.$ns.svc,$s.$ns.svc.cluster.local")
done
"$here/../../scripts/make-certs.sh" "$out/ca" "${specs[@]}" prometheus:monitor

# One Secret document; its data are NAME=FILE pairs.
secret() {
  local name=$1 component=$2
  shift 2
  printf -- '---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: %s\n  namespace: %s\n' \
    "$name" "$ns"
  printf '  labels:\n    app.kubernetes.io/name: ppi\n    app.kubernetes.io/component: %s\n' \
    "$component"
  printf 'type: Opaque\ndata:\n'
  local pair
  for pair in "$@"; do
    printf '  %s: %s\n' "${pair%%=*}" "$(base64 -w0 <"${pair#*=}")"
  done
}

{
  for name in super_dealer "${dealers[@]}" model_owner prometheus; do
    secret "ppi-tls-${service[$name]:-$name}" tls "ca.pem=$out/ca/ca.pem" \
      "$name.pem=$out/ca/$name.pem" "$name.key=$out/ca/$name.key"
  done
} >"$out/secrets-tls.yaml"
# The private keys now live in the manifest only (and in the cluster once applied).
rm -f "$out"/ca/{super_dealer,dealer-?,model_owner,prometheus}.key

{
  secret ppi-db-super-dealer database url=<(printf '%s' "$DB_URL_SUPER_DEALER")
  secret ppi-db-model-owner database url=<(printf '%s' "$DB_URL_MODEL_OWNER")
  for i in 1 2 3; do
    var=DB_URL_DEALER_$i
    secret "ppi-db-dealer-$i" database url=<(printf '%s' "${!var}")
  done
} >"$out/secrets-db.yaml"

{
  for d in "${dealers[@]}"; do
    secret "ppi-master-key-$d" master-key master.key=<(openssl rand -hex 32)
  done
} >"$out/secrets-master-keys.yaml"
echo "make-secrets: wrote $out/secrets-tls.yaml, $out/secrets-db.yaml," \
  "$out/secrets-master-keys.yaml (CA in $out/ca)" >&2
