// people_many_test.mjs — the People view of a large library in a real browser (Debian's chromium,
// headless, driven by playwright-core). "grid": a library of hundreds of people; the grid shows
// at most two batches of people before scrolling, every person of the API once scrolled to the
// bottom, in its order. "person": a library whose largest person has more than a thousand faces;
// its gallery shows at most two batches of them before scrolling, every face once scrolled. No
// page error either way.
// Usage: node people_many_test.mjs BASE_URL ARTEFACT_DIR grid|person   (exit 0: every check passed)
import { mkdirSync } from "node:fs";
import { check, finish, launch, openApp } from "./lib.mjs";

const [base, out, what] = process.argv.slice(2);
mkdirSync(out, { recursive: true });

const BATCH = 60; // cards the page adds at a time (app.js)

// Scrolls to the bottom until selector matches want elements or a jump brings none; their count.
async function scrollAll(page, selector, want) {
  return page.evaluate(async ([sel, n]) => {
    const frame = () => new Promise((res) => requestAnimationFrame(res));
    const count = () => document.querySelectorAll(sel).length;
    while (count() < n) {
      const had = count();
      window.scrollTo(0, document.documentElement.scrollHeight);
      for (let f = 0; count() === had; f++) {
        if (f === 1000) return had; // no new batch at the bottom
        await frame();
      }
    }
    return count();
  }, [selector, want]);
}

const browser = await launch();
try {
  const { page, pageErrors } = await openApp(browser, base);
  const api = await page.evaluate(async () => (await (await fetch("/api/v1/people")).json()));
  if (what === "grid") {
    await page.goto(base + "/#people");
    await page.waitForSelector("#people-view:not([hidden]) #people-grid .person");
    check("the API lists hundreds of people", api.count > 4 * BATCH, `got ${api.count}`);
    const first = await page.$$eval("#people-grid .person", (c) => c.length);
    check("grid before scrolling: at most two batches", first > 0 && first <= 2 * BATCH, `got ${first}`);
    await page.screenshot({ path: `${out}/people-many-grid.png` });
    const all = await scrollAll(page, "#people-grid .person", api.count);
    const ids = await page.$$eval("#people-grid .person", (c) => c.map((x) => Number(x.dataset.personId)));
    check("grid at the bottom: every person, once, in the API's order",
          all === api.count && JSON.stringify(ids) === JSON.stringify(api.people.map((p) => p.id)),
          `${all} of ${api.count}`);
  } else {
    const big = api.people[0];
    check("the largest person has more than a thousand faces", big.faces > 1000, `got ${big.faces}`);
    await page.goto(`${base}/#people/${big.id}`);
    await page.waitForSelector("#person-view:not([hidden]) #person-gallery .result");
    const shown = await page.$$eval("#person-gallery .result", (c) => c.length);
    check("person before scrolling: at most two batches of faces", shown > 0 && shown <= 2 * BATCH,
          `got ${shown}`);
    await page.screenshot({ path: `${out}/people-many-person.png` });
    const faces = await scrollAll(page, "#person-gallery .result", big.faces);
    check("person at the bottom: every face", faces === big.faces, `${faces} of ${big.faces}`);
  }
  check("no page errors", pageErrors.length === 0, pageErrors.join("; "));
} finally {
  await browser.close();
}
finish();
