# Shared by the distributed-*.sh multi-rank tests: builds the self-test binary (incrementally)
# and sets up mpirun for containers that run as root.
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source launch/build-env
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
SELFTEST=.build/release/distributed-selftest

build_selftest() {
  swift build "${SWIFT_BUILD_FLAGS[@]}" --product distributed-selftest 2>&1 | grep -Ev '^\[[0-9]+/[0-9]+\]|^Building|^Build of|Compiling|Write|Fixtures|Source files for target' || true
  [ -x "$SELFTEST" ] || { echo "distributed tests: building distributed-selftest failed" >&2; exit 1; }
}

run_ranks() { # run_ranks SECONDS NP ARGS...: the self-test under mpirun with NP ranks, killed after SECONDS
  local seconds=$1 np=$2; shift 2
  timeout "$seconds" mpirun --allow-run-as-root --oversubscribe -np "$np" "$SELFTEST" "$@"
}
