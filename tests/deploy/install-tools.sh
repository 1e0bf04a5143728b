#!/usr/bin/env bash
# Installs what tests/deploy/check.sh needs, as scripts/install-web-deps.sh does for the web
# tooling (idempotent; as root where a Debian package is missing):
#   docker-compose            Debian's (1.29): `docker-compose config` validates docker/compose.yaml
#   tests/deploy/node_modules the yaml parser and kubernetes-models (the Kubernetes API's schemas,
#                             bundled: the manifests are checked offline), locked by
#                             tests/deploy/package-lock.json and installed with `npm ci`
#   tests/deploy/tools/promtool  from Debian's prometheus package, unpacked here and not
#                             installed: installing it would start a Prometheus server
set -euo pipefail
cd "$(dirname "$0")"
export DEBIAN_FRONTEND=noninteractive
updated=""
apt_install() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-tools: missing $* (run as root to install them)" >&2
    exit 1
  fi
  [ -n "$updated" ] || { apt-get update -q; updated=1; }
  apt-get install -y -q --no-install-recommends "$@"
}
command -v docker-compose >/dev/null 2>&1 || apt_install docker-compose
command -v npm >/dev/null 2>&1 || apt_install nodejs npm

marker=node_modules/.package-lock.json
if [ ! -f "$marker" ] || [ package-lock.json -nt "$marker" ] ||
  [ ! -f node_modules/kubernetes-models/package.json ] || [ ! -f node_modules/yaml/package.json ]; then
  npm ci --ignore-scripts --no-audit --no-fund
  touch "$marker"
fi

if [ ! -x tools/promtool ]; then
  if command -v promtool >/dev/null 2>&1; then
    mkdir -p tools && ln -sf "$(command -v promtool)" tools/promtool
  else
    [ -n "$updated" ] || { apt-get update -q; updated=1; }
    work=$(mktemp -d)
    chmod 755 "$work"  # apt-get download fetches as the user _apt
    (cd "$work" && apt-get download prometheus >/dev/null && dpkg-deb -x prometheus_*.deb root)
    mkdir -p tools && install -m 755 "$work/root/usr/bin/promtool" tools/promtool
    rm -rf "$work"
  fi
fi
echo "install-tools: $(docker-compose version --short), $(tools/promtool --version 2>&1 | head -n 1)," \
  "kubernetes-models $(node -p "require('./node_modules/kubernetes-models/package.json').version")"
