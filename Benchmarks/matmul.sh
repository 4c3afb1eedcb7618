#!/usr/bin/env bash
# Builds swiftclip-bench in release and runs the matmul benchmark on one BLAS thread.
# Usage: Benchmarks/matmul.sh [--json]   (with --json the last line is one JSON object)
set -euo pipefail
cd "$(dirname "$0")/.."
source launch/build-env
swift build "${SWIFT_BUILD_FLAGS[@]}" --product swiftclip-bench >&2
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
exec "$(swift build "${SWIFT_BUILD_FLAGS[@]}" --show-bin-path)/swiftclip-bench" matmul "$@"
