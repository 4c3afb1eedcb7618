#!/usr/bin/env bash
# A rank that dies (exit 1, SIGKILL) or stalls mid-run must end the whole job with a non-zero status
# well within a minute, never hang; a stalled peer is caught by the collective timeout (3 s here).
set -uo pipefail
source "$(dirname "$0")/distributed-common.bash"
build_selftest

limit=45
failed=0
for case in "2 exit" "2 kill" "2 stall" "2 stall-nonblocking" "4 stall" "4 kill"; do
  read -r np mode <<<"$case"
  log=$(mktemp)
  start=$(date +%s)
  run_ranks 120 "$np" dead-peer "$mode" --timeout 3 >"$log" 2>&1
  status=$?
  elapsed=$(( $(date +%s) - start ))
  verdict=ok
  if [ "$status" -eq 0 ]; then verdict="job exited 0"; fi
  if [ "$status" -eq 124 ]; then verdict="job hung (killed by timeout)"; fi
  if [ "$elapsed" -gt "$limit" ]; then verdict="took ${elapsed}s > ${limit}s"; fi
  if [[ "$mode" == stall* ]] && ! grep -q "timed out after .* a peer likely died" "$log"; then verdict="no timeout message"; fi
  if grep -q "finished every collective" "$log"; then verdict="a rank finished although its peer failed"; fi
  echo "-- $np ranks, last rank $mode: status $status after ${elapsed}s: $verdict"
  if [ "$verdict" != ok ]; then failed=1; sed 's/^/   | /' "$log" | head -40; fi
  rm -f "$log"
done
[ "$failed" -eq 0 ] && echo "distributed-dead-peer: passed" || echo "distributed-dead-peer: FAILED" >&2
exit "$failed"
