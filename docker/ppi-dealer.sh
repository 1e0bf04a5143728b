#!/usr/bin/env bash
# Starts a dealer after making its master key (keys.master_key_file) on first start:
#   ppi-dealer [DEALER FLAGS...]      (PPI_KEYS_MASTER_KEY_FILE names the file)
# The key is drawn where the dealer runs and never leaves its volume (docs/operations.md,
# "Dealer groups, keys and generation"). It seals the dealer's group keys at rest, so a volume
# lost or mounted elsewhere means the dealer's groups are lost: the dealer then logs errors
# opening them, and the groups must be formed anew; this script never replaces an existing key.
set -euo pipefail
key=${PPI_KEYS_MASTER_KEY_FILE:?set PPI_KEYS_MASTER_KEY_FILE to the master key file}
if [ ! -e "$key" ]; then
  (umask 077 && openssl rand -hex 32 >"$key.new" && mv "$key.new" "$key")
  echo "ppi-dealer: made a new master key in $key" >&2
fi
exec dealer "$@"
