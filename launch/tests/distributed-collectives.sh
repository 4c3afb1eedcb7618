#!/usr/bin/env bash
# Every collective, the gradient bucket reducer, replica check and feature gather, checked against
# exact values on 1 rank (no mpirun), 2 ranks and 4 ranks; and probe-allreduce's bus bandwidth (plan's --bandwidth with
# --wire fp32, --bf16-bandwidth with --wire bf16) is the traffic 2 (W - 1) / W of the wire buffer over the time.
set -uo pipefail
source "$(dirname "$0")/distributed-common.bash"
build_selftest

failed=0
echo "-- 1 rank, started without mpirun"
timeout 120 "$SELFTEST" check || failed=1
for np in 2 4; do
  echo "-- $np ranks"
  run_ranks 300 "$np" check --timeout 60 || failed=1
  for wire in fp32 bf16; do
    line=$(run_ranks 120 "$np" probe-allreduce --mib 1 --wire "$wire" --repetitions 3 | tail -n 1)
    awk -v np="$np" -v wire="$wire" -v line="$line" 'BEGIN {
      n = split(line, kv, /[{},]/); for (i = 1; i <= n; i++) if (split(kv[i], p, ":") == 2) { gsub(/"/, "", p[1]); gsub(/"/, "", p[2]); v[p[1]] = p[2] }
      want = 2 * (np - 1) / np
      if (v["wire"] != wire || v["ranks"] + 0 != np || v["algbw_gbps"] + 0 <= 0 || (v["bus_gbps"] / v["algbw_gbps"] - want) ^ 2 > 1e-4) exit 1 }' ||
      { echo "probe-allreduce --wire $wire on $np ranks: bus bandwidth is not 2 (W - 1) / W x algorithm bandwidth: $line" >&2; failed=1; }
  done
done
[ "$failed" -eq 0 ] && echo "distributed-collectives: passed" || echo "distributed-collectives: FAILED" >&2
exit "$failed"
