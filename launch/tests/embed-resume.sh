#!/usr/bin/env bash
# swiftclip embed on 2 ranks writes the same files as on 1 rank; a run killed mid-way and restarted skips the shards it
# finished and ends with the same files; numpy reads the .npy files; a missing shard is a one-line error naming it.
set -euo pipefail
source "$(dirname "$0")/train-common.bash"

train 1 tiny --max-steps 2 --save-every-steps 2 > "$SCRATCH/train.log" 2>&1 || { cat "$SCRATCH/train.log"; exit 1; }
CKPT="$SCRATCH/tiny/checkpoints"
"$SWIFTCLIP" data write-synthetic --split val --count 4000 --output "$SCRATCH/shards" > /dev/null
SHARDS="$SCRATCH/shards/val-{000000..000003}.tar"

# embed NP OUTPUT: the collection on NP ranks into OUTPUT.
embed() {
  timeout 300 mpirun --allow-run-as-root --oversubscribe -np "$1" "$SWIFTCLIP" embed --checkpoint "$CKPT" --data "$SHARDS" \
    --output "$2" --batch-size 64 --dtype f16
}

embed 1 "$SCRATCH/one" > "$SCRATCH/one.log" 2>&1 || { cat "$SCRATCH/one.log"; exit 1; }
embed 2 "$SCRATCH/two" > "$SCRATCH/two.log" 2>&1 || { cat "$SCRATCH/two.log"; exit 1; }
diff -r "$SCRATCH/one" "$SCRATCH/two"
echo "embed-resume: 2 ranks wrote the same $(ls "$SCRATCH/two" | wc -l) files as 1 rank"

# Kill the job once a shard is complete, then restart it.
embed 2 "$SCRATCH/killed" > "$SCRATCH/killed.log" 2>&1 &
job=$!
for _ in $(seq 1 1000); do
  if ls "$SCRATCH"/killed/*.shard.json > /dev/null 2>&1; then break; fi
  sleep 0.01
done
victim=$(pgrep -f "^$SWIFTCLIP embed .*--output $SCRATCH/killed" | tail -n 1 || true)
if [ -n "$victim" ] && kill -9 "$victim" 2> /dev/null; then
  if wait "$job"; then echo "embed-resume: the killed job exited 0" >&2; exit 1; fi
  echo "embed-resume: killed a rank with $(ls "$SCRATCH"/killed/*.shard.json 2> /dev/null | wc -l) shard(s) complete"
else
  # Finished before the kill: interrupt it by hand instead (a lost record, a torn temporary file, a damaged shard).
  wait "$job"
  rm "$SCRATCH/killed/val-000003.shard.json" "$SCRATCH/killed/manifest.json"
  echo torn > "$SCRATCH/killed/val-000002.img.npy.tmp-0123456789abcdef"
  printf 'x' | dd of="$SCRATCH/killed/val-000001.txt.npy" bs=1 seek=200 conv=notrunc 2> /dev/null
  echo "embed-resume: the run finished before the kill; removed, tore and damaged outputs instead"
fi
embed 2 "$SCRATCH/killed" > "$SCRATCH/restarted.log" 2>&1 || { cat "$SCRATCH/restarted.log"; exit 1; }
grep -h "skipped" "$SCRATCH/restarted.log"
diff -r "$SCRATCH/one" "$SCRATCH/killed"
echo "embed-resume: the restarted run ends with the same files"

if python3 -c "import numpy" 2> /dev/null; then
  python3 - "$SCRATCH/one" << 'PY'
import json, sys, numpy
folder = sys.argv[1]
manifest = json.load(open(folder + "/manifest.json"))
for shard in manifest["shards"]:
    for kind in ["img", "txt"]:
        a = numpy.load(f"{folder}/{shard['name']}.{kind}.npy")
        assert a.dtype == numpy.float16 and a.shape == (shard["rows"], manifest["dimension"]), (a.dtype, a.shape)
        norms = numpy.linalg.norm(a.astype(numpy.float32), axis=1)
        assert abs(norms - 1).max() < 2e-3, norms
print(f"embed-resume: numpy reads {len(manifest['shards'])} x 2 shards of unit vectors")
PY
else
  echo "embed-resume: numpy not installed; skipped reading the files with numpy"
fi

if "$SWIFTCLIP" embed --checkpoint "$CKPT" --data "$SCRATCH/shards/absent.tar" --output "$SCRATCH/bad" 2> "$SCRATCH/bad.err"; then
  echo "embed-resume: a missing shard did not fail" >&2; exit 1
fi
[ "$(wc -l < "$SCRATCH/bad.err")" -eq 1 ] && grep -q "absent.tar" "$SCRATCH/bad.err" || { cat "$SCRATCH/bad.err"; exit 1; }
echo "embed-resume: $(cat "$SCRATCH/bad.err")"
