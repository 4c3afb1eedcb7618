#!/usr/bin/env bash
# The search page in headless Chromium: on /?q=TEXT the page types the query and submits its form; the rendered DOM
# must hold one result card per hit with the ids, scores and captions the API answers, and "search by this image"
# (/?image_id=N, which uploads item N's image) must find item N first. A screenshot of the results must be a real
# picture (a PNG larger than the empty page's; SCREENSHOT=FILE keeps it). Skips with one line when Chromium is not
# installed or cannot start.
set -euo pipefail
BROWSER=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$BROWSER" ]; then
  echo "serve-page: skipped: chromium is not installed (launch/setup installs it from Debian)"
  exit 0
fi
source "$(dirname "$0")/serve-common.bash"

# browser ARGS... URL: one headless run, bounded in time, with its own profile.
browser() {
  timeout 90 "$BROWSER" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run --hide-scrollbars \
    --user-data-dir="$SCRATCH/profile" --virtual-time-budget=15000 "$@" 2> "$SCRATCH/browser.log"
}
if ! browser --dump-dom "data:text/html,<p>ok</p>" | grep -q "<p>ok</p>"; then
  echo "serve-page: skipped: chromium cannot start here ($(grep -m1 -i error "$SCRATCH/browser.log" || tail -n 1 "$SCRATCH/browser.log"))"
  exit 0
fi
start_server --max-k 20

# cards FILE: the ids of the rendered result cards, in order.
cards() { grep -o 'class="result" data-id="[0-9]*"' "$1" | grep -o '[0-9]*' | tr '\n' ' '; }

browser --dump-dom "$URL/?q=a+photo+of+a+red+circle&k=8" > "$SCRATCH/text.html"
curl -sS --max-time 20 -X POST -H 'Content-Type: application/json' -d '{"text": "a photo of a red circle", "k": 8}' "$URL/search" > "$SCRATCH/text.json"
expected=$(grep -o '"id":[0-9]*' "$SCRATCH/text.json" | grep -o '[0-9]*' | tr '\n' ' ')
[ "$(cards "$SCRATCH/text.html")" = "$expected" ] \
  || { echo "serve-page: the page shows cards [$(cards "$SCRATCH/text.html")], the API answers [$expected]" >&2; head -c 2000 "$SCRATCH/text.html" >&2; exit 1; }
[ "$(grep -o '<span class="score">-\?[0-9]\.[0-9]\{4\}</span>' "$SCRATCH/text.html" | wc -l)" -eq 8 ] \
  || { echo "serve-page: not 8 scores on the page" >&2; exit 1; }
[ "$(grep -o '<span class="caption">[a-z][^<]*</span>' "$SCRATCH/text.html" | wc -l)" -eq 8 ] \
  || { echo "serve-page: not 8 captions on the page" >&2; exit 1; }
grep -q '8 results for “a photo of a red circle”' "$SCRATCH/text.html" \
  || { echo "serve-page: no status line for the query" >&2; exit 1; }
[ "$(grep -o 'class="by-image"' "$SCRATCH/text.html" | wc -l)" -eq 8 ] || { echo "serve-page: not 8 search-by-image buttons" >&2; exit 1; }
first=$(grep -o '<span class="caption">[^<]*</span>' "$SCRATCH/text.html" | head -n 1 | sed 's/<[^>]*>//g')
echo "serve-page: the page typed and submitted \"a photo of a red circle\": cards [$expected], first \"$first\""

browser --dump-dom "$URL/?image_id=5&k=6" > "$SCRATCH/image.html"
ids=$(cards "$SCRATCH/image.html")
[ "${ids%% *}" = 5 ] || { echo "serve-page: search by the image of item 5 shows [$ids]" >&2; head -c 2000 "$SCRATCH/image.html" >&2; exit 1; }
grep -q 'by the image of item 5' "$SCRATCH/image.html" || { echo "serve-page: no status line for the image search" >&2; exit 1; }
echo "serve-page: search by the image of item 5 shows [$ids]"

browser --screenshot="$SCRATCH/results.png" --window-size=1100,900 "$URL/?q=a+photo+of+a+red+circle&k=8" > /dev/null
browser --screenshot="$SCRATCH/empty.png" --window-size=1100,900 "$URL/" > /dev/null
for png in results empty; do
  [ "$(head -c 8 "$SCRATCH/$png.png" | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ] || { echo "serve-page: $png.png is not a PNG" >&2; exit 1; }
done
results=$(stat -c %s "$SCRATCH/results.png") empty=$(stat -c %s "$SCRATCH/empty.png")
[ "$results" -gt $((empty * 2)) ] && [ "$results" -gt 20000 ] \
  || { echo "serve-page: the results screenshot ($results bytes) is not much more than the empty page's ($empty bytes)" >&2; exit 1; }
echo "serve-page: screenshot of the results $results bytes, of the empty page $empty bytes"
[ -z "${SCREENSHOT:-}" ] || cp "$SCRATCH/results.png" "$SCREENSHOT"  # to look at it
kill -TERM "$server"
wait "$server" || { echo "serve-page: the server exited non-zero after SIGTERM" >&2; exit 1; }
