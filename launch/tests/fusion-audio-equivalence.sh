#!/usr/bin/env bash
# Audio-visual fusion (image + audio through the gated head with modality dropout, and audio, image and text through
# early fusion) on the synthetic shapes and their sounds: the same global batches on 1 and 2 ranks give the same
# losses and final parameters (per tensor 1e-5 of max |value|, the key part of in_proj_bias aside as in
# train-equivalence.sh), and a repeated 2-rank run is bit-identical.
set -euo pipefail
source "$(dirname "$0")/train-common.bash"
fusion() {
  local np=$1 name=$2; shift 2
  timeout 300 mpirun --allow-run-as-root --oversubscribe -np "$np" "$SWIFTCLIP" train --task fusion --dataset-type synthetic \
    --model-image clip-tiny --model-audio audio-tiny --num-classes 20 --train-num-samples 256 --batch-size $((16 / np)) \
    --max-steps 6 --lr 1e-3 --warmup 2 --seed 3 --deterministic --val-frequency 1000 --save-frequency 0 --log-every-n-steps 1 \
    --audio-augment gain_db=6 shift_s=0.1 noise=0.01 time_mask=20 freq_mask=12 --logs "$SCRATCH" --name "$name" "$@"
}
for setup in "gated|--modalities image,audio --fusion gated --modality-dropout 0.3" \
             "early|--modalities audio,image,text --model-text clip-tiny --fusion early --early-width 64"; do
  label=${setup%%|*}; read -r -a flags <<< "${setup#*|}"
  for run in "1 np1" "2 np2" "2 np2-again"; do
    read -r np name <<< "$run"
    fusion "$np" "$label-$name" "${flags[@]}" > "$SCRATCH/$label-$name.log" 2>&1 || { cat "$SCRATCH/$label-$name.log"; exit 1; }
  done
  "$SWIFTCLIP" compare "$SCRATCH/$label-np1" "$SCRATCH/$label-np2" --ignore-key-bias  # as train-equivalence.sh: the key bias has no true gradient
  "$SWIFTCLIP" compare "$SCRATCH/$label-np2" "$SCRATCH/$label-np2-again" --exact
done
echo "fusion-audio-equivalence: 1 and 2 ranks agree and repeated runs are bit-identical for image+audio and audio+image+text fusion"
