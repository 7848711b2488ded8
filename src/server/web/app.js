// facesearch — the page: pick a query photo (and a face on it), see every photo of that person,
// best first, filter by similarity, click a face to search by it, open a photo large, index a
// folder with a live progress bar; the People view: people found in the library, renamed, merged,
// opened to see their photos, a face moved or rejected. Talks only to this server's JSON API (/api/v1/, SPEC.md).
"use strict";

const $ = (id) => document.getElementById(id);
const api = "/api/v1";
const BATCH = 60;                 // cards added at a time as the gallery scrolls

const state = {
  threshold: 0.34,                // the pack's
  floor: 0.14,                    // fetched down to this; the slider filters above it
  matches: [],                    // of the current search, best first
  shown: [],                      // those above the slider
  rendered: 0,
  file: null,                     // the uploaded query photo
  photos: new Map(),              // photo id -> its JSON (sizes, faces), once fetched
  sharded: false,                 // serve --shards: no library panel, no people edits (GET /health)
};

// ---- talking to the server -------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

async function call(path, options = {}) {
  const res = await fetch(api + path, options);
  let body = null;
  try { body = await res.json(); } catch (e) { body = null; }
  if (!res.ok) {
    if (res.status === 401) showLogin();
    throw new ApiError(res.status, plainError(res.status, body && body.error));
  }
  return body;
}

function plainError(status, message) {
  switch (status) {
    case 400: return message ? `That did not work: ${message}.` : "The server could not read that.";
    case 401: return "This library is locked: enter the token.";
    case 404: return message && /person|face/.test(message) ? `Not found: ${message}.`
                                                           : "That photo is no longer in the library.";
    case 409: return "An indexing run is already going on; wait for it or cancel it.";
    case 413: return "That photo is too large for the server.";
    case 503: return message && /^rank \d+ of the sharded library/.test(message)
      ? `Part of the library is not answering: ${message}.`
      : "The server is busy right now; try again in a moment.";
    default: return message || `The server answered ${status}.`;
  }
}

let toastTimer = 0;
function toast(text, isError = true) {
  const t = $("toast");
  t.textContent = text;
  t.className = "toast" + (isError ? " error" : "");
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { t.hidden = true; }, 5000);
}

// ---- boxes on pictures ------------------------------------------------------------------------

// A clickable box over a face; coordinates in pixels of the upright photo of size w x h.
function faceBox(face, w, h, cls, onClick) {
  const b = document.createElement("button");
  b.className = "box " + (cls || "");
  b.type = "button";
  const [x1, y1, x2, y2] = face.box;
  b.style.left = (100 * x1 / w) + "%";
  b.style.top = (100 * y1 / h) + "%";
  b.style.width = (100 * (x2 - x1) / w) + "%";
  b.style.height = (100 * (y2 - y1) / h) + "%";
  b.title = "Search for this person";
  b.addEventListener("click", (e) => { e.stopPropagation(); onClick(); });
  return b;
}

function clearBoxes(frame) {
  frame.querySelectorAll(".box").forEach((b) => b.remove());
}

// ---- the query ----------------------------------------------------------------------------------

function showQueryImage(src, label) {
  $("drop-empty").hidden = true;
  $("query-photo").hidden = false;
  $("drop").classList.add("has-photo");
  const img = $("query-img");
  img.src = src;
  clearBoxes($("query-frame"));
  $("query-hint").textContent = label || "";
}

async function searchByFile(file, faceNumber) {
  state.file = file;
  if (!faceNumber) showQueryImage(URL.createObjectURL(file), "Looking for faces…");
  setTitle("Searching…", "");
  const q = new URLSearchParams({ threshold: state.floor, top: 5000 });
  if (faceNumber) q.set("face", faceNumber);
  let r;
  try {
    r = await call("/search?" + q, { method: "POST", body: file,
                                      headers: { "Content-Type": file.type || "application/octet-stream" } });
  } catch (e) {
    $("query-hint").textContent = "";
    setTitle("Find a person", "");
    return toast(e.message);
  }
  const frame = $("query-frame");
  clearBoxes(frame);
  const faces = r.query.faces;
  if (!faces.length) {
    $("query-hint").textContent = "No face found in this photo. Try another one.";
    showResults([], "No face to look for");
    return;
  }
  faces.forEach((f, i) => {
    const n = i + 1;
    frame.appendChild(faceBox(f, r.query.width, r.query.height, n === r.query.face ? "chosen" : "",
                              () => searchByFile(state.file, n)));
  });
  $("query-hint").textContent = faces.length > 1
    ? `${faces.length} faces in this photo — click another one to search for that person.`
    : "Searching for this face.";
  showResults(r.matches, "Photos of this person");
}

async function searchByFace(faceId) {
  closeLightbox();
  if (location.hash) history.pushState(null, "", location.pathname);
  showView();
  showQueryImage(`${api}/faces/${faceId}/crop?size=320`, "A face from your library.");
  $("drop").classList.add("has-photo");
  setTitle("Searching…", "");
  try {
    const r = await call(`/faces/${faceId}/search?` + new URLSearchParams({ threshold: state.floor, top: 5000 }));
    showResults(r.matches, "Photos of this person");
  } catch (e) {
    setTitle("Find a person", "");
    toast(e.message);
  }
}

// ---- the gallery -------------------------------------------------------------------------------

function setTitle(title, count) {
  $("results-title").textContent = title;
  $("results-count").textContent = count;
}

function showResults(matches, title) {
  state.matches = matches;
  state.title = title;
  applySlider();
}

function applySlider() {
  const t = parseFloat($("slider").value);
  $("slider-value").textContent = t.toFixed(2);
  state.shown = state.matches.filter((m) => m.similarity >= t);
  const gallery = $("gallery");
  gallery.textContent = "";
  state.rendered = 0;
  $("results-empty").hidden = state.shown.length > 0 || !state.title;
  if (state.title) {
    const n = state.shown.length;
    setTitle(state.title, n === 1 ? "1 photo" : `${n} photos`);
    if (!n) $("results-empty").innerHTML = "<p>No photo of this person at this similarity. Move the slider to the left to see less likely ones.</p>";
  }
  renderMore();
  watchSentinel();
}

function renderMore() {
  const gallery = $("gallery");
  const end = Math.min(state.shown.length, state.rendered + BATCH);
  for (let i = state.rendered; i < end; i++) gallery.appendChild(card(state.shown[i]));
  state.rendered = end;
}

const cardObserver = new IntersectionObserver((entries) => {
  for (const e of entries) {
    if (!e.isIntersecting) continue;
    cardObserver.unobserve(e.target);
    fillCard(e.target);
  }
}, { rootMargin: "600px" });

// The end of the gallery near the screen: the next batch. An observer reports changes only: when
// the sentinel is still near after a batch (its cards not yet sized), observing it again reports
// it afresh, so the gallery never stops growing at the bottom.
const sentinelObserver = new IntersectionObserver((entries) => {
  if (entries.some((e) => e.isIntersecting) && state.rendered < state.shown.length) {
    renderMore();
    watchSentinel();
  }
}, { rootMargin: "1200px" });
function watchSentinel() {
  const sentinel = document.getElementById("sentinel");
  sentinelObserver.unobserve(sentinel);
  sentinelObserver.observe(sentinel);
}
watchSentinel();

// Fills container with make(item) for each of items, BATCH at a time: the first now, the next
// whenever sentinel (just below the container) comes near the screen, as the gallery grows.
function fillInBatches(container, sentinel, items, make) {
  if (container.batches) container.batches.disconnect();
  container.textContent = "";
  let done = 0;
  const more = () => {
    const end = Math.min(items.length, done + BATCH);
    for (; done < end; done++) container.appendChild(make(items[done]));
  };
  const observer = new IntersectionObserver((entries) => {
    if (!entries.some((e) => e.isIntersecting) || done >= items.length) return;
    more();
    observer.unobserve(sentinel); // observed again: reported afresh if it is still near
    if (done < items.length) observer.observe(sentinel);
  }, { rootMargin: "1200px" });
  container.batches = observer;
  more();
  if (done < items.length) observer.observe(sentinel);
}

function baseName(path) {
  return path.slice(path.lastIndexOf("/") + 1);
}

// actions (optional): a function making the row of buttons under the card.
function card(m, actions) {
  const el = document.createElement("article");
  el.className = "result";
  el.dataset.photoId = m.photo_id;
  el.dataset.faceId = m.face_id;
  el.dataset.box = JSON.stringify(m.box);
  const frame = document.createElement("div");
  frame.className = "frame";
  const img = document.createElement("img");
  img.alt = baseName(m.path);
  img.decoding = "async";
  frame.appendChild(img);
  frame.addEventListener("click", () => openLightbox(m));
  const info = document.createElement("div");
  info.className = "result-info";
  const name = document.createElement("span");
  name.className = "result-name";
  name.textContent = baseName(m.path);
  name.title = m.path;
  info.append(name);
  if (m.similarity != null) {
    const sim = document.createElement("span");
    sim.className = "sim" + (m.similarity < state.threshold + 0.1 ? " mid" : "");
    sim.textContent = Math.round(m.similarity * 100) + "%";
    sim.title = "Similarity " + m.similarity.toFixed(3);
    info.append(sim);
  }
  el.append(frame, info);
  if (actions) el.append(actions(m));
  el._match = m;
  cardObserver.observe(el);
  return el;
}

async function photoInfo(id) {
  if (!state.photos.has(id)) state.photos.set(id, call(`/photos/${id}`));
  return state.photos.get(id);
}

// When a card comes near the screen: its thumbnail and its faces, the matched one marked.
async function fillCard(el) {
  const m = el._match;
  const frame = el.querySelector(".frame");
  const img = frame.querySelector("img");
  img.addEventListener("load", () => img.classList.add("loaded"), { once: true });
  img.src = `${api}/photos/${m.photo_id}/thumbnail?size=480`;
  let p;
  try { p = await photoInfo(m.photo_id); } catch (e) { return; }
  if (!p.width || !p.height) return;
  frame.style.aspectRatio = `${p.width} / ${p.height}`;
  for (const f of p.faces) {
    const matched = f.face_id === m.face_id;
    const b = faceBox(f, p.width, p.height, matched ? "matched" : "", () => searchByFace(f.face_id));
    b.dataset.faceId = f.face_id;
    frame.appendChild(b);
  }
}

// ---- one photo, large ---------------------------------------------------------------------------

async function openLightbox(m) {
  const frame = $("lightbox-frame");
  clearBoxes(frame);
  const img = $("lightbox-img");
  img.src = `${api}/photos/${m.photo_id}/thumbnail?size=1600`;
  img.alt = baseName(m.path);
  $("lightbox-caption").textContent = m.similarity != null
    ? `${m.path} — ${Math.round(m.similarity * 100)}% similar. Click a face to search for that person.`
    : `${m.path} — click a face to search for that person.`;
  $("lightbox").hidden = false;
  try {
    const p = await photoInfo(m.photo_id);
    for (const f of p.faces)
      frame.appendChild(faceBox(f, p.width, p.height, f.face_id === m.face_id ? "matched" : "",
                                () => searchByFace(f.face_id)));
  } catch (e) { toast(e.message); }
}

function closeLightbox() { $("lightbox").hidden = true; }

// ---- the library and index runs ------------------------------------------------------------------

async function loadStats() {
  try {
    const s = await call("/stats");
    const dl = $("stats");
    dl.innerHTML = "";
    for (const [label, v] of [["Photos", s.files], ["Faces", s.faces], ["Folders", s.folders]]) {
      const d = document.createElement("div");
      d.innerHTML = `<dt>${label}</dt><dd>${Number(v).toLocaleString()}</dd>`;
      dl.appendChild(d);
    }
    $("bar-stats").textContent = `${Number(s.files).toLocaleString()} photos · ${Number(s.faces).toLocaleString()} faces`;
    const sel = $("index-folder");
    if (!sel.options.length) {
      for (const r of s.roots) sel.add(new Option(r, r));
      if (s.roots.length > 1) sel.add(new Option("All folders", ""), 0);
    }
    if (!s.files) { $("library").hidden = false; $("library-toggle").setAttribute("aria-expanded", "true"); }
  } catch (e) { /* shown by the caller's flow */ }
}

function showProgress(run) {
  const box = $("index-progress");
  if (run.state === "idle") { box.hidden = true; return; }
  box.hidden = false;
  const pct = run.total ? Math.floor(100 * run.done / run.total) : (run.state === "running" ? 0 : 100);
  $("index-fill").style.width = pct + "%";
  $("index-fill").dataset.percent = pct;
  let text = `${pct} % · ${run.done.toLocaleString()} / ${run.total.toLocaleString()} photos · ${run.faces.toLocaleString()} faces`;
  if (run.state === "running") {
    if (run.photos_per_second > 0) text += ` · ${run.photos_per_second.toFixed(1)}/s`;
    if (run.eta_seconds != null) text += ` · ${run.eta_seconds} s left`;
  } else if (run.state === "done") text = `Done · ${text}`;
  else if (run.state === "cancelled") text = `Cancelled · ${text}`;
  else if (run.state === "failed") text = `Failed: ${run.error}`;
  $("index-text").textContent = text;
  $("index-cancel").hidden = run.state !== "running";
  $("index-start").disabled = run.state === "running";
}

let events = null;
function follow() {
  if (events) events.close();
  events = new EventSource(`${api}/index/events`);
  events.addEventListener("progress", (e) => {
    const run = JSON.parse(e.data);
    showProgress(run);
    if (run.state !== "running" && run.state !== "idle") { loadStats(); }
  });
  events.onerror = () => { events.close(); events = null; setTimeout(pollOnce, 1000); };
}

async function pollOnce() {
  try { showProgress(await call("/index")); follow(); } catch (e) { /* retried on next action */ }
}

async function startIndex() {
  const folder = $("index-folder").value;
  try {
    const run = await call("/index", { method: "POST", headers: { "Content-Type": "application/json" },
                                       body: JSON.stringify(folder ? { folder } : {}) });
    showProgress(run);
    follow();
  } catch (e) { toast(e.message); }
}

async function cancelIndex() {
  try { showProgress(await call("/index", { method: "DELETE" })); } catch (e) { toast(e.message); }
}

// ---- people ------------------------------------------------------------------------------------------

const people = { list: [], selected: [], person: null, following: false };

function personLabel(p) { return p.name || `Person ${p.id}`; }

function plural(n, one, many) { return `${Number(n).toLocaleString()} ${n === 1 ? one : many}`; }

// Which view the address asks for: "" the search, "#people" the grid, "#people/ID" a person,
// "#people/unsure" the faces left out of the grouping.
function showView() {
  const h = location.hash;
  const m = /^#people\/(\d+|unsure)$/.exec(h);
  const inPeople = h === "#people" || !!m;
  $("app").hidden = inPeople;
  $("people-view").hidden = !inPeople;
  // a sharded library's index runs and stats are each shard's; its people are the library's,
  // whose faces move with the faces their shard grouped with them
  $("library-toggle").hidden = inPeople || state.sharded;
  $("person-unit-hint").hidden = !state.sharded;
  $("tab-search").classList.toggle("active", !inPeople);
  $("tab-people").classList.toggle("active", inPeople);
  $("people-list").hidden = !!m;
  $("person-view").hidden = !m;
  closeLightbox();
  const unsure = !!m && m[1] === "unsure";
  for (const id of ["person-name", "person-face", "person-edit-hint"]) $(id).hidden = unsure;
  $("unsure-title").hidden = $("unsure-hint").hidden = !unsure;
  if (unsure) $("person-unit-hint").hidden = true;
  if (unsure) openUnsure();
  else if (m) openPerson(Number(m[1]));
  else if (inPeople) loadPeople();
}

async function loadPeople() {
  let r;
  try { r = await call("/people"); } catch (e) { return toast(e.message); }
  people.list = r.people;
  people.selected = people.selected.filter((id) => r.people.some((p) => p.id === id));
  const bits = [plural(r.count, "person", "people")];
  if (r.unsure) bits.push(plural(r.unsure, "unsure face", "unsure faces"));
  if (r.ungrouped) bits.push(`${r.ungrouped.toLocaleString()} in no person`);
  if (r.unseen) bits.push(`${r.unseen.toLocaleString()} not grouped yet`);
  $("people-count").textContent = bits.join(" · ");
  $("people-unsure-link").hidden = !r.unsure;
  $("people-empty").hidden = r.count > 0;
  call("/people/update").then((u) => { if (u.state === "running") followUpdate(false); }, () => {});
  fillInBatches($("people-grid"), $("people-sentinel"), r.people, personCard);
  updateMergeButton();
}

function personCard(p) {
  const el = document.createElement("article");
  el.className = "person";
  el.dataset.personId = p.id;
  const face = document.createElement("a");
  face.className = "person-crop";
  face.href = `#people/${p.id}`;
  face.title = `See the photos of ${personLabel(p)}`;
  if (p.face_id) {
    const img = document.createElement("img");
    img.alt = personLabel(p);
    img.loading = "lazy";
    img.addEventListener("load", () => img.classList.add("loaded"), { once: true });
    img.src = `${api}/faces/${p.face_id}/crop?size=240`;
    face.appendChild(img);
  }
  const pick = document.createElement("input");
  pick.type = "checkbox";
  pick.className = "person-pick";
  pick.title = "Select to merge";
  pick.setAttribute("aria-label", `Select ${personLabel(p)} to merge`);
  pick.checked = people.selected.includes(p.id);
  pick.addEventListener("change", () => {
    people.selected = people.selected.filter((id) => id !== p.id);
    if (pick.checked) people.selected.push(p.id);
    while (people.selected.length > 2) {
      const drop = people.selected.shift();
      const other = document.querySelector(`.person[data-person-id="${drop}"] .person-pick`);
      if (other) other.checked = false;
    }
    updateMergeButton();
  });
  const info = document.createElement("div");
  info.className = "person-info";
  info.append(nameInput(p, "person-name"));
  const counts = document.createElement("span");
  counts.className = "person-counts";
  counts.textContent = `${plural(p.photos, "photo", "photos")} · ${plural(p.faces, "face", "faces")}`;
  info.append(counts);
  el.append(face, pick, info);
  return el;
}

// An input that renames person p when it changes (Enter or leaving it).
function nameInput(p, cls, input) {
  input = input || document.createElement("input");
  input.className = cls;
  input.value = p.name || "";
  input.placeholder = "Add a name";
  input.maxLength = 200;
  input.setAttribute("aria-label", `Name of ${personLabel(p)}`);
  input.onkeydown = (e) => { if (e.key === "Enter") input.blur(); if (e.key === "Escape") { input.value = p.name || ""; input.blur(); } };
  input.onchange = async () => {
    const name = input.value.trim();
    try {
      const r = await call(`/people/${p.id}/name`, { method: "POST", headers: { "Content-Type": "application/json" },
                                                     body: JSON.stringify({ name }) });
      p.name = r.person.name;
      input.value = p.name || "";
      input.classList.add("saved");
      setTimeout(() => input.classList.remove("saved"), 1200);
    } catch (e) {
      input.value = p.name || "";
      toast(e.message);
    }
  };
  return input;
}

function updateMergeButton() {
  const b = $("people-merge");
  b.disabled = people.selected.length !== 2;
  if (people.selected.length === 2) {
    const [into, from] = people.selected.map((id) => people.list.find((p) => p.id === id));
    b.textContent = `Merge ${personLabel(from)} into ${personLabel(into)}`;
  } else {
    b.textContent = people.selected.length ? "Select one more to merge" : "Merge selected";
  }
}

async function mergeSelected() {
  const [into, from] = people.selected;
  try {
    await call(`/people/${into}/merge`, { method: "POST", headers: { "Content-Type": "application/json" },
                                          body: JSON.stringify({ from }) });
    people.selected = [];
    toast("Merged.", false);
  } catch (e) { toast(e.message); }
  loadPeople();
}

// The grouping runs in the server's background: start it, then show its stage on the Update
// button until it ends (also when the page finds one already running).
const STAGES = { loading: "Reading faces", neighbours: "Finding neighbours", grouping: "Grouping",
                 writing: "Saving", shards: "Joining shards" };

async function groupFaces() {
  try {
    await call("/people/update", { method: "POST" });
  } catch (e) { return toast(e.message); }
  followUpdate(true);
}

async function followUpdate(started) {
  const b = $("people-update");
  if (people.following) return;
  people.following = true;
  b.disabled = true;
  let r = null;
  for (;;) {
    try { r = await call("/people/update"); } catch (e) { toast(e.message); r = null; break; }
    if (r.state !== "running") break;
    const stage = STAGES[r.stage] || "Updating";
    b.textContent = r.total ? `${stage} ${Math.floor(100 * r.done / r.total)}%…` : `${stage}…`;
    await new Promise((done) => setTimeout(done, 400));
  }
  people.following = false;
  b.disabled = false;
  b.textContent = "Update";
  if (r && r.state === "failed") toast(r.error || "The update failed.");
  else if (r && r.state === "done" && started)
    toast(`Looked at ${plural(r.faces, "face", "faces")}: ${plural(r.new_people, "new person", "new people")}, ${plural(r.people, "person", "people")} in all.`, false);
  if (r && (started || r.state === "done")) loadPeople();
}

async function openPerson(id) {
  let r;
  try { r = await call(`/people/${id}`); } catch (e) {
    toast(e.status === 404 ? "That person is no longer in the library." : e.message);
    location.hash = "#people";
    return;
  }
  if (!people.list.length) {
    try { people.list = (await call("/people")).people; } catch (e) { /* the move menu is shorter */ }
  }
  people.person = r.person;
  const p = r.person;
  nameInput(p, "person-name big", $("person-name"));
  const img = $("person-face");
  img.hidden = !p.face_id;
  if (p.face_id) img.src = `${api}/faces/${p.face_id}/crop?size=96`;
  const photos = new Set(r.faces.map((f) => f.photo_id)).size;
  $("person-count").textContent = plural(photos, "photo", "photos");
  fillInBatches($("person-gallery"), $("person-sentinel"), r.faces,
                (f) => card(f, faceActions));
}

// The faces left out of the grouping as unsure, each of which can be moved into a person.
async function openUnsure() {
  let r;
  try { r = await call("/people/unsure"); } catch (e) {
    toast(e.message);
    location.hash = "#people";
    return;
  }
  try { people.list = (await call("/people")).people; } catch (e) { /* the move menu is shorter */ }
  people.person = null;
  $("person-count").textContent = plural(r.count, "face", "faces");
  fillInBatches($("person-gallery"), $("person-sentinel"), r.faces,
                (f) => card(f, faceActions));
}

// Under a face of the open person: move it to another person (or a new one), or reject it (an
// unsure face, in no person: move it only). On a sharded library a face goes with the faces its
// shard grouped with it (f.unit_faces in all): the controls say so.
function faceActions(f) {
  const row = document.createElement("div");
  row.className = "face-actions";
  const n = f.unit_faces || 1;
  const along = n > 1 ? `, with the ${plural(n - 1, "other face", "other faces")} its shard grouped with it` : "";
  const move = document.createElement("select");
  move.className = "face-move";
  move.setAttribute("aria-label", `Move this face${along} to`);
  move.title = `Move this face${along} to another person`;
  move.add(new Option("Move to…", ""));
  move.add(new Option("A new person", "new"));
  const from = people.person; // null: an unsure face, in no person
  for (const p of people.list)
    if (!from || p.id !== from.id) move.add(new Option(personLabel(p), String(p.id)));
  move.addEventListener("change", async () => {
    if (!move.value) return;
    const to = move.value === "new" ? "new" : Number(move.value);
    try {
      const r = await call(`/faces/${f.face_id}/move`, { method: "POST", headers: { "Content-Type": "application/json" },
                                                        body: JSON.stringify(from ? { to, from: from.id } : { to }) });
      toast(n > 1 ? `Moved ${n} faces to ${personLabel(r.person)}.` : `Moved to ${personLabel(r.person)}.`, false);
      people.list = [];
      if (from) openPerson(from.id); else openUnsure();
    } catch (e) { move.value = ""; toast(e.message); }
  });
  if (!from) {
    row.append(move);
    return row;
  }
  const reject = document.createElement("button");
  reject.type = "button";
  reject.className = "link face-reject";
  reject.textContent = n > 1 ? `Not them (${n} faces)` : "Not them";
  reject.title = `Take this face${along} out of this person for good`;
  reject.addEventListener("click", async () => {
    try {
      const r = await call(`/faces/${f.face_id}/reject`, { method: "POST", headers: { "Content-Type": "application/json" },
                                                          body: JSON.stringify({ from: people.person.id }) });
      if (n > 1) toast(`${n} faces taken out of ${personLabel(people.person)}.`, false);
      if (!r.person) { location.hash = "#people"; return; }
      openPerson(people.person.id);
    } catch (e) { toast(e.message); }
  });
  row.append(move, reject);
  return row;
}

// ---- login -----------------------------------------------------------------------------------------

function showLogin() {
  $("login").hidden = false;
  $("app").hidden = true;
  $("people-view").hidden = true;
  $("tabs").hidden = true;
}

async function login(e) {
  e.preventDefault();
  try {
    await call("/login", { method: "POST", headers: { "Content-Type": "application/json" },
                           body: JSON.stringify({ token: $("login-token").value }) });
    location.reload();
  } catch (err) {
    $("login").hidden = false;
    $("login-error").textContent = err.status === 401 ? "That token is not right." : err.message;
  }
}

// ---- start -----------------------------------------------------------------------------------------

function wire() {
  const drop = $("drop"), file = $("file");
  drop.addEventListener("click", () => file.click());
  drop.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") file.click(); });
  file.addEventListener("change", () => { if (file.files[0]) searchByFile(file.files[0]); file.value = ""; });
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    const f = e.dataTransfer.files[0];
    if (f) searchByFile(f);
  });
  $("slider").addEventListener("input", applySlider);
  $("lightbox").addEventListener("click", (e) => { if (e.target.id === "lightbox" || e.target.id === "lightbox-close") closeLightbox(); });
  document.addEventListener("keydown", (e) => { if (e.key === "Escape") closeLightbox(); });
  $("library-toggle").addEventListener("click", () => {
    const lib = $("library");
    lib.hidden = !lib.hidden;
    $("library-toggle").setAttribute("aria-expanded", String(!lib.hidden));
  });
  $("index-start").addEventListener("click", startIndex);
  $("index-cancel").addEventListener("click", cancelIndex);
  $("login-form").addEventListener("submit", login);
  $("people-update").addEventListener("click", groupFaces);
  $("people-merge").addEventListener("click", mergeSelected);
  window.addEventListener("hashchange", showView);
}

async function start() {
  wire();
  try {
    const models = await call("/models");
    state.threshold = models.active.threshold;
    state.floor = Math.max(0, Math.round((state.threshold - 0.2) * 100) / 100);
  } catch (e) {
    if (e.status !== 401) toast(e.message);
    return;
  }
  const slider = $("slider");
  slider.min = state.floor;
  slider.value = state.threshold;
  $("slider-value").textContent = state.threshold.toFixed(2);
  try { state.sharded = (await call("/health")).sharded === true; } catch (e) { state.sharded = false; }
  $("tabs").hidden = false;
  showView();
  if (state.sharded) {
    $("bar-stats").textContent = "Sharded library";
    return;
  }
  await loadStats();
  pollOnce();
}

start();
