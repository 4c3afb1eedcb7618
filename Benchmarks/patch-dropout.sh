#!/usr/bin/env bash
# FLIP's patch dropout on clip-bench (batch 128, 1 rank x 1 BLAS thread): training steps at --force-patch-dropout 0.5
# against 0, interleaved (Benchmarks/interleaved.bash).
# patch_dropout_speedup: samples/s at 0.5 over samples/s at 0. patch_dropout_flop_ratio: the same ratio of the
# multiply-adds the two steps compute, the ceiling if time followed FLOPs (the image tower's blocks run on 33 of 65
# tokens and only the kept patches are embedded; the text tower, the loss and AdamW are unchanged); patch_dropout_efficiency = speedup /
# FLOP ratio.
# Usage: Benchmarks/run patch-dropout [--json]      (PAIRS=N runs at 0.5, default 3; STEPS=N timed steps each, default 3)
set -euo pipefail
cd "$(dirname "$0")/.."
source Benchmarks/interleaved.bash
interleave "${PAIRS:-3}" "--force-patch-dropout 0" "--force-patch-dropout 0.5"
flops=$(awk -v a="$(field "$A_JSON" forward_macs_per_sample)" -v b="$(field "$B_JSON" forward_macs_per_sample)" 'BEGIN { printf "%.3f", a / b }')
efficiency=$(awk -v s="$SPEED_RATIO" -v f="$flops" 'BEGIN { printf "%.3f", s / f }')
printf '\nclip-bench, batch 128, 1 rank x 1 thread; samples/s at p = 0: %s; at p = 0.5: %s\n' "${A_RATES[*]}" "${B_RATES[*]}"
printf 'patch_dropout_speedup %s (goal >= 1.6); FLOP ratio of the two steps %s; efficiency %s; peak RSS %s MB at p = 0, %s MB at p = 0.5\n' \
  "$SPEED_RATIO" "$flops" "$efficiency" "$A_RSS" "$B_RSS"
if [ "${1:-}" = "--json" ]; then
  printf '{"patch_dropout_speedup": %s, "patch_dropout_flop_ratio": %s, "patch_dropout_efficiency": %s, "samples_per_s_p0": [%s], "samples_per_s_p05": [%s], "peak_rss_mb_p0": %s, "peak_rss_mb_p05": %s}\n' \
    "$SPEED_RATIO" "$flops" "$efficiency" "$(tr ' ' ',' <<<"${A_RATES[*]}")" "$(tr ' ' ',' <<<"${B_RATES[*]}")" "$A_RSS" "$B_RSS"
fi
