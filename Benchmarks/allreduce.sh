#!/usr/bin/env bash
# All-reduce bandwidth of MPICommunicator.allReduce vs raw MPI_Allreduce, 2 ranks, 1-256 MB, one run.
# JSON key allreduce_vs_mpi_min = min over sizes of (our bandwidth / MPI bandwidth); target >= 0.95.
set -euo pipefail
cd "$(dirname "$0")/.."
source launch/build-env
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
swift build "${SWIFT_BUILD_FLAGS[@]}" --product distributed-selftest 2>&1 | grep -E 'error|warning: .*Sources/(Distributed|distributed-selftest)' >&2 || true
[ -x .build/release/distributed-selftest ] || { echo "allreduce: build of distributed-selftest failed" >&2; exit 1; }
# Only rank 0 prints, so the JSON object stays the last line.
mpirun --allow-run-as-root --oversubscribe -np "${RANKS:-2}" .build/release/distributed-selftest bench-allreduce "$@"
