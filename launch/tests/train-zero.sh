#!/usr/bin/env bash
# ZeRO-1 (--zero 1): on 2 ranks, and on 4 with gradient clipping, it trains like the plain run on as many ranks (losses
# and parameters to the tolerance of train-equivalence.sh); its checkpoints hold the full AdamW state, so one resumes without ZeRO on 1 rank and with
# ZeRO on 4 ranks to the end of the uninterrupted run, and a plain checkpoint resumes under ZeRO-1.
set -euo pipefail
source "$(dirname "$0")/train-common.bash"
run() { local log=$SCRATCH/$2.log; train "$@" > "$log" 2>&1 || { cat "$log"; exit 1; }; }
run 2 plain --max-steps 20 --save-every-steps 10
run 2 zero --max-steps 20 --save-every-steps 10 --zero 1
"$SWIFTCLIP" compare "$SCRATCH/plain" "$SCRATCH/zero" --ignore-key-bias
# On 4 ranks with clipping at work (the norm is then an all-reduce of the ranks' sums of squares).
run 4 plain-clip --max-steps 10 --grad-clip-norm 0.5
run 4 zero-clip --max-steps 10 --grad-clip-norm 0.5 --zero 1
"$SWIFTCLIP" compare "$SCRATCH/plain-clip" "$SCRATCH/zero-clip" --ignore-key-bias

resume() { # resume FROM NP NAME FLAGS...: continue FROM's step-10 checkpoint to step 20
  local from=$1 np=$2 name=$3; shift 3
  mkdir -p "$SCRATCH/$name/checkpoints"
  cp "$SCRATCH/$from/checkpoints/step-00000010.sclip" "$SCRATCH/$name/checkpoints/"
  run "$np" "$name" --max-steps 20 --resume latest "$@"
  grep "resuming from" "$SCRATCH/$name.log"
  "$SWIFTCLIP" compare "$SCRATCH/$from/checkpoints" "$SCRATCH/$name/checkpoints" --ignore-key-bias
}
resume zero 1 zero-to-plain-np1 --zero 0
resume zero 4 zero-to-zero-np4 --zero 1
resume plain 2 plain-to-zero-np2 --zero 1
grep -H "optimizer state" "$SCRATCH"/*.log | sed "s|$SCRATCH/||"
echo "train-zero: ZeRO-1 matches plain training; its checkpoints resume with and without ZeRO on other world sizes"
