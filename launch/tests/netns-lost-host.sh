#!/usr/bin/env bash
# A host lost mid-run, for real: launch/train --max-restarts 1 trains clip-tiny on two network-namespace hosts
# (launch/netns-hosts.bash, 2 ranks each, MPI over TCP); once a checkpoint exists, the second host goes away (its
# processes are killed and its namespace deleted, so Open MPI's agent can no longer reach it). launch/train must
# name the lost host and its ranks in one line, relaunch on the first host alone with --resume latest and twice
# the per-rank batch (global batch 32 kept), and the run must finish there from the latest checkpoint.
# Skips (exit 0) where network namespaces cannot be created (no CAP_NET_ADMIN, no `ip`).
set -euo pipefail
source "$(dirname "$0")/train-common.bash"
started=$SECONDS
command -v ip > /dev/null || { echo "netns-lost-host: SKIP: the ip command (iproute2) is missing"; exit 0; }

source launch/netns-hosts.bash
NETNS_DIR=$SCRATCH
trap 'status=$?; netns_destroy; rm -rf "$SCRATCH"; exit $status' EXIT
trap 'exit 130' INT TERM
netns_create 2 || { echo "netns-lost-host: SKIP: $NETNS_ERROR"; exit 0; }
NODE1=${NETNS_NAMES[0]} NODE2=${NETNS_NAMES[1]} ADDR2=${NETNS_ADDRS[1]}
# A short collective timeout: ranks of the first host must not wait long for peers that are gone.
netns_cluster_config "$SCRATCH/cluster.yaml" 2 "env:" "  - SWIFTCLIP_COLLECTIVE_TIMEOUT=10"

STEPS=20 SAVE=5
timeout 300 ip netns exec "$NODE1" launch/train --cluster "$SCRATCH/cluster.yaml" --recipe cluster-configs/clip-tiny.yaml \
  --max-restarts 1 -- --batch-size 8 --max-steps $STEPS --save-every-steps $SAVE --logs "$SCRATCH" --name lost \
  --log-every-n-steps 1 --val-frequency 1000 > "$SCRATCH/lost.log" 2>&1 &
job=$!

# Wait for the first checkpoint and a few steps past it, then take the second host away.
fail() { cat "$SCRATCH/lost.log"; echo "netns-lost-host: $*" >&2; exit 1; }
for _ in $(seq 1 2400); do
  step=$(grep -Eo '"step": ?[0-9]+' "$SCRATCH/lost/results.jsonl" 2> /dev/null | tail -n 1 | grep -Eo '[0-9]+$' || true)
  [ "${step:-0}" -lt $((SAVE + 2)) ] || break
  kill -0 "$job" 2> /dev/null || fail "the run ended before the host could be lost"
  sleep 0.05
done
[ "${step:-0}" -ge $((SAVE + 2)) ] || fail "no progress past step $((SAVE + 2))"
pids=$(ip netns pids "$NODE2")
[ -n "$pids" ] || fail "nothing ran on $ADDR2"
kill -9 $pids
sleep 1  # let the first host's sockets see the connections close before the link disappears
ip netns del "$NODE2"
lost_at=$step
echo "netns-lost-host: lost $ADDR2 after step $lost_at"

wait "$job" || fail "launch/train failed although one restart was allowed"
grep -q "launch/train: lost host $ADDR2 (rank(s) 2-3): it does not answer" "$SCRATCH/lost.log" ||
  fail "no one-line error naming the lost host $ADDR2 and its ranks 2-3"
grep -q "launch/train: restart 1 of 1: .* on 2 rank(s), without $ADDR2 (no answer), --batch-size 16 keeps the global batch 32" "$SCRATCH/lost.log" ||
  fail "the restart was not logged as 2 ranks keeping the global batch 32"
# The relaunch: 2 ranks, global batch 32, resumed from the latest checkpoint (the last one saved before the loss).
grep -q "on 2 rank(s), global batch 32," "$SCRATCH/lost.log" || fail "the relaunch did not train on 2 ranks with global batch 32"
resumed=$(grep -Eo "resuming from .* at step [0-9]+" "$SCRATCH/lost.log" | tail -n 1 | grep -Eo '[0-9]+$' || true)
[ -n "$resumed" ] || fail "the relaunch did not resume from a checkpoint"
latest=$(( lost_at / SAVE * SAVE ))
[ "$resumed" -ge "$latest" ] && [ "$resumed" -le "$lost_at" ] ||
  fail "resumed at step $resumed, expected the latest checkpoint before the loss (step $latest..$lost_at)"
# The steps after the restart were logged once more and the run reached its last step with a checkpoint.
last=$(grep -Eo '"step": ?[0-9]+' "$SCRATCH/lost/results.jsonl" | tail -n 1 | grep -Eo '[0-9]+$')
[ "$last" = "$STEPS" ] || fail "the run ended at step $last, not $STEPS"
grep "launch/train: lost\|launch/train: restart\|launch/train: finished\|resuming" "$SCRATCH/lost.log"
echo "netns-lost-host: lost $ADDR2 (ranks 2-3) after step $lost_at; resumed at step $resumed on 2 ranks, global batch 32 kept, finished step $STEPS; $((SECONDS - started))s"
