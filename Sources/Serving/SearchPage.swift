/// The search page served at `/`: a text box, an image upload (drag-and-drop or file picker), and a grid of results
/// with scores, captions and images, each with a button that searches by that result's image. Self-contained (no
/// external scripts or styles) so it works offline. `/?q=TEXT` types and submits that text on load and `/?image_id=N`
/// searches by the image of item N, so a result page is a link.
enum SearchPage {
    static let html = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>SwiftCLIP search</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 0; background: #f4f5f7; color: #1d2330; }
  header { background: #1d2330; color: #fff; padding: 14px 24px; }
  header h1 { margin: 0 0 10px; font-size: 20px; }
  form { display: flex; gap: 8px; flex-wrap: wrap; align-items: center; }
  #q { flex: 1 1 320px; font-size: 16px; padding: 8px 10px; border: 0; border-radius: 6px; }
  button { font-size: 14px; padding: 8px 14px; border: 0; border-radius: 6px; background: #3b82f6; color: #fff; cursor: pointer; }
  #k { width: 64px; font-size: 16px; padding: 7px; border: 0; border-radius: 6px; }
  #drop { margin: 16px 24px 0; padding: 18px; border: 2px dashed #8a94a6; border-radius: 10px; text-align: center; color: #4b5567; background: #fff; }
  #drop.over { border-color: #3b82f6; background: #eaf2ff; }
  #status { margin: 10px 24px; min-height: 20px; font-size: 14px; color: #4b5567; }
  #status.error { color: #b42318; }
  #results { display: grid; grid-template-columns: repeat(auto-fill, minmax(170px, 1fr)); gap: 14px; padding: 0 24px 24px; }
  .result { background: #fff; border-radius: 10px; box-shadow: 0 1px 3px rgba(0,0,0,.15); overflow: hidden; display: flex; flex-direction: column; }
  .result img { width: 100%; aspect-ratio: 1; object-fit: cover; background: #dde1e8; image-rendering: pixelated; }
  .result .meta { padding: 8px 10px; display: flex; flex-direction: column; gap: 4px; font-size: 13px; }
  .result .score { font-weight: 600; color: #1d4ed8; }
  .result .caption { color: #1d2330; word-break: break-word; }
  .result .id { color: #8a94a6; font-size: 11px; }
  .result button { margin: 0 10px 10px; font-size: 12px; padding: 6px 8px; background: #475569; }
</style>
</head>
<body>
<header>
  <h1>SwiftCLIP search</h1>
  <form id="search">
    <input id="q" name="q" type="search" placeholder="Describe an image, e.g. a photo of a red circle" autocomplete="off">
    <label for="k" style="color:#cbd5e1">k</label><input id="k" name="k" type="number" min="1" value="12">
    <button type="submit">Search</button>
  </form>
</header>
<div id="drop">Drop an image here to search by it, or <label style="color:#1d4ed8;cursor:pointer;text-decoration:underline">choose a file<input id="file" type="file" accept="image/png,image/jpeg" hidden></label></div>
<div id="status"></div>
<div id="results"></div>
<script>
"use strict";
const statusLine = document.getElementById("status");
const grid = document.getElementById("results");
const box = document.getElementById("q");
const kBox = document.getElementById("k");

function k() { return Math.max(1, parseInt(kBox.value, 10) || 12); }

function say(text, isError) {
  statusLine.textContent = text;
  statusLine.className = isError ? "error" : "";
}

async function post(body, headers, what) {
  say("Searching " + what + "…", false);
  try {
    const reply = await fetch("/search", { method: "POST", headers: headers, body: body });
    const answer = await reply.json();
    if (!reply.ok) { grid.replaceChildren(); say("Error " + reply.status + ": " + answer.error, true); return; }
    show(answer, what);
  } catch (error) {
    grid.replaceChildren();
    say("Error: " + error, true);
  }
}

function searchText(text) {
  history.replaceState(null, "", "/?q=" + encodeURIComponent(text));
  return post(JSON.stringify({ text: text, k: k() }), { "Content-Type": "application/json" }, "for “" + text + "”");
}

function searchFile(file, what) {
  const form = new FormData();
  form.append("image", file, file.name || "upload");
  form.append("k", String(k()));
  return post(form, {}, what);
}

async function searchItem(id) {
  history.replaceState(null, "", "/?image_id=" + id);
  say("Fetching the image of item " + id + "…", false);
  const reply = await fetch("/items/" + id + "/image");
  if (!reply.ok) { say("Item " + id + " has no image to search by (" + reply.status + ")", true); return; }
  const blob = await reply.blob();
  return searchFile(new File([blob], "item-" + id, { type: blob.type }), "by the image of item " + id);
}

function show(answer, what) {
  const cards = answer.results.map(function (hit) {
    const card = document.createElement("div");
    card.className = "result";
    card.dataset.id = hit.id;
    const image = document.createElement("img");
    image.src = hit.image_url;
    image.alt = hit.caption || ("item " + hit.id);
    image.loading = "lazy";
    const meta = document.createElement("div");
    meta.className = "meta";
    const score = document.createElement("span");
    score.className = "score";
    score.textContent = hit.score.toFixed(4);
    const caption = document.createElement("span");
    caption.className = "caption";
    caption.textContent = hit.caption || "(no caption)";
    const id = document.createElement("span");
    id.className = "id";
    id.textContent = "#" + hit.id;
    meta.append(score, caption, id);
    const again = document.createElement("button");
    again.className = "by-image";
    again.type = "button";
    again.textContent = "Search by this image";
    again.addEventListener("click", function () { searchItem(hit.id); });
    card.append(image, meta, again);
    return card;
  });
  grid.replaceChildren.apply(grid, cards);
  say(answer.results.length + " results " + what + " in " + answer.took_ms.toFixed(1) + " ms" + (answer.cached ? " (cached query)" : ""), false);
}

document.getElementById("search").addEventListener("submit", function (event) {
  event.preventDefault();
  const text = box.value.trim();
  if (text) searchText(text); else say("Type a description to search for.", true);
});
document.getElementById("file").addEventListener("change", function (event) {
  const file = event.target.files[0];
  if (file) searchFile(file, "by " + file.name);
});
const drop = document.getElementById("drop");
["dragenter", "dragover"].forEach(function (name) {
  drop.addEventListener(name, function (event) { event.preventDefault(); drop.classList.add("over"); });
});
["dragleave", "drop"].forEach(function (name) {
  drop.addEventListener(name, function (event) { event.preventDefault(); drop.classList.remove("over"); });
});
drop.addEventListener("drop", function (event) {
  const file = event.dataTransfer.files[0];
  if (file) searchFile(file, "by " + file.name);
});

const params = new URLSearchParams(location.search);
if (params.get("k")) kBox.value = params.get("k");
// A query in the address is typed into the box and submitted, as a user would.
if (params.get("q")) { box.value = params.get("q"); document.getElementById("search").requestSubmit(); }
else if (params.get("image_id")) searchItem(params.get("image_id"));
</script>
</body>
</html>
"""#
}
