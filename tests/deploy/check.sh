#!/usr/bin/env bash
# The deployment files, checked without a Docker engine or a cluster (ctest deploy_check):
#   tests/deploy/check.sh [BUILD_DIR]
# - docker-compose config: docker/compose.yaml is valid, with docker/env.example, and refuses
#   to render without the passwords;
# - promtool: the Prometheus configuration and alert rules parse, the alerts fire as
#   tests/deploy/alerts.test.yml expects, and every query of the Grafana dashboard parses;
# - check-deploy.mjs: every Kubernetes manifest and every Secret make-secrets.sh makes against
#   the API schemas (kubernetes-models), and the files against each other and the code
#   (ports, certificates, probes, scrape targets, metric names of common/obs/catalog.cpp);
# - docker/ppi-certs.sh issues, hands over and keeps certificates; docker/runtime-packages.sh
#   finds the Debian package of every library the built executables load (with BUILD_DIR).
# The tools come from tests/deploy/install-tools.sh; where they are missing the check is
# skipped (exit 77), naming that script.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.."
build_dir=${1:-}
promtool=$here/tools/promtool
if ! command -v docker-compose >/dev/null 2>&1 || [ ! -x "$promtool" ] ||
  [ ! -f "$here/node_modules/kubernetes-models/package.json" ]; then
  echo "deploy_check: docker-compose, promtool or node_modules missing: run tests/deploy/install-tools.sh"
  exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
step() {
  echo "== $1"
  shift
  "$@"
  passed=$((passed + 1))
}

compose=(docker-compose -f docker/compose.yaml --project-name ppi)
step "docker-compose config" "${compose[@]}" --env-file docker/env.example config -q
"${compose[@]}" --env-file docker/env.example --profile demo config >"$tmp/compose.yaml"
no_passwords() {
  : >"$tmp/empty.env"
  if "${compose[@]}" --env-file "$tmp/empty.env" config -q 2>"$tmp/err"; then
    echo "docker/compose.yaml renders without any password" >&2
    return 1
  fi
  grep -q "set it in docker/.env" "$tmp/err"
}
step "docker-compose refuses to render without passwords" no_passwords

step "promtool check config" "$promtool" check config --syntax-only docker/prometheus/prometheus.yml
step "promtool check rules" "$promtool" check rules docker/prometheus/alerts.yml
step "promtool test rules" "$promtool" test rules tests/deploy/alerts.test.yml

step "shell syntax" bash -n docker/ppi-certs.sh docker/ppi-setup.sh docker/ppi-dealer.sh \
  docker/runtime-packages.sh deploy/k8s/make-secrets.sh
make_secrets() {
  DB_URL_SUPER_DEALER=postgresql://super_dealer:pw@pg.example:5432/super_dealer \
    DB_URL_MODEL_OWNER=postgresql://model_owner:pw@pg.example:5432/model_owner \
    DB_URL_DEALER_1=mysql://dealer:pw@dealer-1-db:3306/dealer \
    DB_URL_DEALER_2=mysql://dealer:pw@dealer-2-db:3306/dealer \
    DB_URL_DEALER_3=mysql://dealer:pw@dealer-3-db:3306/dealer \
    deploy/k8s/make-secrets.sh "$tmp/secrets" ppi
  # The dealer's certificate names its Service in each form, and has its identity and role.
  openssl x509 -in "$tmp/secrets/ca/dealer-2.pem" -noout -subject -ext subjectAltName >"$tmp/cert"
  grep -q "CN = dealer-2, OU = dealer" "$tmp/cert"
  grep -q "DNS:dealer-2, DNS:dealer-2.ppi, DNS:dealer-2.ppi.svc, DNS:dealer-2.ppi.svc.cluster.local" \
    "$tmp/cert"
  ! ls "$tmp"/secrets/ca/*.key 2>/dev/null | grep -v '/ca.key$'
}
step "make-secrets.sh" make_secrets
step "manifests, compose, dashboard and alerts against each other" \
  node "$here/check-deploy.mjs" --compose "$tmp/compose.yaml" \
  --secrets "$tmp"/secrets/secrets-*.yaml --dashboard-rules "$tmp/dashboard-rules.yml"
step "the dashboard's queries parse" "$promtool" check rules "$tmp/dashboard-rules.yml"

certs() {
  local owner
  owner=$(id -u)
  docker/ppi-certs.sh "$tmp/ca" "$tmp/tls" "$owner" super_dealer=super-dealer \
    prometheus:monitor >"$tmp/certs.out"
  openssl verify -CAfile "$tmp/ca/ca.pem" "$tmp/tls/super_dealer/super_dealer.pem" >/dev/null
  [ "$(stat -c %a "$tmp/tls/super_dealer/super_dealer.key")" = 600 ]
  [ ! -e "$tmp/ca/super_dealer.key" ]
  openssl x509 -in "$tmp/tls/prometheus/prometheus.pem" -noout -subject | grep -q "OU = monitor"
  openssl x509 -in "$tmp/tls/super_dealer/super_dealer.pem" -noout -ext subjectAltName |
    grep -q "DNS:super-dealer"
  # A second start keeps what the first issued.
  local before
  before=$(sha256sum "$tmp/tls/super_dealer/super_dealer.pem")
  docker/ppi-certs.sh "$tmp/ca" "$tmp/tls" "$owner" super_dealer=super-dealer >"$tmp/certs.out"
  grep -q "super_dealer: kept" "$tmp/certs.out"
  [ "$before" = "$(sha256sum "$tmp/tls/super_dealer/super_dealer.pem")" ]
}
step "ppi-certs.sh" certs

runtime_packages() {
  docker/runtime-packages.sh /usr/bin/openssl >"$tmp/packages"
  grep -qx libssl3 "$tmp/packages" && grep -qx libc6 "$tmp/packages"
  local exes=()
  for exe in super_dealer dealer model_owner client; do
    [ -z "$build_dir" ] || [ ! -x "$build_dir/$exe/$exe" ] || exes+=("$build_dir/$exe/$exe")
  done
  if [ ${#exes[@]} -gt 0 ]; then
    docker/runtime-packages.sh "${exes[@]}" >"$tmp/packages"
    echo "   runtime packages of ${#exes[@]} executables: $(tr '\n' ' ' <"$tmp/packages")"
    grep -qx libpq5 "$tmp/packages"
  fi
}
step "runtime-packages.sh" runtime_packages
echo "deploy_check: $passed passed, 0 failed"
