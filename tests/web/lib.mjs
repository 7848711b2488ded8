// lib.mjs — what the browser tests share (page_test.mjs, many_test.mjs, sharded_test.mjs):
// Debian's chromium launched headless through playwright-core, the tally of checks and the exit,
// how many matches the API finds for a photo, and the click on another face of a result that
// searches for that person.
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";

const require = createRequire(import.meta.url);
const { chromium } = require("./node_modules/playwright-core");

let passed = 0, failed = 0;

export function check(what, ok, detail = "") {
  if (ok) passed++;
  else { failed++; console.error(`FAIL ${what} ${detail}`); }
}

export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  });
}

// Prints the tally and ends the process: 0 when every check passed.
export function finish() {
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

// Clicks a face of result card `card` that is not its matched one and checks the search that
// follows: that face first with similarity 1, its crop shown as the query.
export async function searchByClickedFace(page, card) {
  const other = card.locator(".box:not(.matched)").first();
  const otherId = await other.getAttribute("data-face-id");
  await other.click();
  await page.waitForFunction((id) => {
    const r = document.querySelector("#gallery .result");
    return r && r.dataset.faceId === id;
  }, otherId);
  const top = await page.locator("#gallery .result").first().evaluate((el) => el._match);
  check("search by a clicked face: that face first, similarity 1", top.face_id === Number(otherId) && top.similarity > 0.999);
  check("search by a clicked face: the query shows the face", (await page.getAttribute("#query-img", "src")).includes(`/faces/${otherId}/crop`));
}

// How many matches the API finds for the photo at path at the pack's threshold (what the page
// shows for it).
export async function apiSearchCount(page, path) {
  return page.evaluate(async (b64) => {
    const models = await (await fetch("/api/v1/models")).json();
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const r = await (await fetch(`/api/v1/search?top=5000&threshold=${models.active.threshold}`,
                                  { method: "POST", body: bytes })).json();
    return r.count;
  }, readFileSync(path).toString("base64"));
}

// Opens person `who` (an item of GET /api/v1/people) from its card in the people grid and checks
// that the person's view shows the API's faces, one card each, under the name `name`. Returns
// the face ids shown, in order.
export async function openPersonFromGrid(page, who, name) {
  await page.locator(`.person[data-person-id="${who.id}"] .person-crop`).click();
  await page.waitForSelector("#person-view:not([hidden]) #person-gallery .result .box.matched");
  const apiPerson = await page.evaluate(async (id) => (await (await fetch(`/api/v1/people/${id}`)).json()), who.id);
  const shown = await page.$$eval("#person-gallery .result", (r) => r.map((x) => Number(x.dataset.faceId)));
  check("person: the API's faces, one card each", apiPerson.count === who.faces &&
        JSON.stringify(shown) === JSON.stringify(apiPerson.faces.map((f) => f.face_id)),
        `page ${shown} api ${apiPerson.faces.map((f) => f.face_id)}`);
  check("person: the name above the photos", (await page.inputValue("#person-name")) === name);
  return shown;
}

// From the people grid, opens the unsure faces by the grid's link, checks that they are the
// API's, one card each, with a move control only (no name, no Not them), moves the best one into
// person `id` and checks that it is the person's and unsure no more. Returns the API's unsure
// faces before the move.
export async function moveUnsureFace(page, id) {
  const unsure = await page.evaluate(async () => (await (await fetch("/api/v1/people/unsure")).json()));
  await page.evaluate(() => { location.hash = "#people"; });
  await page.waitForSelector("#people-list:not([hidden]) #people-grid .person");
  const linked = await page.waitForSelector("#people-unsure-link:not([hidden])", { timeout: 10000 })
    .then(() => true, () => false);
  check("unsure: the grid links to them", unsure.count > 0 && linked, `${unsure.count} unsure faces`);
  await page.click("#people-unsure-link");
  await page.waitForSelector("#unsure-title:not([hidden])");
  await page.waitForFunction((n) => document.querySelectorAll("#person-gallery .result").length === n, unsure.count);
  check("unsure: every face, moves only (no name, no Not them)",
        await page.isHidden("#person-name") &&
        (await page.$$eval("#person-gallery .face-reject", (b) => b.length)) === 0 &&
        (await page.$$eval("#person-gallery .face-move", (s) => s.length)) === unsure.count);
  const doubtful = unsure.faces[0].face_id;
  await page.locator(`#person-gallery .result[data-face-id="${doubtful}"] .face-move`).selectOption(String(id));
  await page.waitForFunction((f) => !document.querySelector(`#person-gallery .result[data-face-id="${f}"]`), doubtful);
  const took = await page.evaluate(async (p) => (await (await fetch(`/api/v1/people/${p}`)).json()), id);
  const left = await page.evaluate(async () => (await (await fetch("/api/v1/people/unsure")).json()));
  check("unsure: a face moved into a person is theirs, and unsure no more",
        took.faces.some((f) => f.face_id === doubtful) && left.count === unsure.count - 1 &&
        !left.faces.some((f) => f.face_id === doubtful));
  return unsure;
}

// A desktop-sized page of browser at base + "/", once the app shows, with the script errors it
// meets collected in pageErrors.
export async function openApp(browser, base) {
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  const pageErrors = [];
  page.on("pageerror", (e) => pageErrors.push(String(e)));
  await page.goto(base + "/");
  await page.waitForSelector("#app:not([hidden])");
  return { page, pageErrors };
}
