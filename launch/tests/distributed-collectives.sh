#!/usr/bin/env bash
# Every collective, the gradient bucket reducer, replica check and feature gather, checked against
# exact values on 1 rank (no mpirun), 2 ranks and 4 ranks.
set -uo pipefail
source "$(dirname "$0")/distributed-common.bash"
build_selftest

failed=0
echo "-- 1 rank, started without mpirun"
timeout 120 "$SELFTEST" check || failed=1
for np in 2 4; do
  echo "-- $np ranks"
  run_ranks 300 "$np" check --timeout 60 || failed=1
done
[ "$failed" -eq 0 ] && echo "distributed-collectives: passed" || echo "distributed-collectives: FAILED" >&2
exit "$failed"
