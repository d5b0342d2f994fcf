#!/usr/bin/env bash
# Runs the whole CI (.ci/run) while a CPU hog keeps every core busy, to prove the suite does not
# depend on a quiet machine. The hog is bounded: it stops by itself after HOG_SECONDS (default 1800)
# and is killed when this script ends, however it ends.
#
#   bash scripts/stress-ci.sh                 # one busy loop per core
#   HOG_PROCS=4 bash scripts/stress-ci.sh     # more hogs than cores (load ~6 on 2 cores)
#   HOG_PROCS=4 bash scripts/stress-ci.sh npx vitest run --project e2e test/e2e/sync-async.test.ts
#                                             # any command instead of the whole CI
set -uo pipefail
cd "$(dirname "$0")/.."
procs=${HOG_PROCS:-$(nproc)}
seconds=${HOG_SECONDS:-1800}

hogs=()
stop_hogs() { [ ${#hogs[@]} -gt 0 ] && kill "${hogs[@]}" 2>/dev/null; wait 2>/dev/null; }
trap stop_hogs EXIT
trap 'exit 130' INT TERM
for _ in $(seq "$procs"); do
  # A busy loop in the shell itself: nothing to install, and `timeout` ends it even if we are killed -9.
  timeout "$seconds" bash -c 'while :; do :; done' &
  hogs+=($!)
done
echo "stress: $procs CPU hog(s) on $(nproc) core(s), for at most $seconds s"

started=$SECONDS
if [ $# -gt 0 ]; then
  CI=true "$@"
else
  CI=true bash .ci/run
fi
status=$?
echo "stress: ${*:-.ci/run} exited $status after $((SECONDS - started)) s; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
exit $status
