// sharded_test.mjs — the server's page over a sharded library (serve --shards under mpirun) in a
// real browser (Debian's chromium, headless, playwright-core): the page says it is a sharded
// library and has no library panel (index runs and stats are each shard's); an uploaded query
// photo gives as many results as the API finds, every thumbnail loads (photos by library id, from
// the rank that holds them), a photo opens large with every face boxed, a clicked face is
// searched for (that face first, similarity 1, its crop as the query). People: none at first;
// Update groups them (every rank its shards, in the server's background), then the grid lists
// the API's people in its order with their faces' crops, a name typed in is the library's; a
// person opens with the API's faces, one card each, with the word that a face moves with its
// unit; a face moved to a new person takes its unit along (the person keeps the rest), Merge
// brings it back, Not them takes it out. The grid links to the library's unsure faces (every
// rank's), one of which moves into a person and leaves them. No error is shown, no script fails.
// Usage: node sharded_test.mjs BASE_URL QUERY_PHOTO ARTEFACT_DIR   (exit 0: every check passed)
import { mkdirSync } from "node:fs";
import { apiSearchCount, check, finish, launch, moveUnsureFace, openApp, openPersonFromGrid,
         searchByClickedFace } from "./lib.mjs";

const [base, query, out] = process.argv.slice(2);
mkdirSync(out, { recursive: true });

const browser = await launch();
try {
  const { page, pageErrors } = await openApp(browser, base);
  const toasts = [];
  await page.waitForFunction(() => document.querySelector("#bar-stats").textContent !== "");
  check("says it is a sharded library", (await page.textContent("#bar-stats")) === "Sharded library");
  check("a People tab", await page.isVisible("#tab-people"));
  check("no library panel", !(await page.isVisible("#library-toggle")) && !(await page.isVisible("#library")));

  // ---- a query photo: the gallery, as many as the API finds, every thumbnail loaded
  await page.setInputFiles("#file", query);
  await page.waitForSelector("#gallery .result");
  const apiCount = await apiSearchCount(page, query);
  const shown = await page.$$eval("#gallery .result", (r) => r.length);
  check("results: as many as the API finds", shown === apiCount && shown > 1, `page ${shown} api ${apiCount}`);
  await page.waitForFunction(() => [...document.querySelectorAll("#gallery .result img")]
    .every((i) => i.classList.contains("loaded") && i.naturalWidth > 0), null, { timeout: 60000 });
  check("every thumbnail loaded", true);
  const first = page.locator("#gallery .result").first();
  await first.locator(".box.matched").waitFor();
  await page.waitForTimeout(400); // the pictures' fade-in
  await page.screenshot({ path: `${out}/sharded-results.png` });

  // ---- a photo large, with all its faces (the photo's JSON by library id)
  await first.locator(".frame").dispatchEvent("click");
  await page.waitForSelector("#lightbox:not([hidden]) .box");
  const faces = await first.evaluate(async (el) => (await (await fetch(`/api/v1/photos/${el.dataset.photoId}`)).json()).faces.length);
  check("large photo: every face boxed", faces > 1 && (await page.$$eval("#lightbox .box", (b) => b.length)) === faces,
        `faces ${faces}`);
  await page.waitForFunction(() => document.querySelector("#lightbox-img").complete &&
                                   document.querySelector("#lightbox-img").naturalWidth > 0);
  await page.keyboard.press("Escape");

  // ---- another face of a result, clicked: a search for that person
  await searchByClickedFace(page, first);
  await page.waitForFunction(() => document.querySelector("#query-img").complete &&
                                   document.querySelector("#query-img").naturalWidth > 0);
  await page.waitForFunction(() => [...document.querySelectorAll("#gallery .result img")]
    .every((i) => i.classList.contains("loaded") && i.naturalWidth > 0));
  await page.waitForTimeout(400);
  await page.screenshot({ path: `${out}/sharded-face-search.png` });

  // ---- people: the library's, to group, see and name
  await page.click("#tab-people");
  await page.waitForSelector("#people-view:not([hidden]) #people-empty:not([hidden])");
  check("people: none before an update", (await page.$$eval("#people-grid .person", (p) => p.length)) === 0);
  check("people: Update", await page.isVisible("#people-update"));
  await page.click("#people-update");
  await page.waitForSelector("#people-grid .person", { timeout: 60000 });
  await page.waitForFunction(() => !document.querySelector("#people-update").disabled);
  const run = await page.evaluate(async () => (await (await fetch("/api/v1/people/update")).json()));
  check("people: the update ran on every rank to its end", run.state === "done" && run.faces > 0 && run.people > 1,
        JSON.stringify(run));
  await page.waitForSelector("#toast:not([hidden])");
  check("people: says what the update did", (await page.textContent("#toast")) ===
        `Looked at ${run.faces} faces: ${run.new_people} new people, ${run.people} people in all.`,
        await page.textContent("#toast"));
  const apiPeople = await page.evaluate(async () => (await (await fetch("/api/v1/people")).json()));
  const cards = await page.$$eval("#people-grid .person", (c) => c.map((x) => Number(x.dataset.personId)));
  check("people: as many as the API lists, in its order", apiPeople.count > 1 &&
        JSON.stringify(cards) === JSON.stringify(apiPeople.people.map((p) => p.id)),
        `page ${cards} api ${apiPeople.people.map((p) => p.id)}`);
  await page.waitForFunction(() => [...document.querySelectorAll("#people-grid .person-crop img")]
    .every((i) => i.classList.contains("loaded") && i.naturalWidth > 0), null, { timeout: 60000 });
  check("people: every face's crop loaded", true);
  const who = apiPeople.people[0];
  const whoCard = page.locator(`.person[data-person-id="${who.id}"]`);
  await whoCard.locator(".person-name").fill("Grace Hopper");
  await whoCard.locator(".person-name").press("Enter");
  await page.waitForSelector(`.person[data-person-id="${who.id}"] .person-name.saved`);
  const named = await page.evaluate(async () => (await (await fetch("/api/v1/people")).json()).people[0].name);
  check("people: renamed in place, in the library", named === "Grace Hopper", named);
  await page.screenshot({ path: `${out}/sharded-people.png` });
  const shownFaces = await openPersonFromGrid(page, who, "Grace Hopper");
  check("person: move and reject on every face, and the word that a face moves with its unit",
        (await page.$$eval(".face-actions", (a) => a.length)) === who.faces &&
        (await page.isVisible("#person-unit-hint")));
  await page.waitForFunction(() => [...document.querySelectorAll("#person-gallery .result img")]
    .every((i) => i.classList.contains("loaded") && i.naturalWidth > 0));
  await page.waitForTimeout(400);
  await page.screenshot({ path: `${out}/sharded-person.png` });

  // ---- edits of the library's people: a face moves with its unit, as its controls say
  const movedFace = shownFaces[shownFaces.length - 1];
  const before = await page.evaluate(async (id) => (await (await fetch(`/api/v1/people/${id}`)).json()), who.id);
  const unitFaces = before.faces.find((f) => f.face_id === movedFace).unit_faces;
  const rejectLabel = await page.textContent(`#person-gallery .result[data-face-id="${movedFace}"] .face-reject`);
  check("person: a face's controls say how many faces go with it",
        rejectLabel === (unitFaces > 1 ? `Not them (${unitFaces} faces)` : "Not them"), `${rejectLabel}, ${unitFaces}`);
  await page.locator(`#person-gallery .result[data-face-id="${movedFace}"] .face-move`).selectOption("new");
  await page.waitForFunction((id) => !document.querySelector(`#person-gallery .result[data-face-id="${id}"]`) &&
                             document.querySelectorAll("#person-gallery .result").length > 0, movedFace);
  const afterMove = await page.evaluate(async () => (await (await fetch("/api/v1/people")).json()));
  const newPerson = afterMove.people.find((p) => !apiPeople.people.some((q) => q.id === p.id));
  const moved = newPerson && await page.evaluate(async (id) => (await (await fetch(`/api/v1/people/${id}`)).json()), newPerson.id);
  const kept = await page.evaluate(async (id) => (await (await fetch(`/api/v1/people/${id}`)).json()), who.id);
  check("move: a new person holds the face and its unit, the person the rest",
        !!moved && moved.faces.some((f) => f.face_id === movedFace) && kept.count + moved.count === who.faces &&
        moved.count === unitFaces &&
        !kept.faces.some((f) => moved.faces.some((g) => g.face_id === f.face_id)),
        JSON.stringify({ kept: kept.count, moved: moved && moved.count, was: who.faces }));
  await page.click("#person-back");
  await page.waitForSelector(`.person[data-person-id="${newPerson.id}"]`);
  await page.check(`.person[data-person-id="${who.id}"] .person-pick`);
  await page.check(`.person[data-person-id="${newPerson.id}"] .person-pick`);
  await page.click("#people-merge");
  await page.waitForFunction((id) => !document.querySelector(`.person[data-person-id="${id}"]`), newPerson.id);
  const merged = await page.evaluate(async (id) => (await (await fetch(`/api/v1/people/${id}`)).json()), who.id);
  check("merge: the faces are back", merged.count === who.faces && merged.faces.some((f) => f.face_id === movedFace) &&
        merged.person.name === "Grace Hopper");
  await page.locator(`.person[data-person-id="${who.id}"] .person-crop`).click();
  await page.waitForSelector("#person-gallery .result .face-reject");
  await page.locator(`#person-gallery .result[data-face-id="${movedFace}"] .face-reject`).click();
  await page.waitForFunction((id) => !document.querySelector(`#person-gallery .result[data-face-id="${id}"]`) &&
                             document.querySelectorAll("#person-gallery .result").length > 0, movedFace);
  const rejected = await page.evaluate(async (id) => (await (await fetch(`/api/v1/people/${id}`)).json()), who.id);
  check("reject: the face and its unit are out of the person", rejected.count === kept.count &&
        !rejected.faces.some((f) => f.face_id === movedFace), `${rejected.count} faces, ${kept.count} expected`);
  // ---- the library's unsure faces (every rank's): the grid links to them, one moved into a person
  await moveUnsureFace(page, who.id);
  await page.screenshot({ path: `${out}/sharded-unsure.png` });
  if (await page.isVisible("#toast.error")) toasts.push(await page.textContent("#toast"));
  check("no error shown", toasts.length === 0, toasts.join("; "));
  check("no script errors", pageErrors.length === 0, pageErrors.join("; "));
} finally {
  await browser.close();
}
finish();
