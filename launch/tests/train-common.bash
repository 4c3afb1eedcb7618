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

# kill_rank_after NAME STEP: once run NAME has logged STEP (or later), SIGKILLs one of its ranks and prints the
# last logged step; fails when the run ended before that.
kill_rank_after() {
  local name=$1 min=$2 step victim
  for _ in $(seq 1 1200); do
    step=$(grep -Eo '"step": ?[0-9]+' "$SCRATCH/$name/results.jsonl" 2> /dev/null | tail -n 1 | grep -Eo '[0-9]+$' || true)
    [ "${step:-0}" -lt "$min" ] || break
    sleep 0.05
  done
  victim=$(pgrep -f "^$SWIFTCLIP train .*--name $name( |$)" | tail -n 1)
  [ -n "$victim" ] || { echo "kill_rank_after: run $name finished before it could be killed" >&2; return 1; }
  kill -9 "$victim"
  echo "${step:-0}"
}

# bind_fixture: for the binding tests, generated tone-image pairs ($SCRATCH/data: 64 training, $SCRATCH/val: 32
# validation samples), a tiny audio tower ($SCRATCH/audio.json) and the CLIP checkpoint to bind to ($SCRATCH/clip).
bind_fixture() {
  "$SWIFTCLIP" data write-synthetic --audio --count 64 --output "$SCRATCH/data" > /dev/null
  "$SWIFTCLIP" data write-synthetic --audio --split val --count 32 --output "$SCRATCH/val" > /dev/null
  cat > "$SCRATCH/audio.json" <<'JSON'
{"audio_cfg": {"mel_bins": 128, "frames": 64, "patch_size": 16, "patch_stride": 16, "width": 32, "layers": 1, "head_width": 16}}
JSON
  train 1 clip --max-steps 2 --save-every-steps 2 > "$SCRATCH/clip.log" 2>&1 || { cat "$SCRATCH/clip.log"; exit 1; }
}
