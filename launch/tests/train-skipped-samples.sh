#!/usr/bin/env bash
# Training replaces a sample whose image does not decode and counts it: results.jsonl's step records carry
# skipped_samples, the running total over both ranks, for every family (CoCa and CLIP here). On a shard with two
# corrupt PNGs it equals the number of "sample skipped" warnings both ranks printed; on clean data it is 0.
set -euo pipefail
source "$(dirname "$0")/train-common.bash"
failures=0
fail() { echo "train-skipped-samples: FAIL: $*"; failures=$((failures + 1)); }

"$SWIFTCLIP" data write-synthetic --format webdataset --split train --count 32 --output "$SCRATCH/clean" > /dev/null
shard=$SCRATCH/clean/train-000000.tar
mkdir -p "$SCRATCH/broken"
python3 - "$shard" "$SCRATCH/broken/train.tar" <<'EOF'
import io, sys, tarfile
source, target = sys.argv[1], sys.argv[2]
corrupted = 0
with tarfile.open(source) as src, tarfile.open(target, "w") as dst:
    for member in src.getmembers():
        data = src.extractfile(member).read()
        if member.name.endswith(".png") and corrupted < 2 and member.name.split(".")[0][-1] in "36":
            data, corrupted = b"not a png", corrupted + 1
        member.size = len(data)
        dst.addfile(member, io.BytesIO(data))
assert corrupted == 2, f"corrupted {corrupted} images"
EOF

# last_skipped RUN: skipped_samples of the run's last step record.
last_skipped() {
  python3 -c 'import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if "\"loss\"" in l]
print(rows[-1].get("skipped_samples", "absent"))' "$SCRATCH/$1/results.jsonl"
}

for family in "coca coca-tiny" "clip clip-tiny"; do
  read -r task model <<< "$family"
  for data in clean broken; do
    pattern=$([ "$data" = clean ] && echo "$shard" || echo "$SCRATCH/broken/train.tar")
    timeout 300 mpirun --allow-run-as-root --oversubscribe -np 2 "$SWIFTCLIP" train --task "$task" --model "$model" \
      --dataset-type webdataset --train-data "$pattern" --train-num-samples 32 --batch-size 8 --epochs 1 --warmup 1 \
      --val-frequency 1000 --log-every-n-steps 1 --logs "$SCRATCH" --name "$task-$data" > "$SCRATCH/$task-$data.log" 2>&1 \
      || { cat "$SCRATCH/$task-$data.log"; fail "$task on $data data did not train"; continue; }
    warned=$(grep -c "sample skipped" "$SCRATCH/$task-$data.log" || true)
    logged=$(last_skipped "$task-$data")
    if [ "$data" = clean ]; then
      [ "$logged" = 0 ] || fail "$task on clean data logs skipped_samples $logged, expected 0"
    else
      [ "$warned" -ge 2 ] || fail "$task: $warned skip warnings for 2 corrupt images"
      [ "$logged" = "$warned" ] || fail "$task logs skipped_samples $logged, but the ranks warned $warned times"
    fi
  done
done

[ "$failures" = 0 ] || exit 1
echo "train-skipped-samples: CoCa and CLIP log skipped_samples (0 on clean data, the ranks' warning count with 2 corrupt images)"
