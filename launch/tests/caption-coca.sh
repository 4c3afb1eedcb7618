#!/usr/bin/env bash
# swiftclip caption: a CoCa trained for a few steps on 2 ranks (its evaluation logs BLEU and CIDEr, and a stage ends on a plateau of val_cider) captions a folder of
# images and WebDataset shards (greedy and beam search, text and JSON); swiftclip eval reports its caption metrics; a CLIP
# checkpoint, a beam count of 0, a max length below the min length or above the text context are one-line errors.
set -euo pipefail
source "$(dirname "$0")/train-common.bash"
failures=0
fail() { echo "caption-coca: FAIL: $*"; failures=$((failures + 1)); }

timeout 300 mpirun --allow-run-as-root --oversubscribe -np 2 "$SWIFTCLIP" train --task coca --model coca-tiny --dataset-type synthetic \
  --batch-size 8 --max-steps 3 --warmup 1 --val-num-samples 12 --logs "$SCRATCH" --name coca > /dev/null
grep -q '"val_bleu4"' "$SCRATCH/coca/results.jsonl" || fail "results.jsonl has no val_bleu4"
grep -q '"val_cider"' "$SCRATCH/coca/results.jsonl" || fail "results.jsonl has no val_cider"
cat > "$SCRATCH/plateau.yaml" <<'EOF'
stages:
  - name: a
    plateau: {metric: val_cider, patience: 1}
  - name: b
EOF
staged=$("$SWIFTCLIP" train --config "$SCRATCH/plateau.yaml" --task coca --model coca-tiny --dataset-type synthetic --train-num-samples 32 \
  --val-num-samples 8 --epochs 4 --batch-size 16 --logs "$SCRATCH" --name plateau 2>&1) || fail "a stage plateau on val_cider: $staged"
[[ "$staged" == *"stage a -> b"* ]] || fail "the val_cider plateau never ended stage a"
evaluated=$("$SWIFTCLIP" eval --checkpoint "$SCRATCH/coca/checkpoints" --val-num-samples 12 --json)
for metric in val_bleu4 val_cider val_generative_loss image_to_text_R@1 zeroshot-val-top1; do
  [[ "$evaluated" == *"\"$metric\""* ]] || fail "eval does not report $metric: $evaluated"
done
"$SWIFTCLIP" train --task clip --model clip-tiny --dataset-type synthetic --batch-size 8 --max-steps 1 --logs "$SCRATCH" --name clip > /dev/null
csv=$("$SWIFTCLIP" data write-synthetic --format csv --split val --count 3 --output "$SCRATCH/images" | sed "s/.*use: //")
shards=$("$SWIFTCLIP" data write-synthetic --format webdataset --split val --count 3 --output "$SCRATCH/shards" | sed "s/.*use: //")

lines=$("$SWIFTCLIP" caption --checkpoint "$SCRATCH/coca/checkpoints" --images "$SCRATCH/images" | wc -l)
[ "$lines" = 3 ] || fail "greedy: $lines lines, expected 3"
json=$("$SWIFTCLIP" caption --checkpoint "$SCRATCH/coca/checkpoints" --images "$SCRATCH/images" --num-beams 2 --json)
python3 -c 'import json, sys; rows = json.loads(sys.argv[1]); assert len(rows) == 3 and all("caption" in r for r in rows)' "$json" \
  || fail "beam search JSON: $json"
lines=$("$SWIFTCLIP" caption --checkpoint "$SCRATCH/coca/checkpoints" --data "$shards" | wc -l)
[ "$lines" = 3 ] || fail "--data $shards: $lines lines, expected 3"
lines=$("$SWIFTCLIP" caption --checkpoint "$SCRATCH/coca/checkpoints" --data "$csv" --top-k 5 | wc -l)
[ "$lines" = 3 ] || fail "--data $csv: $lines lines, expected 3"
sampled=$("$SWIFTCLIP" caption --checkpoint "$SCRATCH/coca/checkpoints" --images "$SCRATCH/images" --top-k 20 --seed 5 --repetition-penalty 1.3)
again=$("$SWIFTCLIP" caption --checkpoint "$SCRATCH/coca/checkpoints" --images "$SCRATCH/images" --top-k 20 --seed 5 --repetition-penalty 1.3)
[ "$sampled" = "$again" ] || fail "top-k sampling with one seed differs: '$sampled' vs '$again'"
"$SWIFTCLIP" caption --checkpoint "$SCRATCH/coca/checkpoints" --images "$SCRATCH/images" --top-p 0.9 --seed 1 > /dev/null || fail "--top-p"
"$SWIFTCLIP" caption --checkpoint "$SCRATCH/coca/checkpoints" --images "$SCRATCH/images" --num-beams 2 --length-penalty 0.5 > /dev/null \
  || fail "--length-penalty"

# An image that does not decode is skipped with a counted warning, in a folder and in --data.
cp -r "$SCRATCH/images" "$SCRATCH/broken"
echo "not a png" > "$SCRATCH/broken/images/zz-broken.png"
printf 'images/zz-broken.png\tbroken\n' >> "$SCRATCH/broken/val.csv"
lines=$("$SWIFTCLIP" caption --checkpoint "$SCRATCH/coca/checkpoints" --images "$SCRATCH/broken" 2> "$SCRATCH/broken.err" | wc -l)
[ "$lines" = 3 ] || fail "a folder with an undecodable image: $lines lines, expected 3"
grep -q "1 of 4 images could not be decoded" "$SCRATCH/broken.err" || fail "no count of undecodable images: $(cat "$SCRATCH/broken.err")"
lines=$("$SWIFTCLIP" caption --checkpoint "$SCRATCH/coca/checkpoints" --data "$SCRATCH/broken/val.csv" 2> "$SCRATCH/broken.err" | wc -l)
[ "$lines" = 3 ] || fail "--data with an undecodable image: $lines lines, expected 3"
grep -q "1 sample(s) of --data" "$SCRATCH/broken.err" || fail "no count of skipped samples: $(cat "$SCRATCH/broken.err")"

expect_error() {  # expect_error TEXT ARGS...
  local text=$1 out; shift
  if out=$("$SWIFTCLIP" caption "$@" 2>&1); then fail "$* succeeded"; return; fi
  [[ "$out" == *"$text"* ]] || fail "$*: '$out' does not say '$text'"
}
expect_error "has no caption decoder" --checkpoint "$SCRATCH/clip/checkpoints" --images "$SCRATCH/images"
expect_error "--num-beams must be at least 1" --checkpoint "$SCRATCH/coca/checkpoints" --images "$SCRATCH/images" --num-beams 0
expect_error "--max-length 4 is below --min-length 5" --checkpoint "$SCRATCH/coca/checkpoints" --images "$SCRATCH/images" --max-length 4
expect_error "--max-length 40 is above the model's text context length + 1 (17)" --checkpoint "$SCRATCH/coca/checkpoints" --images "$SCRATCH/images" --max-length 40
expect_error "--top-k must be at least 1" --checkpoint "$SCRATCH/coca/checkpoints" --images "$SCRATCH/images" --top-k 0
expect_error "give one of --top-k and --top-p" --checkpoint "$SCRATCH/coca/checkpoints" --images "$SCRATCH/images" --top-k 3 --top-p 0.9
expect_error "--repetition-penalty must be positive" --checkpoint "$SCRATCH/coca/checkpoints" --images "$SCRATCH/images" --repetition-penalty 0

[ "$failures" = 0 ] || exit 1
echo "caption-coca: val_bleu4/val_cider logged and evaluated, a val_cider plateau ends a stage; greedy and beam captions of 3 images and 3 samples; undecodable images skipped and counted; errors as expected"
