#!/usr/bin/env bash
# Adds a spoken name (.wav, espeak-ng) to every sample of the emoji data set's shards: the shards the README's binding
# figures were measured on, until `swiftclip data emoji --speech` builds them itself. Voice (5 English ones), speed
# (140-199 words/min) and pitch (30-69) follow a checksum of the sample key, so a rebuild gives the same sounds.
#   Tools/emoji-speech-shards.sh data/emoji data/emoji-speech
set -euo pipefail
src=${1:?usage: $0 EMOJI_DATA_DIR OUTPUT_DIR}; out=${2:?usage: $0 EMOJI_DATA_DIR OUTPUT_DIR}
command -v espeak-ng > /dev/null || { echo "$0: espeak-ng not found (apt-get install espeak-ng)" >&2; exit 1; }
mkdir -p "$out"
voices=(en-us en-gb en-gb-scotland en-029 en-gb-x-rp)
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
for shard in "$src"/train-*.tar "$src"/val-*.tar; do
  name=$(basename "$shard" .tar)
  rm -rf "${work:?}"/*; tar -xf "$shard" -C "$work"
  for txt in "$work"/*.txt; do
    key=$(basename "$txt" .txt); h=$(printf '%s' "$key" | cksum | cut -d' ' -f1)
    espeak-ng -v "${voices[$((h % 5))]}" -s $((140 + (h / 5) % 60)) -p $((30 + (h / 300) % 40)) -w "$work/$key.wav" "$(cat "$txt")"
  done
  # Members sorted by name keep each sample's members together, as WebDataset needs.
  (cd "$work" && tar --sort=name --format=ustar -cf "$out/$name.tar" -- *)
done
cp -r "$src"/zeroshot-groups "$src"/zeroshot-subgroups "$src"/classes.txt "$out"/
echo "$0: wrote $out"
