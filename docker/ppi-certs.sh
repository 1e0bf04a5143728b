#!/usr/bin/env bash
# Issues certificates for a deployment with scripts/make-certs.sh (installed in the image as
# ppi-make-certs) and hands each one to its holder:
#   ppi-certs CA_DIR OUT_ROOT OWNER_UID NAME[:ROLE][=HOST,...]...
# The CA (ca.key, ca.pem) stays in CA_DIR, which only this command mounts. For each NAME,
# OUT_ROOT/NAME/ (in docker/compose.yaml: a volume that only NAME's container mounts) receives
# ca.pem, NAME.pem and NAME.key, owned by OWNER_UID, the key readable by that user only.
# A certificate already in OUT_ROOT/NAME that the CA still verifies is kept, so restarting a
# deployment does not re-issue; delete it (or its volume) to issue a new one.
set -euo pipefail
if [ $# -lt 4 ]; then
  echo "usage: $0 CA_DIR OUT_ROOT OWNER_UID NAME[:ROLE][=HOST,...]..." >&2
  exit 2
fi
ca_dir=$1 out_root=$2 owner=$3
shift 3
make_certs=$(command -v ppi-make-certs || echo "$(dirname "$0")/../scripts/make-certs.sh")
for spec in "$@"; do
  name=${spec%%=*}
  name=${name%%:*}
  dir=$out_root/$name
  if [ -f "$dir/$name.pem" ] && [ -f "$dir/$name.key" ] && [ -f "$ca_dir/ca.pem" ] &&
    openssl verify -CAfile "$ca_dir/ca.pem" "$dir/$name.pem" >/dev/null 2>&1; then
    echo "ppi-certs: $name: kept ($(openssl x509 -in "$dir/$name.pem" -noout -enddate))"
    continue
  fi
  "$make_certs" "$ca_dir" "$spec"
  mkdir -p "$dir"
  install -m 644 -o "$owner" "$ca_dir/ca.pem" "$dir/ca.pem"
  install -m 644 -o "$owner" "$ca_dir/$name.pem" "$dir/$name.pem"
  install -m 600 -o "$owner" "$ca_dir/$name.key" "$dir/$name.key"
  # The CA's directory keeps the certificate (for the record) but not the key: one copy of
  # each private key, with its holder.
  rm -f "$ca_dir/$name.key"
  echo "ppi-certs: $name: issued ($(openssl x509 -in "$dir/$name.pem" -noout -subject))"
done
