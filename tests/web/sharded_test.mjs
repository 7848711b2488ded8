// sharded_test.mjs — the server's page over a sharded library (serve --shards under mpirun) in a
// real browser (Debian's chromium, headless, playwright-core): the page offers search only (no
// People tab, no library panel: people, index runs and stats are each shard's) and says it is a
// sharded library; an uploaded query photo gives as many results as the API finds, every
// thumbnail loads (photos by library id, from the rank that holds them), a photo opens large with
// every face boxed, a clicked face is searched for (that face first, similarity 1, its crop as
// the query); the People address stays on the search; no error is shown, no script fails.
// Usage: node sharded_test.mjs BASE_URL QUERY_PHOTO ARTEFACT_DIR   (exit 0: every check passed)
import { mkdirSync } from "node:fs";
import { apiSearchCount, check, finish, launch, searchByClickedFace } from "./lib.mjs";

const [base, query, out] = process.argv.slice(2);
mkdirSync(out, { recursive: true });

const browser = await launch();
try {
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  const pageErrors = [], toasts = [];
  page.on("pageerror", (e) => pageErrors.push(String(e)));
  await page.goto(base + "/");
  await page.waitForSelector("#app:not([hidden])");
  await page.waitForFunction(() => document.querySelector("#bar-stats").textContent !== "");
  check("says it is a sharded library", (await page.textContent("#bar-stats")) === "Sharded library");
  check("no People tab", !(await page.isVisible("#tab-people")));
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

  // ---- the People address: still the search
  await page.goto(base + "/#people");
  await page.waitForSelector("#app:not([hidden])");
  await page.waitForTimeout(300);
  check("#people: the search stays", !(await page.isVisible("#people-view")));
  if (await page.isVisible("#toast")) toasts.push(await page.textContent("#toast"));
  check("no error shown", toasts.length === 0, toasts.join("; "));
  check("no script errors", pageErrors.length === 0, pageErrors.join("; "));
} finally {
  await browser.close();
}
finish();
