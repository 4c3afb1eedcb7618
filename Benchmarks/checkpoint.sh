#!/usr/bin/env bash
# Checkpoint save/load throughput (MB/s of raw tensor bytes) and compression ratio for clip-bench weights with
# AdamW moments after a few training steps, against plain zstd level 3 on the same bytes without the shuffle.
# Usage: Benchmarks/run checkpoint [--json]
set -euo pipefail
cd "$(dirname "$0")/.."
source launch/build-env
swift build "${SWIFT_BUILD_FLAGS[@]}" --product swiftclip 2>&1 | grep -E "error" >&2 || true
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
exec .build/release/swiftclip bench-checkpoint --model clip-bench --steps 3 "$@"
