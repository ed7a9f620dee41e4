// What a person meets on poems-kg's pages, measured in a real browser (Debian's Chromium, driven by puppeteer-core):
// axe-core's WCAG 2 A/AA violations, page heights, what the first screen holds, and the pages' own behaviour.
// Usage: node pages.mjs CHROMIUM BASE_URL CLAIM_PATH  ->  one JSON object on stdout.
import { createRequire } from "node:module";
import puppeteer from "puppeteer-core";

const require = createRequire(import.meta.url);
const [chromium, base] = process.argv.slice(2);
const [claimPath] = process.argv.slice(4);
const PAGES = { home: "/", entity: "/entity/MONDO:0017364.html", claim: claimPath, source: "/source/poems-cause-summary.html",
                table: "/source/hpo-phenotype-annotations.html", query: "/sparql", results: "/sparql#run=disputed-claims",
                docs: "/docs" };
const browser = await puppeteer.launch({ executablePath: chromium, headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"] });
const out = { pages: {} };
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 800 });
  const open = async (path) => {  // from a blank page, so that a link differing only in its fragment loads anew
    await page.goto("about:blank");
    await page.goto(base + path, { waitUntil: "networkidle0" });
  };
  for (const [name, path] of Object.entries(PAGES)) {
    await open(path);
    if (name === "results") await page.waitForSelector(".yasr tbody tr", { timeout: 15000 });
    await page.addScriptTag({ path: require.resolve("axe-core/axe.min.js") });
    const result = await page.evaluate(() => axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa"] } }));
    out.pages[name] = {
      height: await page.evaluate(() => document.documentElement.scrollHeight),
      width: await page.evaluate(() => document.documentElement.scrollWidth),
      violations: result.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length })),
    };
  }
  // The home page's search: by identifier, and by a synonym.
  out.search = {};
  for (const words of ["MONDO:0017364", "somatic mutation"]) {
    await open(PAGES.home);
    await page.type("#entity-search", words);
    out.search[words] = await page.$$eval("#entities [data-terms]", (items) => items.filter((i) => !i.hidden).map((i) => i.querySelector("a").textContent));
  }
  // The entity page's first screen: the header card and the statement of the cause.
  await open(PAGES.entity);
  out.firstScreen = await page.evaluate(() => {
    const seen = (el) => !!el && el.getBoundingClientRect().top >= 0 && el.getBoundingClientRect().bottom <= window.innerHeight;
    return { card: seen(document.querySelector("#name")) && seen(document.querySelector("section.card dl")),
             cause: seen(document.querySelector("#mechanism li.claim")),
             causeText: document.querySelector("#mechanism li.claim")?.innerText.split("\n")[0] ?? "" };
  });
  // The phenotype table: sorted by frequency, most frequent first after two clicks; filtered by a word.
  const frequencies = () => page.$$eval("#feature-table tbody tr", (rows) => rows.map((r) => parseFloat(r.cells[1].dataset.value)));
  await page.click('#feature-table th button[data-sort="number"]');
  await page.click('#feature-table th button[data-sort="number"]');
  out.sorted = await frequencies();
  await page.type("#feature-filter", "neuropathy");
  out.filtered = await page.$$eval("#feature-table tbody tr", (rows) => rows.filter((r) => !r.hidden).map((r) => r.cells[0].innerText));
  // A #char= link lands on its passage: marked, and on the screen.
  const claim = await page.$eval("#inheritance li.claim blockquote a", (a) => a.getAttribute("href"));
  await open(claim);
  out.fragment = await page.evaluate(() => {
    const marked = Array.from(document.querySelectorAll(".target"));
    const box = marked.length ? marked[0].getBoundingClientRect() : null;
    return { href: window.location.hash, text: marked.map((m) => m.textContent).join(""),
             onScreen: !!box && box.top >= 0 && box.bottom <= window.innerHeight };
  });
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(out));
