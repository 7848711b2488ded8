// many_test.mjs — the page with 5,000 results (issue 14: "lazy loading so 5,000 results scroll
// smoothly"), in a real browser (Debian's chromium, headless, driven by playwright-core) against a
// server whose index holds thousands of faces of one person: a search by one of them fills the
// gallery with 5,000 matches. Checks that the gallery is built lazily: a bounded number of cards
// and of pictures before scrolling, more of both after scrolling to the bottom (a batch at each
// jump), the gallery built again a batch at a time when the slider filters; that the page answers while the
// pictures load (the slider filters the 5,000, a click opens a photo); no page error. The longest
// main-thread task is printed, not checked (no check on a wall-clock time).
// Usage: node many_test.mjs BASE_URL FACE_ID ARTEFACT_DIR   (exit 0: every check passed)
import { mkdirSync } from "node:fs";
import { check, finish, launch } from "./lib.mjs";

const [base, faceId, out] = process.argv.slice(2);
mkdirSync(out, { recursive: true });

const BATCH = 60;      // cards the page adds at a time (app.js)
const t0 = Date.now();
const phase = (what) => console.log(`${what} at ${((Date.now() - t0) / 1000).toFixed(1)} s`);

const browser = await launch();
try {
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  const pageErrors = [];
  page.on("pageerror", (e) => pageErrors.push(String(e)));
  let thumbnails = 0;
  page.on("request", (r) => { if (r.url().includes("/thumbnail?")) thumbnails++; });
  await page.goto(base + "/");
  await page.waitForSelector("#app:not([hidden])");
  await page.evaluate(() => {
    window.longestTask = 0;
    new PerformanceObserver((l) => {
      for (const e of l.getEntries()) window.longestTask = Math.max(window.longestTask, e.duration);
    }).observe({ type: "longtask", buffered: true });
  });

  // ---- a search by a face of the one person: 5,000 matches (the page asks for at most 5,000)
  await page.evaluate((id) => searchByFace(Number(id)), faceId);
  await page.waitForFunction(() => /^[0-9]+ photos$/.test(document.querySelector("#results-count").textContent),
                             null, { timeout: 30000 });
  const count = parseInt(await page.textContent("#results-count"), 10);
  check("5,000 results", count === 5000, `got ${count}`);
  await page.waitForSelector("#gallery .result img.loaded");
  await page.waitForTimeout(500);
  const before = await page.evaluate(() => ({
    cards: document.querySelectorAll("#gallery .result").length,
    pictures: [...document.querySelectorAll("#gallery .result img")].filter((i) => i.src).length,
  }));
  check("before scrolling: at most two batches of cards", before.cards > 0 && before.cards <= 2 * BATCH,
        `got ${before.cards}`);
  check("before scrolling: pictures only for cards near the screen",
        before.pictures > 0 && before.pictures <= before.cards, `got ${before.pictures}`);
  check("before scrolling: at most that many thumbnails asked for", thumbnails <= before.cards,
        `got ${thumbnails}`);
  await page.screenshot({ path: `${out}/many-top.png` });
  phase("first cards");

  // ---- the page answers while the gallery is full: the slider filters the 5,000 live
  const top = await page.$eval("#gallery .result .sim", (s) => parseFloat(s.title.split(" ")[1]));
  const cut = String(Math.floor(top * 100) / 100); // as the range input spells it ("1", not "1.00")
  await page.fill("#slider", cut);
  const filtered = parseInt(await page.textContent("#results-count"), 10);
  check("slider: fewer results at the best similarity", filtered >= 1 && filtered < count,
        `${filtered} at ${cut}`);
  await page.fill("#slider", await page.getAttribute("#slider", "min"));
  check("slider back: 5,000 again", parseInt(await page.textContent("#results-count"), 10) === count);
  const refilled = await page.$$eval("#gallery .result", (r) => r.length);
  check("slider back: the gallery built again a batch at a time", refilled > 0 && refilled <= 2 * BATCH,
        `got ${refilled}`);
  phase("slider");

  // ---- scrolling to the bottom, a screen at a time then in jumps: more cards, more pictures
  for (let i = 0; i < 6; i++) {
    await page.mouse.wheel(0, 900);
    await page.waitForTimeout(150);
  }
  // each jump to the bottom brings the next batch: wait for it (a few frames) before the next
  // jump; in the page, as a person scrolling would (no round trip to the test per batch)
  const stuck = await page.evaluate(async () => {
    const frame = () => new Promise((res) => requestAnimationFrame(res));
    const cards = () => document.querySelectorAll("#gallery .result").length;
    while (cards() < 5000) {
      const n = cards();
      window.scrollTo(0, document.documentElement.scrollHeight);
      for (let f = 0; cards() === n; f++) {
        if (f === 1000) return n;  // no new batch at the bottom
        await frame();
      }
    }
    return 0;
  });
  check("scrolling: a new batch at each jump to the bottom", stuck === 0, `stuck at ${stuck} cards`);
  await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
  await page.waitForFunction(() => {
    const cards = [...document.querySelectorAll("#gallery .result")];
    return cards.slice(-10).some((c) => c.querySelector("img").classList.contains("loaded"));
  }, null, { timeout: 30000 });
  const after = await page.evaluate(() => ({
    cards: document.querySelectorAll("#gallery .result").length,
    pictures: [...document.querySelectorAll("#gallery .result img")].filter((i) => i.src).length,
    lastShown: [...document.querySelectorAll("#gallery .result")].slice(-1)[0].getBoundingClientRect().top
      < window.innerHeight,
  }));
  check("at the bottom: every card added", after.cards === 5000, `got ${after.cards}`);
  check("at the bottom: the last card on screen", after.lastShown);
  check("after scrolling: more pictures than before", after.pictures > before.pictures,
        `${before.pictures} -> ${after.pictures}`);
  check("after scrolling: at most a picture per card", after.pictures <= after.cards);
  await page.screenshot({ path: `${out}/many-bottom.png` });
  phase("bottom");

  // ---- and still answers: a photo opens large from the bottom of the gallery
  await page.locator("#gallery .result .frame").last().dispatchEvent("click");
  await page.waitForSelector("#lightbox:not([hidden]) .box");
  check("a photo from the bottom opens large", await page.isVisible("#lightbox"));
  await page.keyboard.press("Escape");
  check("no page errors", pageErrors.length === 0, pageErrors.join("; "));
  const longest = await page.evaluate(() => window.longestTask);
  console.log(`longest main-thread task ${Math.round(longest)} ms; thumbnails asked for ${thumbnails}`);
} finally {
  await browser.close();
}
finish();
