#!/usr/bin/env bash
# HN-NCE (--hn-beta 0.5) over the same global batches for 6 steps on 1 rank, on 2 ranks and on 2 ranks with GradCache
# (--accum-freq 2) gives the same losses (relative 1e-5 at every step) and final parameters (per tensor 1e-5 of
# max |value|, the key part of in_proj_bias aside); --hn-beta 0 is CLIP's run bit for bit, and --hn-beta 0.5 is not.
set -euo pipefail
source "$(dirname "$0")/train-common.bash"
run() { local np=$1 name=$2; shift 2; train "$np" "$name" --max-steps 6 "$@" > "$SCRATCH/$name.log" 2>&1 || { cat "$SCRATCH/$name.log"; exit 1; }; }
run 1 plain
run 1 beta0 --hn-beta 0
run 1 hn1 --hn-beta 0.5
run 2 hn2 --hn-beta 0.5
run 2 hn2-accum --hn-beta 0.5 --accum-freq 2
"$SWIFTCLIP" compare "$SCRATCH/plain" "$SCRATCH/beta0" --exact
"$SWIFTCLIP" compare "$SCRATCH/hn1" "$SCRATCH/hn2" --ignore-key-bias
"$SWIFTCLIP" compare "$SCRATCH/hn1" "$SCRATCH/hn2-accum" --ignore-key-bias
if "$SWIFTCLIP" compare "$SCRATCH/plain" "$SCRATCH/hn1" > "$SCRATCH/plain-vs-hn.log" 2>&1; then
  cat "$SCRATCH/plain-vs-hn.log"; echo "train-hn-nce-equivalence: --hn-beta 0.5 trained exactly as CLIP's loss" >&2; exit 1
fi
echo "train-hn-nce-equivalence: 1 rank, 2 ranks and GradCache agree under HN-NCE; --hn-beta 0 is CLIP's run bit for bit"
