#!/usr/bin/env bash
# The fusion classifier's three-stage recipe on 2 ranks (stage 1 unimodal), SIGKILLed in the middle of stage 2 (encoders
# frozen: no gradient or AdamW storage) and resumed with --resume latest, ends bit-identical to an uninterrupted run,
# and both logged the same stage changes. Its checkpoints also resume on 1 rank (from inside stage 2) and under ZeRO-1
# (from stage 1, through both stage changes), ending equal to the uninterrupted run to float rounding.
set -euo pipefail
source "$(dirname "$0")/train-common.bash"
STAGES='[{"name": "encoders", "steps": 10, "settings": {"fusion-objective": "unimodal"}}, {"name": "fusion", "freeze": ["visual.", "text."], "steps": 14, "warmup": 0},
         {"name": "full", "lr": 1.0e-4, "warmup": 2}]'
fusion() { fusion_np 2 "$@"; }
fusion_np() {
  local np=$1 name=$2; shift 2
  timeout 300 mpirun --allow-run-as-root --oversubscribe -np "$np" "$SWIFTCLIP" train --config cluster-configs/fusion-three-stage.yaml \
    --model-image clip-tiny --model-text clip-tiny --train-num-samples 1024 --val-num-samples 64 --batch-size 8 --max-steps 30 \
    --stages "$STAGES" --deterministic --save-every-steps 3 --log-every-n-steps 1 --val-frequency 1000 \
    --logs "$SCRATCH" --name "$name" "$@"
}
fusion full > "$SCRATCH/full.log" 2>&1 || { cat "$SCRATCH/full.log"; exit 1; }

# Start the same run, wait until it has logged step 12 (stage 2 runs steps 11-24; steps are fast and the log lags by a few),
# then SIGKILL one rank.
fusion killed > "$SCRATCH/killed.log" 2>&1 &
job=$!
kill_rank_after killed 12 > /dev/null
if wait "$job"; then echo "fusion-resume-after-kill: the killed job exited 0" >&2; exit 1; fi
last=$(grep -Eo '"step": ?[0-9]+' "$SCRATCH/killed/results.jsonl" | tail -n 1 | grep -Eo '[0-9]+$')
echo "killed one rank after step $last; checkpoints: $(ls "$SCRATCH/killed/checkpoints" | tr '\n' ' ')"
if [ "$last" -le 10 ] || [ "$last" -ge 24 ]; then echo "fusion-resume-after-kill: killed at step $last, outside stage 2" >&2; exit 1; fi

fusion killed --resume latest > "$SCRATCH/resumed.log" 2>&1 || { cat "$SCRATCH/resumed.log"; exit 1; }
grep "resuming from" "$SCRATCH/resumed.log"
"$SWIFTCLIP" compare "$SCRATCH/full/checkpoints" "$SCRATCH/killed/checkpoints" --exact
stages() { grep -Eo 'stage [a-z]+ -> [a-z]+ at step [0-9]+' "$1" | sort -u; }
[ "$(stages "$SCRATCH/full/results.jsonl")" = "$(stages "$SCRATCH/killed/results.jsonl")" ] && [ -n "$(stages "$SCRATCH/full/results.jsonl")" ] \
  || { echo "fusion-resume-after-kill: stage changes differ:"; stages "$SCRATCH/full/results.jsonl"; stages "$SCRATCH/killed/results.jsonl"; exit 1; }
stages "$SCRATCH/full/results.jsonl"

resume_from() { # resume_from STEP NP NAME FLAGS...: continue the uninterrupted run's step-STEP checkpoint to the end
  local step=$1 np=$2 name=$3; shift 3
  mkdir -p "$SCRATCH/$name/checkpoints"
  cp "$SCRATCH/full/checkpoints/step-$(printf %08d "$step").sclip" "$SCRATCH/$name/checkpoints/"
  fusion_np "$np" "$name" --resume latest "$@" > "$SCRATCH/$name.log" 2>&1 || { cat "$SCRATCH/$name.log"; exit 1; }
  "$SWIFTCLIP" compare "$SCRATCH/full/checkpoints" "$SCRATCH/$name/checkpoints" --ignore-key-bias
}
resume_from 12 1 stage2-np1
resume_from 9 2 stage1-zero --zero 1
grep -h "optimizer state" "$SCRATCH/stage1-zero.log" | sed 's/.*optimizer state/optimizer state/' 
echo "fusion-resume-after-kill: resumed inside stage 2, the run is bit-identical to the uninterrupted one; resumed on 1 rank and under ZeRO-1 it matches it"
