#!/usr/bin/env bash
# swiftclip caption: a CoCa trained for a few steps on 2 ranks captions a folder of images (greedy and beam search,
# text and JSON); a CLIP checkpoint, a beam count of 0 and a max length below the min length are one-line errors.
set -euo pipefail
source "$(dirname "$0")/train-common.bash"
failures=0
fail() { echo "caption-coca: FAIL: $*"; failures=$((failures + 1)); }

timeout 300 mpirun --allow-run-as-root --oversubscribe -np 2 "$SWIFTCLIP" train --task coca --model coca-tiny --dataset-type synthetic \
  --batch-size 8 --max-steps 3 --warmup 1 --logs "$SCRATCH" --name coca > /dev/null
"$SWIFTCLIP" train --task clip --model clip-tiny --dataset-type synthetic --batch-size 8 --max-steps 1 --logs "$SCRATCH" --name clip > /dev/null
"$SWIFTCLIP" data write-synthetic --format csv --split val --count 3 --output "$SCRATCH/images" > /dev/null

lines=$("$SWIFTCLIP" caption --checkpoint "$SCRATCH/coca/checkpoints" --images "$SCRATCH/images" | wc -l)
[ "$lines" = 3 ] || fail "greedy: $lines lines, expected 3"
json=$("$SWIFTCLIP" caption --checkpoint "$SCRATCH/coca/checkpoints" --images "$SCRATCH/images" --num-beams 2 --json)
python3 -c 'import json, sys; rows = json.loads(sys.argv[1]); assert len(rows) == 3 and all("caption" in r for r in rows)' "$json" \
  || fail "beam search JSON: $json"

expect_error() {  # expect_error TEXT ARGS...
  local text=$1 out; shift
  if out=$("$SWIFTCLIP" caption "$@" 2>&1); then fail "$* succeeded"; return; fi
  [[ "$out" == *"$text"* ]] || fail "$*: '$out' does not say '$text'"
}
expect_error "has no caption decoder" --checkpoint "$SCRATCH/clip/checkpoints" --images "$SCRATCH/images"
expect_error "--num-beams must be at least 1" --checkpoint "$SCRATCH/coca/checkpoints" --images "$SCRATCH/images" --num-beams 0
expect_error "--max-length 4 is below --min-length 5" --checkpoint "$SCRATCH/coca/checkpoints" --images "$SCRATCH/images" --max-length 4

[ "$failures" = 0 ] || exit 1
echo "caption-coca: greedy and beam captions of 3 images; errors as expected"
