#!/usr/bin/env bash
# A 2-rank run killed with SIGKILL mid-run and resumed with --resume latest ends bit-identical to an
# uninterrupted run (deterministic mode), and the checkpoints it left verify.
set -euo pipefail
source "$(dirname "$0")/train-common.bash"
STEPS=60
train 2 full --max-steps $STEPS --save-every-steps 10 > "$SCRATCH/full.log" 2>&1 || { cat "$SCRATCH/full.log"; exit 1; }

# Start the same run, wait until it has logged step 25, then SIGKILL one rank.
train 2 killed --max-steps $STEPS --save-every-steps 10 > "$SCRATCH/killed.log" 2>&1 &
job=$!
kill_rank_after killed 25 > /dev/null
if wait "$job"; then echo "train-resume-after-kill: the killed job exited 0" >&2; exit 1; fi
last=$(grep -Eo '"step": ?[0-9]+' "$SCRATCH/killed/results.jsonl" | tail -n 1)
echo "killed one rank after $last; checkpoints: $(ls "$SCRATCH/killed/checkpoints" | tr '\n' ' ')"
"$SWIFTCLIP" checkpoint verify "$SCRATCH"/killed/checkpoints/step-*.sclip

train 2 killed --max-steps $STEPS --save-every-steps 10 --resume latest > "$SCRATCH/resumed.log" 2>&1 || { cat "$SCRATCH/resumed.log"; exit 1; }
grep "resuming from" "$SCRATCH/resumed.log"
"$SWIFTCLIP" compare "$SCRATCH/full/checkpoints" "$SCRATCH/killed/checkpoints" --exact
echo "train-resume-after-kill: resumed run is bit-identical to the uninterrupted one"
