#!/usr/bin/env bash
# launch/train --max-restarts: a rank SIGKILLed mid-run makes mpirun fail; launch/train logs the restart,
# relaunches with --resume latest and the run ends bit-identical to an uninterrupted one (same world size,
# deterministic mode). A run that keeps failing stops after N restarts with mpirun's status.
set -euo pipefail
source "$(dirname "$0")/train-common.bash"
STEPS=40
cat > "$SCRATCH/cluster.yaml" << 'EOF'
ranks-per-node: 2
binding: none
oversubscribe: true
allow-run-as-root: true
EOF
flags=(--max-steps $STEPS --save-every-steps 10)
train 2 full "${flags[@]}" > "$SCRATCH/full.log" 2>&1 || { cat "$SCRATCH/full.log"; exit 1; }

timeout 300 launch/train --cluster "$SCRATCH/cluster.yaml" --recipe cluster-configs/clip-tiny.yaml --max-restarts 2 -- \
  --batch-size 16 --logs "$SCRATCH" --name elastic --log-every-n-steps 1 --val-frequency 1000 "${flags[@]}" \
  > "$SCRATCH/elastic.log" 2>&1 &
job=$!
killed_at=$(kill_rank_after elastic 15) || { cat "$SCRATCH/elastic.log"; exit 1; }
wait "$job" || { cat "$SCRATCH/elastic.log"; echo "train-elastic-restart: launch/train failed although a restart was allowed" >&2; exit 1; }
grep -q "launch/train: restart 1 of 2: mpirun exited with status" "$SCRATCH/elastic.log" ||
  { cat "$SCRATCH/elastic.log"; echo "train-elastic-restart: no restart was logged" >&2; exit 1; }
grep "launch/train: restart\|launch/train: finished\|resuming from" "$SCRATCH/elastic.log"
"$SWIFTCLIP" compare "$SCRATCH/full/checkpoints" "$SCRATCH/elastic/checkpoints" --exact
echo "train-elastic-restart: killed a rank near step $killed_at; the restarted run is bit-identical to the uninterrupted one"

# Failing every time: --max-restarts 1 gives up after one relaunch with the failure's status.
set +e
timeout 120 launch/train --cluster "$SCRATCH/cluster.yaml" --recipe cluster-configs/clip-tiny.yaml --max-restarts 1 -- \
  --logs "$SCRATCH" --name broken --data-type-that-does-not-exist x > "$SCRATCH/broken.log" 2>&1
status=$?
set -e
[ "$status" -ne 0 ] && [ "$status" -ne 124 ] || { cat "$SCRATCH/broken.log"; echo "train-elastic-restart: a failing run ended with status $status" >&2; exit 1; }
[ "$(grep -c 'launch/train: restart ' "$SCRATCH/broken.log")" = 1 ] && grep -q "no restarts left (--max-restarts 1)" "$SCRATCH/broken.log" ||
  { cat "$SCRATCH/broken.log"; echo "train-elastic-restart: expected exactly one restart, then giving up" >&2; exit 1; }
echo "train-elastic-restart: a run failing every time stops after --max-restarts 1 with status $status"
