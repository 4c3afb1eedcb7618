#!/usr/bin/env bash
# swiftclip serve over an index of synthetic images embedded by a 2-step checkpoint: /healthz, a text search (again
# from the cache), an image of the collection, a multipart upload (and a non-image one: 415), a 4xx for a bad k,
# concurrent queries encoded in shared batches, /metrics, then a clean stop on SIGTERM; eval --index over the same
# index; a missing index fails at start with one line naming it.
set -euo pipefail
source "$(dirname "$0")/serve-common.bash"
# A wide batching window, so that the concurrent queries below certainly meet in it.
start_server --max-k 20 --max-batch 8 --batch-wait-ms 300

# expect STATUS PATTERN CURL-ARGS...: the reply has that status and its body matches the pattern.
expect() {
  local status=$1 pattern=$2; shift 2
  local got
  got=$(curl -sS --max-time 20 -o "$SCRATCH/reply" -w '%{http_code}' "$@")
  [ "$got" = "$status" ] && grep -q -- "$pattern" "$SCRATCH/reply" || { echo "serve: $* gave $got: $(head -c 300 "$SCRATCH/reply")" >&2; exit 1; }
}
expect 200 '"status":"ok"' "$URL/healthz"
expect 200 '<form id="search"' "$URL/"
expect 200 '"cached":false' -X POST -H 'Content-Type: application/json' -d '{"text": "a photo of a red circle", "k": 5}' "$URL/search"
expect 200 '"cached":true' -X POST -H 'Content-Type: application/json' -d '{"text": "a photo of a red circle", "k": 5}' "$URL/search"
echo "serve: $(head -c 200 "$SCRATCH/reply")..."
expect 400 '"error"' -X POST -H 'Content-Type: application/json' -d '{"text": "a circle", "k": 21}' "$URL/search"
curl -sS --max-time 20 -o "$SCRATCH/item.png" "$URL/items/0/image"
cmp -s "$SCRATCH/item.png" "$(sed -n '1s/.*"source":"\([^"]*\)".*/\1/p' "$SCRATCH"/embeddings/*.meta.jsonl | head -n 1)" \
  || { echo "serve: /items/0/image is not the first item's source file" >&2; exit 1; }

# hits FILE: the ids and scores of a search reply, in order.
hits() { grep -o '"id":[0-9]*\|"score":[-0-9.e]*' "$1" | tr '\n' ' '; }

# A multipart upload of item 0's image finds item 0 first, as its base64 upload does; a text file is refused.
expect 200 '"results"' -F "image=@$SCRATCH/item.png" -F k=3 "$URL/search"
multipart=$(hits "$SCRATCH/reply")
[ "$(grep -o '"id":[0-9]*' "$SCRATCH/reply" | head -n 1)" = '"id":0' ] || { echo "serve: the upload of item 0 found $multipart" >&2; exit 1; }
printf '{"image_base64": "%s", "k": 3}' "$(base64 -w0 "$SCRATCH/item.png")" > "$SCRATCH/item.json"
expect 200 '"results"' -X POST -H 'Content-Type: application/json' --data-binary "@$SCRATCH/item.json" "$URL/search"
[ "$multipart" = "$(hits "$SCRATCH/reply")" ] || { echo "serve: the multipart and base64 uploads differ: $multipart / $(hits "$SCRATCH/reply")" >&2; exit 1; }
echo "not an image" > "$SCRATCH/notes.txt"
expect 415 '"error"' -F "image=@$SCRATCH/notes.txt" "$URL/search"
echo "serve: multipart upload found item 0 as base64 does; a text upload got $(cat "$SCRATCH/reply")"

# Six different uncached texts sent at once share encoder batches and get the answers they get one at a time.
before=$(curl -sS --max-time 20 "$URL/metrics" | sed -n 's/^swiftclip_encoder_batches_total //p')
queries=("a red square" "a blue circle" "a green triangle" "a yellow square" "a purple circle" "an orange triangle")
pids=()
for i in "${!queries[@]}"; do
  curl -sS --max-time 20 -o "$SCRATCH/together.$i" -X POST -H 'Content-Type: application/json' -d "{\"text\": \"${queries[$i]}\", \"k\": 5}" "$URL/search" &
  pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid"; done
batches=$(( $(curl -sS --max-time 20 "$URL/metrics" | sed -n 's/^swiftclip_encoder_batches_total //p') - before ))
[ "$batches" -ge 1 ] && [ "$batches" -lt 6 ] || { echo "serve: 6 concurrent queries ran in $batches encoder batches" >&2; exit 1; }
expect 200 'swiftclip_text_cache_hits_total 1' "$URL/metrics"
kill -TERM "$server"
wait "$server" || { echo "serve: exited non-zero after SIGTERM" >&2; cat "$SCRATCH/serve.log"; exit 1; }
echo "serve: healthz, page, text search (then cached), 4xx, item image, uploads, batching and metrics answered; stopped on SIGTERM"

# The same queries one at a time on a server that neither batches nor caches find the same items in the same order.
start_server --max-batch 1 --batch-wait-ms 0 --cache-size 0 --idle-timeout 1
ids() { grep -o '"id":[0-9]*' "$1" | tr '\n' ' '; }  # scores may differ in the last bits: another matrix shape
for i in "${!queries[@]}"; do
  expect 200 '"results"' -X POST -H 'Content-Type: application/json' -d "{\"text\": \"${queries[$i]}\", \"k\": 5}" "$URL/search"
  [ "$(ids "$SCRATCH/together.$i")" = "$(ids "$SCRATCH/reply")" ] \
    || { echo "serve: '${queries[$i]}' batched gave $(ids "$SCRATCH/together.$i"), alone $(ids "$SCRATCH/reply")" >&2; exit 1; }
done
echo "serve: 6 concurrent queries ran in $batches encoder batch(es) and found what they find one at a time"
# A client that connects and sends nothing is disconnected after --idle-timeout (read returns end of file).
exec 3<> "/dev/tcp/127.0.0.1/${URL##*:}"
timeout 10 cat <&3 > /dev/null || { echo "serve: a silent connection was still open after 10 s (--idle-timeout 1)" >&2; exit 1; }
exec 3<&-
echo "serve: a silent connection was closed after --idle-timeout"
kill -TERM "$server"
wait "$server" || true

# Retrieval quality through the index, from the command line.
"$SWIFTCLIP" eval --checkpoint "$CKPT" --index "$SCRATCH/items.index" --json > "$SCRATCH/eval.log" 2>&1 || { cat "$SCRATCH/eval.log"; exit 1; }
for key in R@1 R@5 R@10 mAP@10; do
  tail -n 1 "$SCRATCH/eval.log" | grep -q "\"text_to_image_$key\":[0-9]" || { cat "$SCRATCH/eval.log"; exit 1; }
done
echo "serve: eval --index: $(tail -n 1 "$SCRATCH/eval.log")"

if "$SWIFTCLIP" serve --checkpoint "$CKPT" --index "$SCRATCH/absent.index" --port 0 2> "$SCRATCH/bad.err"; then
  echo "serve: a missing index did not fail" >&2; exit 1
fi
[ "$(wc -l < "$SCRATCH/bad.err")" -eq 1 ] && grep -q "absent.index" "$SCRATCH/bad.err" || { cat "$SCRATCH/bad.err"; exit 1; }
echo "serve: $(cat "$SCRATCH/bad.err")"
