#!/usr/bin/env bash
# Distillation (--distill-loss both) from a wider teacher checkpoint (clip-tiny-wide, 4 steps of training) over the same
# global batches for 6 steps on 1 rank, on 2 ranks and on 2 ranks with GradCache (--accum-freq 2) gives the same losses
# (relative 1e-5 at every step) and final parameters, the feature projections included; --distill-weight 0 with the
# affinity loss alone is CLIP's run bit for bit, and distillation is not.
set -euo pipefail
source "$(dirname "$0")/train-common.bash"
run() { local np=$1 name=$2; shift 2; train "$np" "$name" --max-steps 6 "$@" > "$SCRATCH/$name.log" 2>&1 || { cat "$SCRATCH/$name.log"; exit 1; }; }
train 1 teacher --model cluster-configs/models/clip-tiny-wide.json --max-steps 4 --save-every-steps 4 > "$SCRATCH/teacher.log" 2>&1 \
  || { cat "$SCRATCH/teacher.log"; exit 1; }
TEACHER=(--distill-teacher "$SCRATCH/teacher/checkpoints")
run 1 plain
run 1 weight0 "${TEACHER[@]}" --distill-loss affinity --distill-weight 0
run 1 kd1 "${TEACHER[@]}" --distill-loss both --distill-weight 2
run 2 kd2 "${TEACHER[@]}" --distill-loss both --distill-weight 2
run 2 kd2-accum "${TEACHER[@]}" --distill-loss both --distill-weight 2 --accum-freq 2
"$SWIFTCLIP" compare "$SCRATCH/plain" "$SCRATCH/weight0" --exact
"$SWIFTCLIP" compare "$SCRATCH/kd1" "$SCRATCH/kd2" --ignore-key-bias
"$SWIFTCLIP" compare "$SCRATCH/kd1" "$SCRATCH/kd2-accum" --ignore-key-bias
grep -q '"distill_affinity"' "$SCRATCH/kd2/results.jsonl" || { echo "train-distill-equivalence: no distill_affinity in the step logs" >&2; exit 1; }
if "$SWIFTCLIP" compare "$SCRATCH/plain" "$SCRATCH/kd1" > "$SCRATCH/plain-vs-kd.log" 2>&1; then
  cat "$SCRATCH/plain-vs-kd.log"; echo "train-distill-equivalence: distillation trained exactly as CLIP's loss" >&2; exit 1
fi
echo "train-distill-equivalence: 1 rank, 2 ranks and GradCache agree under distillation; --distill-weight 0 is CLIP's run bit for bit"
