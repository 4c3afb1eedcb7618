#!/usr/bin/env bash
# --activation-dtype bf16 (activations kept for backward stored as bfloat16) against fp32 on clip-bench (batch 128,
# 1 rank x 1 BLAS thread), interleaved (Benchmarks/interleaved.bash).
# activation_bf16_rss_ratio: peak RSS with bf16 over fp32 (the process's whole peak: parameters, gradients, AdamW
# moments, allocator caches and activations). activation_bf16_speed_ratio: samples/s with bf16 over fp32.
# Usage: Benchmarks/run activation-dtype [--json]      (PAIRS=N runs with bf16, default 3; STEPS=N timed steps each, default 3;
#        EXTRA="--flag value" adds settings to both sides)
set -euo pipefail
cd "$(dirname "$0")/.."
source Benchmarks/interleaved.bash
interleave "${PAIRS:-3}" "--activation-dtype fp32 ${EXTRA:-}" "--activation-dtype bf16 ${EXTRA:-}"
rss=$(awk -v a="$A_RSS" -v b="$B_RSS" 'BEGIN { printf "%.3f", b / a }')
printf '\nclip-bench, batch 128, 1 rank x 1 thread%s; samples/s fp32: %s; bf16: %s\n' "${EXTRA:+, $EXTRA}" "${A_RATES[*]}" "${B_RATES[*]}"
printf 'activation_bf16_rss_ratio %s (peak RSS %s MB with bf16, %s MB with fp32); activation_bf16_speed_ratio %s\n' "$rss" "$B_RSS" "$A_RSS" "$SPEED_RATIO"
if [ "${1:-}" = "--json" ]; then
  printf '{"activation_bf16_rss_ratio": %s, "activation_bf16_speed_ratio": %s, "peak_rss_mb_fp32": %s, "peak_rss_mb_bf16": %s, "samples_per_s_fp32": [%s], "samples_per_s_bf16": [%s]}\n' \
    "$rss" "$SPEED_RATIO" "$A_RSS" "$B_RSS" "$(tr ' ' ',' <<<"${A_RATES[*]}")" "$(tr ' ' ',' <<<"${B_RATES[*]}")"
fi
