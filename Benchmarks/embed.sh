#!/usr/bin/env bash
# Image embedding throughput of `swiftclip embed` against OpenCLIP 3.3.0's `model.encode_image(x, normalize=True)`
# under `torch.no_grad()` (Benchmarks/openclip/embed.py): the same clip-bench weights (OpenCLIP's seeded model, saved
# as safetensors and read with --weights), the same IMAGES synthetic 64x64 images, 1 process with 1 BLAS/torch
# thread each, run alternately ROUNDS times (ours, theirs, ours, ...). Ours is the embed run's own rows/s: decoding,
# the evaluation transform, the forward pass, normalisation and writing the .npy shard (model loading excluded);
# theirs is the forward pass alone over images decoded and transformed beforehand. `embed_vs_openclip_1r1t` is the
# median of ours over the median of theirs. The two sides' embeddings of every image are compared too (lowest cosine).
# Usage: Benchmarks/run embed [--json]      (IMAGES, default 1024; ROUNDS, default 3)
set -euo pipefail
cd "$(dirname "$0")/.."
source launch/build-env
swift build "${SWIFT_BUILD_FLAGS[@]}" --product swiftclip 2>&1 | grep -E "error" >&2 || true
BIN=$PWD/.build/release/swiftclip
IMAGES=${IMAGES:-1024} ROUNDS=${ROUNDS:-3}
OPENCLIP_PY=${OPENCLIP_VENV:-/opt/openclip-venv}/bin/python
Benchmarks/openclip/setup.sh >&2 || { echo "embed benchmark: OpenCLIP could not be set up (Benchmarks/openclip/setup.sh)" >&2; exit 1; }
WORK=$(mktemp -d /tmp/swiftclip-bench-embed.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
export OPENBLAS_NUM_THREADS=1

"$BIN" data write-synthetic --split val --count "$IMAGES" --image-size 64 --format imagefolder --output "$WORK/images" > /dev/null
"$OPENCLIP_PY" Benchmarks/openclip/embed.py --write-weights "$WORK/clip-bench.safetensors" 2> /dev/null | grep -v '^{' >&2

ours=() theirs=()
for round in $(seq 1 "$ROUNDS"); do
  out=$("$BIN" embed --weights "$WORK/clip-bench.safetensors" --model clip-bench --data "$WORK/images" --output "$WORK/ours-$round" \
        --batch-size 256 --workers 0 --images-only)
  rate=$(sed -n 's/.* in [0-9.]* s (\([0-9.]*\) rows\/s).*/\1/p' <<< "$out")
  echo "swiftclip embed: $IMAGES images at $rate images/s" >&2
  ours+=("$rate")
  extra=(); [ "$round" = 1 ] && extra=(--ours "$WORK/ours-1")
  out=$("$OPENCLIP_PY" Benchmarks/openclip/embed.py --images "$WORK/images" --threads 1 --batch-size 256 "${extra[@]}" 2> /dev/null)
  grep -v '^{' <<< "$out" >&2
  json=$(grep '^{' <<< "$out" | tail -n 1)
  theirs+=("$(grep -o '"images_per_s": *[0-9.eE+-]*' <<< "$json" | sed 's/.*: *//')")
  [ "$round" = 1 ] && cosine=$(grep -o '"min_cosine_vs_ours": *[0-9.eE+-]*' <<< "$json" | sed 's/.*: *//')
  [ "$round" -gt 1 ] && rm -rf "$WORK/ours-$round"
done

median() { tr ' ' '\n' <<< "$*" | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) printf "%.1f", v[(NR + 1) / 2]; else printf "%.1f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ours_median=$(median "${ours[@]}") theirs_median=$(median "${theirs[@]}")
ratio=$(awk -v a="$ours_median" -v b="$theirs_median" 'BEGIN { printf "%.3f", a / b }')
printf '\nclip-bench image embedding, %d images of 64x64, batch 256, 1 process x 1 thread, %d alternating rounds\n' "$IMAGES" "$ROUNDS"
printf '%-44s %s (median %s)\n' "swiftclip embed images/s (whole run)" "${ours[*]}" "$ours_median"
printf '%-44s %s (median %s)\n' "OpenCLIP encode_image images/s (forward)" "${theirs[*]}" "$theirs_median"
printf 'ratio %s; lowest cosine between the two embeddings of an image: %s\n' "$ratio" "$cosine"
if [ "${1:-}" = "--json" ]; then
  printf '{"images": %d, "rounds": %d, "swiftclip_images_per_s": %s, "openclip_images_per_s": %s, "embed_vs_openclip_1r1t": %s, "min_cosine_vs_openclip": %s}\n' \
    "$IMAGES" "$ROUNDS" "$ours_median" "$theirs_median" "$ratio" "${cosine:-null}"
fi
