#!/usr/bin/env bash
# End-to-end training throughput of clip-bench at batch 128 per rank on random data (forward + loss + backward +
# all-reduce + AdamW): 1 rank x 1 BLAS thread, 1 rank x 2 threads, mpirun -np 2 x 1 thread, beside OpenCLIP's
# figures for the same model and batch on this kind of machine (shared/peer/RESULTS.md).
# Usage: Benchmarks/run train [--json]      (STEPS=N timed steps per case, default 3)
set -euo pipefail
cd "$(dirname "$0")/.."
source launch/build-env
swift build "${SWIFT_BUILD_FLAGS[@]}" --product swiftclip 2>&1 | grep -E "error" >&2 || true
BIN=.build/release/swiftclip
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
STEPS=${STEPS:-3}
ARGS=(bench-step --model clip-bench --batch-size 128 --steps "$STEPS" --warmup 1 --json)

# OpenCLIP 3.3.0 / torch 2.15 on the CI machine kind (shared/peer/RESULTS.md): samples/s and peak RSS per process.
PEER_1R1T=27.8; PEER_1R2T=53.2; PEER_2R1T=53.0; PEER_RSS_MB=2867   # 2.80 GiB per DDP process

field() { grep -o "\"$2\": *[0-9.eE+-]*" <<<"$1" | head -1 | sed 's/.*: *//'; }
run_case() { # run_case LABEL THREADS RANKS
  local out
  if [ "$3" -eq 1 ]; then
    out=$(OPENBLAS_NUM_THREADS=$2 "$BIN" "${ARGS[@]}")
  else
    out=$(OPENBLAS_NUM_THREADS=$2 mpirun --oversubscribe --bind-to none -np "$3" -x OPENBLAS_NUM_THREADS "$BIN" "${ARGS[@]}")
  fi
  echo "$out" | grep -v '^{' >&2
  echo "$out" | grep '^{' | tail -1
}
r11=$(run_case 1r1t 1 1); r12=$(run_case 1r2t 2 1); r21=$(run_case 2r1t 1 2)
s11=$(field "$r11" samples_per_s); s12=$(field "$r12" samples_per_s); s21=$(field "$r21" samples_per_s)
g11=$(field "$r11" gflops_vs_sgemm); comm=$(field "$r21" exposed_comm_fraction)
m11=$(field "$r11" peak_rss_mb); m21=$(field "$r21" peak_rss_mb)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }

printf '\n%-28s %12s %12s %8s\n' "case (clip-bench, b128/rank)" "SwiftCLIP" "OpenCLIP" "ratio"
printf '%-28s %12.1f %12.1f %8s\n' "1 rank x 1 thread  samples/s" "$s11" "$PEER_1R1T" "$(ratio "$s11" "$PEER_1R1T")"
printf '%-28s %12.1f %12.1f %8s\n' "1 rank x 2 threads samples/s" "$s12" "$PEER_1R2T" "$(ratio "$s12" "$PEER_1R2T")"
printf '%-28s %12.1f %12.1f %8s\n' "2 ranks x 1 thread samples/s" "$s21" "$PEER_2R1T" "$(ratio "$s21" "$PEER_2R1T")"
printf '%-28s %12.0f %12.0f %8s\n' "peak RSS per rank (MB), 2 ranks" "$m21" "$PEER_RSS_MB" "$(ratio "$m21" "$PEER_RSS_MB")"
printf 'GFLOP/s of a step / raw sgemm in the same run (1r1t): %s (OpenCLIP: 0.57-0.68)\n' "$g11"
printf 'scaling 1 -> 2 ranks at fixed per-rank batch: %s   exposed communication at 2 ranks: %s\n' "$(ratio "$s21" "$s11")" "$comm"
if [ "${1:-}" = "--json" ]; then
  printf '{"samples_per_s_1r1t": %s, "samples_per_s_1r2t": %s, "samples_per_s_2r1t": %s, "peak_rss_mb_1r1t": %s, "peak_rss_mb_2r1t": %s, "gflops_vs_sgemm_1r1t": %s, "exposed_comm_fraction": %s, "scaling_1_to_2": %s, "vs_openclip_1r1t": %s, "vs_openclip_2r1t": %s, "rss_vs_openclip_2r1t": %s}\n' \
    "$s11" "$s12" "$s21" "$m11" "$m21" "$g11" "$comm" "$(ratio "$s21" "$s11")" "$(ratio "$s11" "$PEER_1R1T")" "$(ratio "$s21" "$PEER_2R1T")" "$(ratio "$m21" "$PEER_RSS_MB")"
fi
