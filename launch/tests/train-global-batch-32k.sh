#!/usr/bin/env bash
# One training step of clip-tiny at global batch 32,768 under mpirun -np 2 (16,384 per rank, GradCache with 8
# micro-batches, tiled loss): it must complete with peak resident memory per rank at most 2 GB.
set -euo pipefail
source "$(dirname "$0")/train-common.bash"
out=$(timeout 900 mpirun --allow-run-as-root --oversubscribe --bind-to none -np 2 "$SWIFTCLIP" bench-step --model clip-tiny \
      --batch-size 16384 --accum-freq 8 --steps 1 --warmup 0 --json)
echo "$out" | grep -v '^{'
rss=$(echo "$out" | grep '^{' | grep -o '"peak_rss_mb": *[0-9.]*' | sed 's/.*: *//')
awk -v r="$rss" 'BEGIN { exit !(r > 0 && r <= 2048) }' || { echo "train-global-batch-32k: peak RSS $rss MB per rank exceeds 2048 MB" >&2; exit 1; }
echo "train-global-batch-32k: global batch 32768 on 2 ranks, peak RSS ${rss} MB per rank (limit 2048)"
