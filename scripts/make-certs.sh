#!/usr/bin/env bash
# Creates a deployment CA and one certificate per actor, for mTLS on REST and gRPC.
#   scripts/make-certs.sh OUT_DIR NAME[:ROLE][=HOST,...]...
#     e.g. super_dealer model_owner client operator dealer-1=dealer1.example.org,10.0.0.5,fd00::5
#          alice:client ops-2:operator dealer-7:dealer=10.0.0.7
# Each actor's identity is its certificate's subject CN (NAME), its role the subject's OU
# (ROLE): operator, monitor, super_dealer, dealer, model_owner or client (docs/operations.md,
# Roles; a monitor may only read GET /metrics, e.g. a Prometheus server).
# Without ROLE the role comes from the name: super_dealer, model_owner, dealer and dealer-*,
# operator and operator-*, monitor and monitor-*, client and client-*; any other name needs its
# ROLE. The servers (super_dealer, dealer, model_owner) get the extended key usages serverAuth
# and clientAuth (they also call each other); operators, monitors and clients get clientAuth
# only, so their certificates cannot serve. Certificates name localhost and 127.0.0.1 as
# subject alternative names, and the HOSTs given after '=' (IP addresses as IP SANs, the rest
# as DNS names): the names and addresses its peers reach it by, i.e. what they
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
  spec=${arg%%=*}
  hosts=""
  [ "$spec" != "$arg" ] && hosts=${arg#*=}
  name=${spec%%:*}
  role=""
  [ "$name" != "$spec" ] && role=${spec#*:}
  case "$name" in
    "" | *[!A-Za-z0-9_.-]*) echo "$0: bad actor name '$name'" >&2; exit 2 ;;
  esac
  if [ -z "$role" ]; then
    case "$name" in
      super_dealer | model_owner) role=$name ;;
      dealer | dealer-*) role=dealer ;;
      operator | operator-*) role=operator ;;
      monitor | monitor-*) role=monitor ;;
      client | client-*) role=client ;;
      *) echo "$0: no role for '$name': give it as $name:ROLE" >&2; exit 2 ;;
    esac
  fi
  case "$role" in
    super_dealer | dealer | model_owner) usages=serverAuth,clientAuth ;;
    operator | monitor | client) usages=clientAuth ;;
    *) echo "$0: bad role '$role' for $name (operator, monitor, super_dealer, dealer, model_owner, client)" >&2
       exit 2 ;;
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
    -keyout "$out/$name.key" -out "$out/$name.csr" -subj "/CN=$name/OU=$role" 2>/dev/null
  openssl x509 -req -in "$out/$name.csr" -CA "$out/ca.pem" -CAkey "$out/ca.key" \
    -CAcreateserial -out "$out/$name.pem" -days 825 -sha256 \
    -extfile <(printf 'subjectAltName=%s\nextendedKeyUsage=%s\nbasicConstraints=CA:FALSE\n' \
      "$sans" "$usages") \
    2>/dev/null
  rm -f "$out/$name.csr"
done
chmod 644 "$out"/*.pem
