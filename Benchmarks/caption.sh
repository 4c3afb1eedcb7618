#!/usr/bin/env bash
# CoCa speed, SwiftCLIP and OpenCLIP 3.3.0 side by side on the same config (MODEL, default coca-small) in one run:
# training samples/s at 1 rank and 2 ranks (1 BLAS thread each; batch BATCH per rank, default 128; random data), peak RSS
# per rank, and captions/s of greedy and 3-beam generation of 20 tokens (end token banned below 19, so every caption has
# 20 tokens on both sides) for GEN_BATCH random images (default 16). Each case alternates ours and OpenCLIP's, and the
# whole sequence runs ROUNDS times (default 2): a ratio is the mean of its per-round ratios, so drift between rounds
# cancels. OpenCLIP: Benchmarks/openclip/coca.py (training with the plain venv, generation with the --coca venv that
# has transformers 4.56.2, see Benchmarks/openclip/setup.sh).
# Usage: Benchmarks/run caption [--json]      (STEPS=N timed steps / batches per case, default 3; CASES="greedy beam3"
# runs only those of train1 train2 greedy beam3, the others report null)
set -euo pipefail
cd "$(dirname "$0")/.."
source launch/build-env
swift build "${SWIFT_BUILD_FLAGS[@]}" --product swiftclip 2>&1 | grep -E "error" >&2 || true
BIN=.build/release/swiftclip
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
MODEL=${MODEL:-coca-small}; BATCH=${BATCH:-128}; GEN_BATCH=${GEN_BATCH:-16}; STEPS=${STEPS:-3}; ROUNDS=${ROUNDS:-2}
CASES=${CASES:-train1 train2 greedy beam3}
for case in $CASES; do
  case $case in train1|train2|greedy|beam3) ;; *) echo "caption.sh: unknown case '$case' in CASES (train1 train2 greedy beam3)" >&2; exit 2 ;; esac
done
CONFIG=cluster-configs/models/$MODEL.json
Benchmarks/openclip/setup.sh --coca >&2
OPENCLIP_PY=${OPENCLIP_VENV:-/opt/openclip-venv}/bin/python
COCA_PY=${OPENCLIP_COCA_VENV:-/opt/openclip-coca-venv}/bin/python
binding=none; [ "$(nproc)" -ge 2 ] && binding=core

field() { local v; v=$(grep -o "\"$2\": *[0-9.eE+-]*" <<<"$1" | head -1 | sed 's/.*: *//'); echo "${v:-null}"; }
json_line() { echo "$1" | grep -v '^{' | sed "s/^/$2: /" >&2; echo "$1" | grep '^{' | tail -1 || true; }
ours_train() { # RANKS
  local out
  if [ "$1" -eq 1 ]; then
    out=$(OPENBLAS_NUM_THREADS=1 "$BIN" bench-step --task coca --model "$MODEL" --batch-size "$BATCH" --steps "$STEPS" --warmup 1 --json)
  else
    out=$(OPENBLAS_NUM_THREADS=1 mpirun --oversubscribe --bind-to "$binding" -np "$1" -x OPENBLAS_NUM_THREADS \
          "$BIN" bench-step --task coca --model "$MODEL" --batch-size "$BATCH" --steps "$STEPS" --warmup 1 --json)
  fi
  json_line "$out" swiftclip
}
openclip_train() { # RANKS
  json_line "$(timeout 1800 "$OPENCLIP_PY" Benchmarks/openclip/coca.py train --config "$CONFIG" --world-size "$1" --threads 1 \
               --batch-size "$BATCH" --steps "$STEPS" --warmup 1 2>/dev/null || echo "the $1-process training case failed")" openclip
}
ours_generate() { # BEAMS
  json_line "$(OPENBLAS_NUM_THREADS=1 "$BIN" bench-caption --model "$MODEL" --batch-size "$GEN_BATCH" --num-beams "$1" --max-length 20 \
               --min-length 19 --steps "$STEPS" --warmup 1 --json)" swiftclip
}
openclip_generate() { # BEAMS
  json_line "$(timeout 1800 "$COCA_PY" Benchmarks/openclip/coca.py generate --config "$CONFIG" --threads 1 --batch-size "$GEN_BATCH" \
               --num-beams "$1" --seq-len 20 --min-seq-len 19 --steps "$STEPS" --warmup 1 2>/dev/null || echo "the $1-beam case failed")" openclip
}

declare -A OURS THEIRS RSS_OURS RSS_THEIRS RATIOS
for round in $(seq "$ROUNDS"); do
  for case in $CASES; do
    case $case in
      train1) a=$(ours_train 1); b=$(openclip_train 1); key=samples_per_s ;;
      train2) a=$(ours_train 2); b=$(openclip_train 2); key=samples_per_s ;;
      greedy) a=$(ours_generate 1); b=$(openclip_generate 1); key=captions_per_s ;;
      beam3) a=$(ours_generate 3); b=$(openclip_generate 3); key=captions_per_s ;;
    esac
    x=$(field "$a" $key); y=$(field "$b" $key)
    OURS[$case]="${OURS[$case]:-} $x"; THEIRS[$case]="${THEIRS[$case]:-} $y"
    RATIOS[$case]="${RATIOS[$case]:-} $(awk -v a="$x" -v b="$y" 'BEGIN { if (a != "null" && b != "null" && b > 0) printf "%.4f", a / b; else print "null" }')"
    RSS_OURS[$case]="${RSS_OURS[$case]:-} $(field "$a" peak_rss_mb)"; RSS_THEIRS[$case]="${RSS_THEIRS[$case]:-} $(field "$b" peak_rss_mb)"
    echo "round $round $case: SwiftCLIP $x, OpenCLIP $y $key" >&2
  done
done
mean() { awk '{ n = 0; s = 0; for (i = 1; i <= NF; i++) { if ($i == "null") { print "null"; exit } s += $i; n++ } if (n) printf "%.3f", s / n; else print "null" }' <<<"$1"; }
peak() { tr ' ' '\n' <<<"$1" | awk 'NF && $1 != "null"' | sort -g | tail -1 | awk '{ printf "%.1f", $1 } END { if (NR == 0) print "null" }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a != "null" && b != "null" && b > 0) printf "%.3f", a / b; else print "null" }'; }

printf '\n%s, training batch %s per rank, generation batch %s, 20 tokens; OpenCLIP 3.3.0 measured in this run (%s rounds)\n' "$MODEL" "$BATCH" "$GEN_BATCH" "$ROUNDS"
printf '%-26s %14s %14s %8s %10s %10s\n' case SwiftCLIP OpenCLIP ratio "RSS ours" "RSS theirs"
for case in train1 train2 greedy beam3; do
  printf '%-26s %14s %14s %8s %10s %10s\n' "$case $([ "${case#train}" != "$case" ] && echo samples/s || echo captions/s)" \
    "$(mean "${OURS[$case]:-}")" "$(mean "${THEIRS[$case]:-}")" "$(mean "${RATIOS[$case]:-}")" "$(peak "${RSS_OURS[$case]:-}")" "$(peak "${RSS_THEIRS[$case]:-}")"
done
rss_2r=$(ratio "$(peak "${RSS_OURS[train2]:-}")" "$(peak "${RSS_THEIRS[train2]:-}")")
rss_1r=$(ratio "$(peak "${RSS_OURS[train1]:-}")" "$(peak "${RSS_THEIRS[train1]:-}")")
printf 'peak RSS per rank, ours / OpenCLIP: %s at 2 ranks, %s at 1 rank\n' "$rss_2r" "$rss_1r"
if [ "${1:-}" = "--json" ]; then
  printf '{"model": "%s", "batch_per_rank": %s, "generate_batch": %s, "rounds": %s, ' "$MODEL" "$BATCH" "$GEN_BATCH" "$ROUNDS"
  printf '"samples_per_s_1r1t": %s, "samples_per_s_2r1t": %s, "openclip_samples_per_s_1r1t": %s, "openclip_samples_per_s_2r1t": %s, ' \
    "$(mean "${OURS[train1]:-}")" "$(mean "${OURS[train2]:-}")" "$(mean "${THEIRS[train1]:-}")" "$(mean "${THEIRS[train2]:-}")"
  printf '"peak_rss_mb_2r1t": %s, "openclip_peak_rss_mb_2r1t": %s, "peak_rss_mb_1r1t": %s, "openclip_peak_rss_mb_1r1t": %s, ' \
    "$(peak "${RSS_OURS[train2]:-}")" "$(peak "${RSS_THEIRS[train2]:-}")" "$(peak "${RSS_OURS[train1]:-}")" "$(peak "${RSS_THEIRS[train1]:-}")"
  printf '"captions_per_s_greedy": %s, "captions_per_s_beam3": %s, "openclip_captions_per_s_greedy": %s, "openclip_captions_per_s_beam3": %s, ' \
    "$(mean "${OURS[greedy]:-}")" "$(mean "${OURS[beam3]:-}")" "$(mean "${THEIRS[greedy]:-}")" "$(mean "${THEIRS[beam3]:-}")"
  printf '"vs_openclip_coca_1r1t": %s, "vs_openclip_coca_2r1t": %s, "rss_vs_openclip_coca": %s, "rss_vs_openclip_coca_1r1t": %s, "generate_vs_openclip_greedy": %s, "generate_vs_openclip_beam3": %s}\n' \
    "$(mean "${RATIOS[train1]:-}")" "$(mean "${RATIOS[train2]:-}")" "$rss_2r" "$rss_1r" "$(mean "${RATIOS[greedy]:-}")" "$(mean "${RATIOS[beam3]:-}")"
fi
