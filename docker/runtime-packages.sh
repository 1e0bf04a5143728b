#!/usr/bin/env bash
# Prints the Debian packages that hold the shared libraries the given executables load, one a
# line: the runtime stage of docker/Dockerfile installs exactly these, so the image's library
# list follows the build's link line instead of a hand-kept copy of it.
#   docker/runtime-packages.sh EXECUTABLE...
# Fails naming the library when one belongs to no package (a library built here, say): such an
# image would not start.
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: $0 EXECUTABLE..." >&2; exit 2; }
declare -A packages=()
while read -r lib; do
  pkg=""
  # Debian 12 is usr-merged: ldd may name /lib/... where dpkg recorded /usr/lib/... or the
  # other way round, and a symlink where dpkg recorded its target.
  for candidate in "$lib" "$(readlink -f "$lib")" "/usr$lib" "${lib#/usr}"; do
    if pkg=$(dpkg-query -S "$candidate" 2>/dev/null); then break; fi
    pkg=""
  done
  [ -n "$pkg" ] || { echo "$0: no Debian package holds $lib" >&2; exit 1; }
  pkg=${pkg%%:*}
  packages[$pkg]=1
done < <(for exe in "$@"; do
  ldd "$exe" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'
done | sort -u)
printf '%s\n' "${!packages[@]}" | sort
