#!/usr/bin/env bash
# All-reduce bandwidth of MPICommunicator.allReduce vs raw MPI_Allreduce, 2 ranks, 1-256 MB, one run.
# JSON key allreduce_vs_mpi_min = min over sizes of (our bandwidth / MPI bandwidth); target >= 0.95.
# Then the share of a clip-bench training step (batch 128 per rank, 2 ranks x 1 BLAS thread) in which a rank waits
# for gradient all-reduce after backward: JSON key exposed_comm_fraction, target <= 0.10.
set -euo pipefail
cd "$(dirname "$0")/.."
source launch/build-env
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
swift build "${SWIFT_BUILD_FLAGS[@]}" --product distributed-selftest 2>&1 | grep -E 'error|warning: .*Sources/(Distributed|distributed-selftest)' >&2 || true
[ -x .build/release/distributed-selftest ] || { echo "allreduce: build of distributed-selftest failed" >&2; exit 1; }
# Only rank 0 prints; the two JSON objects are merged into one last line.
bandwidth=$(mpirun --allow-run-as-root --oversubscribe -np "${RANKS:-2}" .build/release/distributed-selftest bench-allreduce "$@")
echo "$bandwidth" | grep -v '^{'
swift build "${SWIFT_BUILD_FLAGS[@]}" --product swiftclip 2>&1 | grep -E 'error' >&2 || true
step=$(OPENBLAS_NUM_THREADS=1 mpirun --allow-run-as-root --oversubscribe --bind-to none -np 2 -x OPENBLAS_NUM_THREADS \
       .build/release/swiftclip bench-step --model clip-bench --batch-size 128 --steps "${STEPS:-3}" --json)
echo "$step" | grep -v '^{'
comm=$(echo "$step" | grep '^{' | grep -o '"exposed_comm_fraction": *[0-9.eE+-]*' | sed 's/.*: *//')
echo "exposed communication in a clip-bench step at 2 ranks: $comm (target <= 0.10)"
if [[ " $* " == *" --json "* ]]; then
  echo "$bandwidth" | grep '^{' | tail -1 | sed "s/}\$/, \"exposed_comm_fraction\": $comm}/"
fi
