#!/usr/bin/env bash
# --grad-comm-dtype bf16 on 2 ranks, without and with ZeRO-1: the loss of every step stays within 1e-4 (relative) of
# the fp32 run's over 10 steps. bf16 rounding of each rank's share (8 significant bits, summed in float32) is all that
# differs; parameters are held only to 1e-1 of max |value| per tensor, since tensors that start at zero (biases) have a
# max |value| of a few learning rates, against which an AdamW step moved by rounding is not small.
set -euo pipefail
source "$(dirname "$0")/train-common.bash"
run() { local log=$SCRATCH/$2.log; train "$@" > "$log" 2>&1 || { cat "$log"; exit 1; }; }
run 2 fp32 --max-steps 10
run 2 bf16 --max-steps 10 --grad-comm-dtype bf16
run 2 bf16-zero --max-steps 10 --grad-comm-dtype bf16 --zero 1
for name in bf16 bf16-zero; do
  "$SWIFTCLIP" compare "$SCRATCH/fp32" "$SCRATCH/$name" --ignore-key-bias --loss-tolerance 1e-4 --parameter-tolerance 1e-1
done
echo "train-bf16-comm: bf16 gradient communication follows the fp32 loss trajectory"
