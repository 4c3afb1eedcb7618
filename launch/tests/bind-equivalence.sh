#!/usr/bin/env bash
# Binding (--task bind): an audio encoder trained against the frozen image tower of a CLIP checkpoint gives the same
# losses on 1 and 2 ranks (relative 1e-5 at every step, as train-equivalence.sh) and final parameters (per tensor 1e-4 of
# max |value|: the audio tower's ln_post.bias is still near zero after 6 steps, so float rounding, which AdamW's
# normalised update carries into it, is large relative to its largest value, as in train-hard-negatives-equivalence.sh),
# and a resumed run continues bit-exactly. Tiny model, generated tone-image pairs.
set -euo pipefail
source "$(dirname "$0")/train-common.bash"
bind_fixture

# bind NP NAME ARGS...: global batch 16 split over NP ranks, deterministic.
bind() {
  local np=$1 name=$2; shift 2
  timeout 300 mpirun --allow-run-as-root --oversubscribe -np "$np" "$SWIFTCLIP" train --task bind --bind-modality audio \
    --image-checkpoint "$SCRATCH/clip/checkpoints" --model-audio "$SCRATCH/audio.json" --dataset-type webdataset \
    --train-data "$SCRATCH/data/train-{000000..000000}.tar" --train-num-samples 64 --val-data "$SCRATCH/val/val-{000000..000000}.tar" \
    --batch-size $((16 / np)) --lr 1e-3 --warmup 2 --wd 0.1 --seed 0 --deterministic --workers 0 \
    --bind-logit-scale 20 --bind-fixed-logit-scale --logs "$SCRATCH" --name "$name" --log-every-n-steps 1 "$@" \
    > "$SCRATCH/$name.log" 2>&1 || { cat "$SCRATCH/$name.log"; exit 1; }
}
bind 1 np1 --max-steps 6 --epochs 2 --save-every-steps 3
bind 2 np2 --max-steps 6 --epochs 2
"$SWIFTCLIP" compare "$SCRATCH/np1" "$SCRATCH/np2" --ignore-key-bias --parameter-tolerance 1e-4

# Resume at step 3 on one rank: the same final parameters, bit for bit.
bind 1 resumed --max-steps 6 --epochs 2 --resume "$SCRATCH/np1/checkpoints/step-00000003.sclip"
"$SWIFTCLIP" compare "$SCRATCH/np1" "$SCRATCH/resumed" --exact

grep -q '"audio_to_image_R@1"' "$SCRATCH/np1/results.jsonl" || { echo "bind-equivalence: no audio_to_image_R@1 in results.jsonl" >&2; exit 1; }
echo "bind-equivalence: 1 and 2 ranks agree; resume is bit-exact"
