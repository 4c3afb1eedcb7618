#!/usr/bin/env bash
# A checkpoint written under 4 ranks resumes under 2 and under 1 rank with the same global batches; parameters
# at the end equal the uninterrupted 4-rank run to float rounding (reduction order differs across world sizes).
set -euo pipefail
source "$(dirname "$0")/train-common.bash"
train 4 np4 --max-steps 20 --save-every-steps 10 > "$SCRATCH/np4.log" 2>&1 || { cat "$SCRATCH/np4.log"; exit 1; }
for np in 2 1; do
  mkdir -p "$SCRATCH/from4to$np/checkpoints"
  cp "$SCRATCH/np4/checkpoints/step-00000010.sclip" "$SCRATCH/from4to$np/checkpoints/"
  train "$np" "from4to$np" --max-steps 20 --resume latest > "$SCRATCH/from4to$np.log" 2>&1 || { cat "$SCRATCH/from4to$np.log"; exit 1; }
  grep "resuming" "$SCRATCH/from4to$np.log"
  "$SWIFTCLIP" compare "$SCRATCH/np4" "$SCRATCH/from4to$np" --ignore-key-bias
done
echo "train-resume-other-world-size: 4 -> 2 and 4 -> 1 ranks continue the same run"
