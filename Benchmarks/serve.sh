#!/usr/bin/env bash
# Load test of swiftclip serve on localhost: a 2-step clip-tiny checkpoint embeds 256 synthetic images, which
# `swiftclip bench-collection` extends to ROWS (default 100,000) unit vectors drawn around 1,000 directions; `swiftclip
# index` builds the approximate (IVF-flat) index of them and reports its recall@10 against exact search on the caption
# embeddings. The server (1 BLAS thread, the other core left to the client) then answers three bounded runs of
# REQUESTS requests at CONCURRENCY at a time, sent by one `curl --parallel` process (each transfer's status and time
# recorded): the same text again and again (cached after the first), distinct texts (each embedded by the model), and
# image uploads (base64 JSON of the collection's images). Reported per run: queries/s (requests / wall time), p50 and
# p99 latency, and errors (any reply but 200), plus the encoder's mean batch size.
# Usage: Benchmarks/run serve [--json]      (ROWS, REQUESTS (default 2000), CONCURRENCY (default 8))
set -euo pipefail
cd "$(dirname "$0")/.."
source launch/build-env
swift build "${SWIFT_BUILD_FLAGS[@]}" --product swiftclip 2>&1 | grep -E "error" >&2 || true
BIN=$PWD/.build/release/swiftclip
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
ROWS=${ROWS:-100000} REQUESTS=${REQUESTS:-2000} CONCURRENCY=${CONCURRENCY:-8}
WORK=$(mktemp -d /tmp/swiftclip-bench-serve.XXXXXX)
server=""
trap '[ -n "$server" ] && kill "$server" 2> /dev/null; rm -rf "$WORK"' EXIT

timeout 600 "$BIN" train --config cluster-configs/clip-tiny.yaml --batch-size 32 --logs "$WORK" --name tiny --max-steps 2 \
  --save-every-steps 2 --val-frequency 1000 > "$WORK/train.log" 2>&1 || { cat "$WORK/train.log" >&2; exit 1; }
"$BIN" data write-synthetic --split val --count 256 --format imagefolder --output "$WORK/images" > /dev/null
"$BIN" embed --checkpoint "$WORK/tiny/checkpoints" --data "$WORK/images" --output "$WORK/real" --batch-size 64 > /dev/null
"$BIN" bench-collection --embeddings "$WORK/real" --output "$WORK/embeddings" --rows "$ROWS" --clusters 1000 >&2
start=$(date +%s.%N)
"$BIN" index --embeddings "$WORK/embeddings" --output "$WORK/items.index" --kind approx | tee "$WORK/index.log" >&2
build_s=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
recall=$(sed -n 's/.*recall@10 \([0-9.]*\).*/\1/p' "$WORK/index.log")

"$BIN" serve --checkpoint "$WORK/tiny/checkpoints" --index "$WORK/items.index" --port 0 --max-k 100 > "$WORK/serve.log" 2>&1 &
server=$!
port=""
for _ in $(seq 1 600); do
  port=$(sed -n 's|.*on http://127.0.0.1:\([0-9]*\).*|\1|p' "$WORK/serve.log")
  [ -n "$port" ] && break
  kill -0 "$server" 2> /dev/null || { cat "$WORK/serve.log" >&2; exit 1; }
  sleep 0.1
done
[ -n "$port" ] || { echo "serve benchmark: the server did not start within 60 s" >&2; exit 1; }
URL="http://127.0.0.1:$port/search"

# Request bodies: one text; REQUESTS distinct texts; the collection's images as base64 JSON.
mkdir -p "$WORK/bodies"
printf '{"text": "a photo of a red circle", "k": 10}' > "$WORK/bodies/cached.json"
colours=(red green blue yellow purple orange white black) shapes=(circle square triangle star)
for i in $(seq 0 $((REQUESTS - 1))); do
  printf '{"text": "a photo of a %s %s number %d", "k": 10}' "${colours[i % 8]}" "${shapes[i / 8 % 4]}" "$i" > "$WORK/bodies/text-$i.json"
done
i=0
for image in $(find "$WORK/images" -name '*.png' | sort); do
  printf '{"image_base64": "%s", "k": 10}' "$(base64 -w0 "$image")" > "$WORK/bodies/image-$i.json"
  i=$((i + 1))
done
images=$i

# run NAME BODY-PATTERN BODIES: REQUESTS POSTs at CONCURRENCY at a time, request i with the body file BODY-PATTERN
# with %d = i mod BODIES; prints "qps p50_ms p99_ms errors".
run() {
  local name=$1 pattern=$2 bodies=$3 config="$WORK/$1.curl"
  : > "$config"
  for i in $(seq 0 $((REQUESTS - 1))); do
    [ "$i" -gt 0 ] && echo next >> "$config"
    # shellcheck disable=SC2059
    printf 'url = "%s"\nheader = "Content-Type: application/json"\ndata-binary = "@%s"\noutput = "/dev/null"\nwrite-out = "%%{http_code} %%{time_total}\\n"\nmax-time = 30\n' \
      "$URL" "$(printf "$pattern" $((i % bodies)))" >> "$config"
  done
  local start end
  start=$(date +%s.%N)
  curl -s --parallel --parallel-max "$CONCURRENCY" -K "$config" > "$WORK/$name.times" 2> /dev/null || true
  end=$(date +%s.%N)
  local errors
  errors=$(awk -v n="$REQUESTS" '$1 != 200 { e++ } END { print e + n - NR }' "$WORK/$name.times")  # a silent transfer is an error too
  awk '{ print $2 * 1000 }' "$WORK/$name.times" | sort -g | awk -v n="$REQUESTS" -v s="$start" -v e="$end" -v errors="$errors" '
    { t[NR] = $1 }
    END {
      i50 = int(0.50 * NR + 0.5); i99 = int(0.99 * NR + 0.5); if (i50 < 1) i50 = 1; if (i99 < 1) i99 = 1
      printf "%.1f %.2f %.2f %d\n", n / (e - s), t[i50], t[i99], errors
    }'
}
metric() { curl -sS --max-time 10 "http://127.0.0.1:$port/metrics" | sed -n "s/^$1 //p"; }

curl -sS --max-time 30 -o /dev/null -H 'Content-Type: application/json' --data-binary "@$WORK/bodies/cached.json" "$URL"  # fills the cache
read -r cached_qps cached_p50 cached_p99 cached_errors <<< "$(run cached "$WORK/bodies/cached.json" 1)"
batches0=$(metric swiftclip_encoder_batches_total) queries0=$(metric swiftclip_encoder_queries_total)
read -r text_qps text_p50 text_p99 text_errors <<< "$(run text "$WORK/bodies/text-%d.json" "$REQUESTS")"
read -r image_qps image_p50 image_p99 image_errors <<< "$(run image "$WORK/bodies/image-%d.json" "$images")"
batch_mean=$(awk -v b="$(( $(metric swiftclip_encoder_batches_total) - batches0 ))" -v q="$(( $(metric swiftclip_encoder_queries_total) - queries0 ))" \
  'BEGIN { printf "%.2f", (b > 0 ? q / b : 0) }')
hits=$(metric swiftclip_text_cache_hits_total)
errors=$((cached_errors + text_errors + image_errors))
kill -TERM "$server"; wait "$server" || true; server=""

printf '\nswiftclip serve, %d vectors (dimension 64, IVF-flat built in %s s, recall@10 %s against exact search); %d requests per run, %d at a time, 1 BLAS thread\n' \
  "$ROWS" "$build_s" "$recall" "$REQUESTS" "$CONCURRENCY"
printf '%-16s %10s %10s %10s %8s\n' "queries" "queries/s" "p50 ms" "p99 ms" "errors"
printf '%-16s %10s %10s %10s %8s\n' "cached text" "$cached_qps" "$cached_p50" "$cached_p99" "$cached_errors"
printf '%-16s %10s %10s %10s %8s\n' "uncached text" "$text_qps" "$text_p50" "$text_p99" "$text_errors"
printf '%-16s %10s %10s %10s %8s\n' "image (${images} files)" "$image_qps" "$image_p50" "$image_p99" "$image_errors"
printf 'text cache hits %s; encoder: %s queries per batch on average over the uncached runs\n' "$hits" "$batch_mean"
if [ "${1:-}" = "--json" ]; then
  printf '{"index_vectors": %d, "index_build_s": %s, "recall_at_10": %s, "requests_per_run": %d, "concurrency": %d, ' \
    "$ROWS" "$build_s" "${recall:-null}" "$REQUESTS" "$CONCURRENCY"
  printf '"cached_text_qps": %s, "cached_text_p50_ms": %s, "cached_text_p99_ms": %s, ' "$cached_qps" "$cached_p50" "$cached_p99"
  printf '"uncached_text_qps": %s, "uncached_text_p50_ms": %s, "uncached_text_p99_ms": %s, ' "$text_qps" "$text_p50" "$text_p99"
  printf '"image_qps": %s, "image_p50_ms": %s, "image_p99_ms": %s, "encoder_mean_batch": %s, "errors": %d}\n' \
    "$image_qps" "$image_p50" "$image_p99" "$batch_mean" "$errors"
fi
