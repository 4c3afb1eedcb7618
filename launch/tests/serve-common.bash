# Shared by serve.sh and serve-page.sh: a 2-step clip-tiny checkpoint ($CKPT), 64 synthetic images in the image-folder
# layout embedded ($SCRATCH/embeddings) and indexed ($SCRATCH/items.index), and start_server.
source "$(dirname "${BASH_SOURCE[0]}")/train-common.bash"

train 1 tiny --max-steps 2 --save-every-steps 2 > "$SCRATCH/train.log" 2>&1 || { cat "$SCRATCH/train.log"; exit 1; }
CKPT="$SCRATCH/tiny/checkpoints"
"$SWIFTCLIP" data write-synthetic --split val --count 64 --format imagefolder --output "$SCRATCH/images" > /dev/null
"$SWIFTCLIP" embed --checkpoint "$CKPT" --data "$SCRATCH/images" --output "$SCRATCH/embeddings" --batch-size 32 > "$SCRATCH/embed.log" 2>&1 \
  || { cat "$SCRATCH/embed.log"; exit 1; }
"$SWIFTCLIP" index --embeddings "$SCRATCH/embeddings" --output "$SCRATCH/items.index" > /dev/null

# start_server ARGS...: swiftclip serve on the index at a free port of 127.0.0.1 with these extra flags; sets $server
# (its pid) and $URL, waits at most 30 s for it, and stops it when the script exits.
start_server() {
  "$SWIFTCLIP" serve --checkpoint "$CKPT" --index "$SCRATCH/items.index" --port 0 "$@" > "$SCRATCH/serve.log" 2>&1 &
  server=$!
  trap 'kill "$server" 2> /dev/null || true; rm -rf "$SCRATCH"' EXIT
  local port=""
  for _ in $(seq 1 300); do
    port=$(sed -n 's|.*on http://127.0.0.1:\([0-9]*\).*|\1|p' "$SCRATCH/serve.log")
    [ -n "$port" ] && break
    kill -0 "$server" 2> /dev/null || { cat "$SCRATCH/serve.log"; exit 1; }
    sleep 0.1
  done
  [ -n "$port" ] || { echo "serve: no port after 30 s" >&2; cat "$SCRATCH/serve.log"; exit 1; }
  URL="http://127.0.0.1:$port"
  head -n 1 "$SCRATCH/serve.log"
}
