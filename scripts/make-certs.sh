#!/usr/bin/env bash
# Creates a deployment CA and one certificate per actor, for mTLS on REST and gRPC.
#   scripts/make-certs.sh OUT_DIR NAME[=HOST,...]...
#     e.g. super_dealer model_owner client dealer-1=dealer1.example.org,10.0.0.5,fd00::5
# Each actor's identity is its certificate's subject CN (NAME). Certificates name localhost and
# 127.0.0.1 as subject alternative names, and the HOSTs given after '=' (IP addresses as IP
# SANs, the rest as DNS names): the names and addresses its peers reach it by, i.e. what they
# have in their URLs for it (advertised endpoints, super_dealer.url, ...), whatever address it
# listens on (listen.address). Keys are P-256.
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
for arg in "$@"; do
  name=${arg%%=*}
  hosts=""
  [ "$name" != "$arg" ] && hosts=${arg#*=}
  case "$name" in
    "" | *[!A-Za-z0-9_.-]*) echo "$0: bad actor name '$name'" >&2; exit 2 ;;
  esac
  sans="DNS:localhost,IP:127.0.0.1"
  IFS=, read -r -a host_list <<<"$hosts"
  for h in "${host_list[@]}"; do
    case "$h" in
      "" | *[!A-Za-z0-9.:-]*) echo "$0: bad host '$h' for $name" >&2; exit 2 ;;
    esac
    if [[ "$h" =~ ^[0-9.]+$ || "$h" == *:* ]]; then sans+=",IP:$h"; else sans+=",DNS:$h"; fi
  done
  openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
    -keyout "$out/$name.key" -out "$out/$name.csr" -subj "/CN=$name" 2>/dev/null
  openssl x509 -req -in "$out/$name.csr" -CA "$out/ca.pem" -CAkey "$out/ca.key" \
    -CAcreateserial -out "$out/$name.pem" -days 825 -sha256 \
    -extfile <(printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth,clientAuth\nbasicConstraints=CA:FALSE\n' "$sans") \
    2>/dev/null
  rm -f "$out/$name.csr"
done
chmod 644 "$out"/*.pem
