// page_test.mjs — the server's page in a real browser (Debian's chromium, headless, driven by
// playwright-core): index a folder and see the progress bar reach 100 %, upload a query photo,
// wait for the gallery, check the number of results against the API and that the first result's
// box is drawn where the API says, filter with the slider, open a photo large, click a face in a
// result and check the new search; People: group the faces, the grid against the API, rename in
// place, open a person (their photos, one large), move a face to a new person, merge it back,
// reject it, review the unsure faces and move one into a person; screenshots at desktop and
// phone widths.
// Usage: node page_test.mjs BASE_URL QUERY_PHOTO ARTEFACT_DIR   (exit 0: every check passed)
import { mkdirSync } from "node:fs";
import { apiSearchCount, check, finish, launch, moveUnsureFace, openApp, openPersonFromGrid,
         searchByClickedFace } from "./lib.mjs";

const [base, query, out] = process.argv.slice(2);
mkdirSync(out, { recursive: true });

// Every card's picture loaded and faded in: screenshots show what a person sees.
async function settled(p) {
  await p.waitForFunction(() => [...document.querySelectorAll("#gallery .result img")]
    .every((i) => i.classList.contains("loaded")));
  await p.waitForTimeout(400);
}

const browser = await launch();
try {
  const { page, pageErrors } = await openApp(browser, base);
  await page.screenshot({ path: `${out}/desktop-empty.png` });

  // ---- an index run from the library panel, to 100 %
  check("library panel open on an empty index", await page.isVisible("#library"));
  await page.click("#index-start");
  await page.waitForFunction(() => document.querySelector("#index-fill").dataset.percent === "100" &&
                                    /^Done/.test(document.querySelector("#index-text").textContent),
                             null, { timeout: 120000 });
  check("progress bar full", (await page.getAttribute("#index-fill", "style")).includes("100%"));
  await page.waitForFunction(() => /[1-9]/.test(document.querySelector("#bar-stats").textContent));
  await page.screenshot({ path: `${out}/desktop-indexed.png` });

  // ---- a query photo: its faces, the gallery
  await page.setInputFiles("#file", query);
  await page.waitForSelector("#gallery .result");
  const queryBoxes = await page.$$eval("#query-frame .box", (b) => b.length);
  check("query photo: a box per face", queryBoxes === 3, `got ${queryBoxes}`);
  check("query photo: one face chosen", (await page.$$eval("#query-frame .box.chosen", (b) => b.length)) === 1);
  // the number of results: what the API finds at the pack's threshold
  const apiCount = await apiSearchCount(page, query);
  const shown = await page.$$eval("#gallery .result", (r) => r.length);
  check("results: as many as the API finds", shown === apiCount && shown > 0, `page ${shown} api ${apiCount}`);
  check("results count text", (await page.textContent("#results-count")).startsWith(String(shown)));

  // ---- the first result's matched box, where the API says
  const first = page.locator("#gallery .result").first();
  await first.locator(".box.matched").waitFor();
  await first.locator("img.loaded").waitFor();
  const geo = await first.evaluate(async (el) => {
    const photo = await (await fetch(`/api/v1/photos/${el.dataset.photoId}`)).json();
    const box = JSON.parse(el.dataset.box);
    const img = el.querySelector("img").getBoundingClientRect();
    const drawn = el.querySelector(".box.matched").getBoundingClientRect();
    const sx = img.width / photo.width, sy = img.height / photo.height;
    return { want: [img.left + box[0] * sx, img.top + box[1] * sy, img.left + box[2] * sx, img.top + box[3] * sy],
             got: [drawn.left, drawn.top, drawn.right, drawn.bottom],
             ratio: [img.width / img.height, photo.width / photo.height] };
  });
  const off = Math.max(...geo.want.map((w, i) => Math.abs(w - geo.got[i])));
  check("first result: the box where the API says (within 1.5 px)", off <= 1.5,
        `want ${geo.want} got ${geo.got}`);
  check("first result: the photo's proportions kept", Math.abs(geo.ratio[0] - geo.ratio[1]) < 0.02);
  const sims = await page.$$eval("#gallery .result .sim", (s) => s.map((x) => parseFloat(x.title.split(" ")[1])));
  check("results best first", sims.every((s, i) => i === 0 || sims[i - 1] >= s));
  await settled(page);
  await page.screenshot({ path: `${out}/desktop-results.png` });

  // ---- the slider filters live
  const cut = (Math.floor(sims[0] * 100) / 100).toFixed(2);
  await page.fill("#slider", cut);
  const afterSlider = await page.$$eval("#gallery .result", (r) => r.length);
  const wantAfter = sims.filter((s) => s >= Number(cut)).length;
  check(`slider at ${cut}: only the results at least that similar`,
        afterSlider === wantAfter && afterSlider >= 1, `got ${afterSlider}, want ${wantAfter}`);
  await page.fill("#slider", await page.getAttribute("#slider", "min"));
  const atMin = await page.$$eval("#gallery .result", (r) => r.length);
  check("slider at its minimum: more results", atMin >= shown, `got ${atMin}`);

  // ---- a photo large, with all its faces
  await first.locator(".frame").dispatchEvent("click"); // the photo, not one of its faces
  await page.waitForSelector("#lightbox:not([hidden]) .box");
  const faces = await first.evaluate(async (el) => (await (await fetch(`/api/v1/photos/${el.dataset.photoId}`)).json()).faces.length);
  check("large photo: every face boxed", (await page.$$eval("#lightbox .box", (b) => b.length)) === faces);
  await page.waitForFunction(() => document.querySelector("#lightbox-img").complete);
  await page.screenshot({ path: `${out}/desktop-photo.png` });
  await page.keyboard.press("Escape");

  // ---- click another face in a result: a search for that person
  await searchByClickedFace(page, first);
  await settled(page);
  await page.screenshot({ path: `${out}/desktop-face-search.png` });
  // ---- an error in plain words: a file that is not a photo
  await page.setInputFiles("#file", { name: "notes.jpg", mimeType: "image/jpeg", buffer: Buffer.from("not a photo") });
  await page.waitForSelector("#toast:not([hidden])");
  const said = await page.textContent("#toast");
  check("an upload that is not a photo: said in plain words", /^That did not work: .*not an image/.test(said), said);
  check("no script errors", pageErrors.length === 0, pageErrors.join("; "));

  // ---- People: group the faces, the grid against the API, rename, open one, move, merge, reject
  await page.click("#tab-people");
  await page.waitForSelector("#people-view:not([hidden])");
  check("people: the Update button", (await page.textContent("#people-update")) === "Update");
  await page.click("#people-update");
  await page.waitForSelector("#people-grid .person");
  await page.waitForFunction(() => !document.querySelector("#people-update").disabled);
  check("people: the Update button back after the run", (await page.textContent("#people-update")) === "Update");
  const run = await page.evaluate(async () => (await (await fetch("/api/v1/people/update")).json()));
  check("people: the update ran in the background to its end", run.state === "done" && run.faces > 0,
        JSON.stringify(run));
  const apiPeople = await page.evaluate(async () => (await (await fetch("/api/v1/people")).json()));
  const cards = await page.$$eval("#people-grid .person", (c) => c.map((x) => Number(x.dataset.personId)));
  check("people: as many as the API lists, in its order", apiPeople.count > 0 &&
        JSON.stringify(cards) === JSON.stringify(apiPeople.people.map((p) => p.id)),
        `page ${cards} api ${apiPeople.people.map((p) => p.id)}`);
  const who = apiPeople.people[0];
  const whoCard = page.locator(`.person[data-person-id="${who.id}"]`);
  check("people: counts on the card", (await whoCard.locator(".person-counts").textContent())
        === `${who.photos} photo${who.photos === 1 ? "" : "s"} · ${who.faces} face${who.faces === 1 ? "" : "s"}`);
  await whoCard.locator(".person-crop img.loaded").waitFor();
  await page.waitForTimeout(400);
  const crop = await whoCard.locator(".person-crop img").getAttribute("src");
  check("people: the representative face's crop", crop.includes(`/faces/${who.face_id}/crop`), crop);
  await page.screenshot({ path: `${out}/desktop-people.png` });
  // rename in place
  await whoCard.locator(".person-name").fill("Ada Lovelace");
  await whoCard.locator(".person-name").press("Enter");
  await page.waitForSelector(`.person[data-person-id="${who.id}"] .person-name.saved`);
  const named = await page.evaluate(async (id) => (await (await fetch(`/api/v1/people/${id}`)).json()).person.name, who.id);
  check("people: renamed in place", named === "Ada Lovelace", named);
  // open the person: their photos in the gallery
  const shownFaces = await openPersonFromGrid(page, who, "Ada Lovelace");
  check("person: the photo count", (await page.textContent("#person-count")) ===
        `${who.photos} photo${who.photos === 1 ? "" : "s"}`);
  await page.waitForFunction(() => [...document.querySelectorAll("#person-gallery .result img")]
    .every((i) => i.classList.contains("loaded")));
  await page.waitForTimeout(400);
  await page.screenshot({ path: `${out}/desktop-person.png` });
  await page.locator("#person-gallery .result .frame").first().dispatchEvent("click");
  await page.waitForSelector("#lightbox:not([hidden]) .box.matched");
  await page.waitForFunction(() => document.querySelector("#lightbox-img").complete);
  await page.screenshot({ path: `${out}/desktop-person-photo.png` });
  await page.keyboard.press("Escape");
  // move the last face to a new person
  const movedFace = shownFaces[shownFaces.length - 1];
  await page.locator(`#person-gallery .result[data-face-id="${movedFace}"] .face-move`).selectOption("new");
  await page.waitForFunction((n) => document.querySelectorAll("#person-gallery .result").length === n,
                             shownFaces.length - 1);
  const afterMove = await page.evaluate(async () => (await (await fetch("/api/v1/people")).json()));
  const newPerson = afterMove.people.find((p) => p.face_id === movedFace);
  check("move: a new person holds the face", afterMove.count === apiPeople.count + 1 && !!newPerson);
  // back to the grid: select both and merge the new person back
  await page.click("#person-back");
  await page.waitForSelector(`.person[data-person-id="${newPerson.id}"]`);
  await page.check(`.person[data-person-id="${who.id}"] .person-pick`);
  await page.check(`.person[data-person-id="${newPerson.id}"] .person-pick`);
  check("merge: the button names both", (await page.textContent("#people-merge")) ===
        `Merge Person ${newPerson.id} into Ada Lovelace`);
  await page.click("#people-merge");
  await page.waitForFunction((id) => !document.querySelector(`.person[data-person-id="${id}"]`), newPerson.id);
  const afterMerge = await page.evaluate(async (id) => (await (await fetch(`/api/v1/people/${id}`)).json()), who.id);
  check("merge: the face is back", afterMerge.count === who.faces &&
        afterMerge.faces.some((f) => f.face_id === movedFace));
  // reject a face from the person's page
  await page.locator(`.person[data-person-id="${who.id}"] .person-crop`).click();
  await page.waitForSelector("#person-gallery .result .face-reject");
  await page.locator(`#person-gallery .result[data-face-id="${movedFace}"] .face-reject`).click();
  await page.waitForFunction((id) => !document.querySelector(`#person-gallery .result[data-face-id="${id}"]`) &&
                             document.querySelectorAll("#person-gallery .result").length > 0, movedFace);
  const afterReject = await page.evaluate(async (id) => (await (await fetch(`/api/v1/people/${id}`)).json()), who.id);
  check("reject: the face is out of the person", afterReject.count === who.faces - 1 &&
        !afterReject.faces.some((f) => f.face_id === movedFace));
  // ---- the unsure faces: a link from the grid, their page, one moved into a person
  await moveUnsureFace(page, who.id);
  await page.screenshot({ path: `${out}/desktop-unsure.png` });
  await page.click("#person-back");
  await page.waitForSelector("#people-list:not([hidden])");
  check("unsure: back on the grid, the person's own view is whole again",
        await page.isHidden("#unsure-title"));
  await page.click("#tab-search");
  await page.waitForSelector("#app:not([hidden])");
  check("no script errors on the People pages", pageErrors.length === 0, pageErrors.join("; "));

  // ---- a phone
  const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
  await phone.goto(base + "/");
  await phone.waitForSelector("#app:not([hidden])");
  await phone.setInputFiles("#file", query);
  await phone.waitForSelector("#gallery .result .box.matched");
  const width = await phone.evaluate(() => document.documentElement.scrollWidth);
  check("phone: nothing wider than the screen", width <= 390, `scroll width ${width}`);
  await settled(phone);
  await phone.screenshot({ path: `${out}/phone-results.png` });
  await phone.screenshot({ path: `${out}/phone-full.png`, fullPage: true });
} finally {
  await browser.close();
}
finish();
