# Shared by the train-*.sh multi-rank tests: the release binary built by launch/setup and a scratch folder.
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
SWIFTCLIP=$PWD/.build/release/swiftclip
[ -x "$SWIFTCLIP" ] || { echo "train tests: $SWIFTCLIP missing (run launch/setup)" >&2; exit 1; }
SCRATCH=$(mktemp -d /tmp/swiftclip-test.XXXXXX)
trap 'rm -rf "$SCRATCH"' EXIT

# train NP NAME ARGS...: clip-tiny on synthetic data, global batch 32 split over NP ranks, deterministic.
train() {
  local np=$1 name=$2; shift 2
  timeout 600 mpirun --allow-run-as-root --oversubscribe -np "$np" "$SWIFTCLIP" train --config cluster-configs/clip-tiny.yaml \
    --batch-size $((32 / np)) --logs "$SCRATCH" --name "$name" --log-every-n-steps 1 --val-frequency 1000 "$@"
}
