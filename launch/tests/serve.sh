#!/usr/bin/env bash
# swiftclip serve over an index of synthetic images embedded by a 2-step checkpoint: /healthz, a text search (again
# from the cache), an image of the collection, a 4xx for a bad k, /metrics, then a clean stop on SIGTERM; a missing
# index fails at start with one line naming it.
set -euo pipefail
source "$(dirname "$0")/train-common.bash"

train 1 tiny --max-steps 2 --save-every-steps 2 > "$SCRATCH/train.log" 2>&1 || { cat "$SCRATCH/train.log"; exit 1; }
CKPT="$SCRATCH/tiny/checkpoints"
"$SWIFTCLIP" data write-synthetic --split val --count 64 --format imagefolder --output "$SCRATCH/images" > /dev/null
"$SWIFTCLIP" embed --checkpoint "$CKPT" --data "$SCRATCH/images" --output "$SCRATCH/embeddings" --batch-size 32 > "$SCRATCH/embed.log" 2>&1 \
  || { cat "$SCRATCH/embed.log"; exit 1; }
"$SWIFTCLIP" index --embeddings "$SCRATCH/embeddings" --output "$SCRATCH/items.index" > /dev/null

"$SWIFTCLIP" serve --checkpoint "$CKPT" --index "$SCRATCH/items.index" --port 0 --max-k 20 > "$SCRATCH/serve.log" 2>&1 &
server=$!
trap 'kill "$server" 2> /dev/null || true; rm -rf "$SCRATCH"' EXIT
port=""
for _ in $(seq 1 300); do
  port=$(sed -n 's|.*on http://127.0.0.1:\([0-9]*\).*|\1|p' "$SCRATCH/serve.log")
  [ -n "$port" ] && break
  kill -0 "$server" 2> /dev/null || { cat "$SCRATCH/serve.log"; exit 1; }
  sleep 0.1
done
[ -n "$port" ] || { echo "serve: no port after 30 s" >&2; cat "$SCRATCH/serve.log"; exit 1; }
URL="http://127.0.0.1:$port"
head -n 1 "$SCRATCH/serve.log"

# expect STATUS PATTERN CURL-ARGS...: the reply has that status and its body matches the pattern.
expect() {
  local status=$1 pattern=$2; shift 2
  local got
  got=$(curl -sS --max-time 20 -o "$SCRATCH/reply" -w '%{http_code}' "$@")
  [ "$got" = "$status" ] && grep -q -- "$pattern" "$SCRATCH/reply" || { echo "serve: $* gave $got: $(head -c 300 "$SCRATCH/reply")" >&2; exit 1; }
}
expect 200 '"status":"ok"' "$URL/healthz"
expect 200 '"cached":false' -X POST -H 'Content-Type: application/json' -d '{"text": "a photo of a red circle", "k": 5}' "$URL/search"
expect 200 '"cached":true' -X POST -H 'Content-Type: application/json' -d '{"text": "a photo of a red circle", "k": 5}' "$URL/search"
echo "serve: $(head -c 200 "$SCRATCH/reply")..."
expect 400 '"error"' -X POST -H 'Content-Type: application/json' -d '{"text": "a circle", "k": 21}' "$URL/search"
curl -sS --max-time 20 -o "$SCRATCH/item.png" "$URL/items/0/image"
cmp -s "$SCRATCH/item.png" "$(sed -n '1s/.*"source":"\([^"]*\)".*/\1/p' "$SCRATCH"/embeddings/*.meta.jsonl | head -n 1)" \
  || { echo "serve: /items/0/image is not the first item's source file" >&2; exit 1; }
expect 200 'swiftclip_text_cache_hits_total 1' "$URL/metrics"
kill -TERM "$server"
wait "$server" || { echo "serve: exited non-zero after SIGTERM" >&2; cat "$SCRATCH/serve.log"; exit 1; }
echo "serve: healthz, text search (then cached), 4xx, item image and metrics answered; stopped on SIGTERM"

if "$SWIFTCLIP" serve --checkpoint "$CKPT" --index "$SCRATCH/absent.index" --port 0 2> "$SCRATCH/bad.err"; then
  echo "serve: a missing index did not fail" >&2; exit 1
fi
[ "$(wc -l < "$SCRATCH/bad.err")" -eq 1 ] && grep -q "absent.index" "$SCRATCH/bad.err" || { cat "$SCRATCH/bad.err"; exit 1; }
echo "serve: $(cat "$SCRATCH/bad.err")"
