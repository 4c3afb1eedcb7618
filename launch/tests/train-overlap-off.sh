#!/usr/bin/env bash
# --overlap-comm false sends every gradient bucket after backward instead of during it: the same collectives in
# the same order, so a deterministic 2-rank run ends bit-identical to the overlapped one, with fp32 and bf16 wires.
set -euo pipefail
source "$(dirname "$0")/train-common.bash"
for wire in fp32 bf16; do
  train 2 "overlap-$wire" --max-steps 10 --grad-comm-dtype "$wire" > "$SCRATCH/a.log" 2>&1 || { cat "$SCRATCH/a.log"; exit 1; }
  train 2 "serial-$wire" --max-steps 10 --grad-comm-dtype "$wire" --overlap-comm false > "$SCRATCH/b.log" 2>&1 || { cat "$SCRATCH/b.log"; exit 1; }
  "$SWIFTCLIP" compare "$SCRATCH/overlap-$wire" "$SCRATCH/serial-$wire" --exact
done
echo "train-overlap-off: --overlap-comm false is bit-identical to overlapped communication (fp32 and bf16)"
