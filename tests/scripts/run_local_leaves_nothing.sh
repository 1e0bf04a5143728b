#!/usr/bin/env bash
# The main job (scripts/run-local.sh) must stop every process it starts: the super dealer, the
# dealers, the model owner and the database server. Runs it against BUILD_DIR (the first
# argument) and fails, naming them, if any of its processes outlive it. Before the fix its
# start_actor ran in $(...), so the PIDs never reached the clean-up and five actors were
# left running after every run.
set -euo pipefail
build=$(cd "$1" && pwd)
cd "$(dirname "$0")/../.."
pattern="($build/(super_dealer/super_dealer|dealer/dealer|model_owner/model_owner|client/client|tests/support/ppi_local_db)|/tmp/ppi-local-)"
before=$(pgrep -f "$pattern" | sort || true)
BUILD_DIR="$build" bash scripts/run-local.sh
sleep 1
after=$(pgrep -f "$pattern" | sort || true)
left=$(comm -13 <(echo "$before") <(echo "$after") | sed '/^$/d')
if [ -n "$left" ]; then
  echo "run_local: processes left running after the main job:" >&2
  for pid in $left; do ps -o pid=,args= -p "$pid" >&2 || true; done
  for pid in $left; do kill -TERM "$pid" 2>/dev/null || true; done
  exit 1
fi
echo "run_local: the main job stopped every process it started"
