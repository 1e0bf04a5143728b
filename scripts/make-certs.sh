#!/usr/bin/env bash
# Creates a deployment CA and one certificate per actor, for mTLS on REST and gRPC.
#   scripts/make-certs.sh OUT_DIR NAME...     e.g. super_dealer model_owner client dealer-1
# Each actor's identity is its certificate's subject CN (NAME). Certificates name 127.0.0.1 and
# localhost as subject alternative names, for local deployments and tests. Keys are P-256.
# An existing CA in OUT_DIR is reused, so actors can be added later.
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "usage: $0 OUT_DIR NAME..." >&2
  exit 2
fi
out=$1
shift
mkdir -p "$out"
umask 077
if [ ! -f "$out/ca.key" ]; then
  openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
    -keyout "$out/ca.key" -out "$out/ca.pem" -days 3650 -subj "/CN=ppi deployment CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    2>/dev/null
fi
for name in "$@"; do
  case "$name" in
    *[!A-Za-z0-9_.-]*) echo "$0: bad actor name '$name'" >&2; exit 2 ;;
  esac
  openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
    -keyout "$out/$name.key" -out "$out/$name.csr" -subj "/CN=$name" 2>/dev/null
  openssl x509 -req -in "$out/$name.csr" -CA "$out/ca.pem" -CAkey "$out/ca.key" \
    -CAcreateserial -out "$out/$name.pem" -days 825 -sha256 \
    -extfile <(printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\nbasicConstraints=CA:FALSE\n') \
    2>/dev/null
  rm -f "$out/$name.csr"
done
chmod 644 "$out"/*.pem
