#!/usr/bin/env bash
# swiftclip embed of a bound audio checkpoint (--task bind) on shards with recordings and captions but no images writes
# NAME.aud.npy and NAME.txt.npy and no NAME.img.npy; the recordings are featurised with the run's recorded --audio-mean
# and --audio-std (the same bytes as passing them explicitly, other bytes with ImageBind's defaults), and their rows equal
# those of the same recordings embedded from shards with images. A CLIP checkpoint on image-less shards is an error.
set -euo pipefail
source "$(dirname "$0")/train-common.bash"
bind_fixture
timeout 300 "$SWIFTCLIP" train --task bind --bind-modality audio --image-checkpoint "$SCRATCH/clip/checkpoints" \
  --model-audio "$SCRATCH/audio.json" --dataset-type webdataset --train-data "$SCRATCH/data/train-{000000..000000}.tar" \
  --train-num-samples 64 --batch-size 16 --max-steps 2 --save-every-steps 2 --workers 0 --seed 0 \
  --audio-mean -1.5 --audio-std 4 --logs "$SCRATCH" --name bound > "$SCRATCH/bound.log" 2>&1 || { cat "$SCRATCH/bound.log"; exit 1; }
CKPT="$SCRATCH/bound/checkpoints"

# The validation shard without its images: captions and recordings only, each sample's members together.
mkdir "$SCRATCH/members"
tar -xf "$SCRATCH/val/val-000000.tar" -C "$SCRATCH/members"
rm "$SCRATCH"/members/*.png
(cd "$SCRATCH/members" && ls | LC_ALL=C sort | tar --format=ustar -cf "$SCRATCH/sounds.tar" -T -)

# embed DATA OUTPUT ARGS...
embed() {
  local data=$1 output=$2; shift 2
  timeout 300 "$SWIFTCLIP" embed --checkpoint "$CKPT" --data "$data" --output "$SCRATCH/$output" --batch-size 8 "$@" \
    > "$SCRATCH/$output.log" 2>&1 || { cat "$SCRATCH/$output.log"; exit 1; }
}
embed "$SCRATCH/sounds.tar" recorded
embed "$SCRATCH/sounds.tar" explicit --audio-mean=-1.5 --audio-std 4
embed "$SCRATCH/sounds.tar" defaults --audio-mean=-4.268 --audio-std 9.138
embed "$SCRATCH/val/val-000000.tar" with-images
ls "$SCRATCH/recorded" | tr '\n' ' '; echo
[ -f "$SCRATCH/recorded/sounds.aud.npy" ] && [ -f "$SCRATCH/recorded/sounds.txt.npy" ] \
  || { echo "embed-bound-audio: no sounds.aud.npy or sounds.txt.npy" >&2; exit 1; }
[ ! -e "$SCRATCH/recorded/sounds.img.npy" ] || { echo "embed-bound-audio: wrote image embeddings without images" >&2; exit 1; }
grep -q '"rows":32' "$SCRATCH/recorded/manifest.json" || { echo "embed-bound-audio: not 32 rows" >&2; cat "$SCRATCH/recorded/manifest.json" >&2; exit 1; }
cmp "$SCRATCH/recorded/sounds.aud.npy" "$SCRATCH/explicit/sounds.aud.npy"
if cmp -s "$SCRATCH/recorded/sounds.aud.npy" "$SCRATCH/defaults/sounds.aud.npy"; then
  echo "embed-bound-audio: the run's --audio-mean/--audio-std were not used (same embeddings as the defaults)" >&2; exit 1
fi
# Both shards hold the same samples in the same order: the same audio embeddings.
cmp "$SCRATCH/recorded/sounds.aud.npy" "$SCRATCH/with-images/val-000000.aud.npy"
[ -f "$SCRATCH/with-images/val-000000.img.npy" ] || { echo "embed-bound-audio: no image embeddings from the shard with images" >&2; exit 1; }

if "$SWIFTCLIP" embed --checkpoint "$SCRATCH/clip/checkpoints" --data "$SCRATCH/sounds.tar" --output "$SCRATCH/clip-out" \
  > "$SCRATCH/clip-out.log" 2>&1; then
  echo "embed-bound-audio: a CLIP checkpoint embedded a shard without images" >&2; exit 1
fi
grep "sounds.tar\|image" "$SCRATCH/clip-out.log" | head -n 1
# Captions alone give the bound model nothing to embed: a one-line error naming the shard.
rm "$SCRATCH"/members/*.wav
(cd "$SCRATCH/members" && ls | LC_ALL=C sort | tar --format=ustar -cf "$SCRATCH/captions.tar" -T -)
if "$SWIFTCLIP" embed --checkpoint "$CKPT" --data "$SCRATCH/captions.tar" --output "$SCRATCH/captions-out" > "$SCRATCH/captions-out.log" 2>&1; then
  echo "embed-bound-audio: a shard of captions alone was embedded" >&2; exit 1
fi
grep -q "captions.tar: no images (.png/.jpg) and no recordings" "$SCRATCH/captions-out.log" || { cat "$SCRATCH/captions-out.log" >&2; exit 1; }
echo "embed-bound-audio: audio-only shards embed with the run's audio settings; rows match the shard with images"
