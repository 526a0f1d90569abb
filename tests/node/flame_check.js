// flame_check.js — opens a lockprof flame graph (SVG or HTML) in Debian's Chromium through playwright-core, uses
// it the way a person would (hover, click to zoom, reset, search) and prints what it saw as one JSON object on
// standard output; tests/integration/test_flamegraph.py asserts on it. The script judges nothing itself.
//
// usage: NODE_PATH=<node_modules of scripts/setup-node.sh> node flame_check.js '<json options>'
//   {"file": "/abs/flame.svg", "hover": "frame name", "zoom": "frame name", "search": "regexp",
//    "screenshot": "/abs/out.png"}        (hover, zoom, search and screenshot are optional)
"use strict";
const fs = require("fs");
const os = require("os");
const path = require("path");
const { chromium } = require("playwright-core");

const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync"];

// Installed in the page: true when neither the element nor a caller's <g> is display:none (checkVisibility()
// does not look at SVG elements' display).
const SHOWN = `window.shown = (el) => {
  for (; el && el.nodeType === 1; el = el.parentNode) if (getComputedStyle(el).display === "none") return false;
  return true;
};`;

// Everything the page shows about its frames, read from the DOM.
function snapshot(page) {
  return page.evaluate(() => {
    const frames = [];
    for (const g of document.querySelectorAll("#lpf-frames g.lpf-f")) {
      const rect = g.querySelector(":scope > rect"), text = g.querySelector(":scope > text");
      const title = g.querySelector(":scope > title").textContent;
      const visible = shown(g);
      let labelWidth = 0;
      if (visible && text.textContent) labelWidth = text.getBBox().width;
      frames.push({
        name: title.slice(0, title.lastIndexOf("\n")), info: title.slice(title.lastIndexOf("\n") + 1),
        label: text.textContent, x: +rect.getAttribute("x"), width: +rect.getAttribute("width"),
        y: +rect.getAttribute("y"), fill: rect.getAttribute("fill"), visible, labelWidth,
        parent: g.parentNode.classList.contains("lpf-f") ? g.parentNode.querySelector(":scope > title").textContent
          .split("\n")[0] : null,
        all: g.classList.contains("lpf-all"), dimmed: g.classList.contains("lpf-anc"),
      });
    }
    const svg = document.getElementById("lpf-svg");
    const text = (id) => { const e = document.getElementById(id); return e ? e.textContent : null; };
    const reset = document.getElementById("lpf-reset");
    return {
      frames, width: +svg.getAttribute("data-width"), pad: +svg.getAttribute("data-pad"),
      highlight: svg.getAttribute("data-highlight"), details: text("lpf-details"), matched: text("lpf-matched"),
      title: text("lpf-title") || text("lpf-page-title"), resetVisible: !reset.classList.contains("lpf-hide"),
      hasSearchInput: !!document.getElementById("lpf-search-input"),
    };
  });
}

// The widest frame called `name`, as a locator of its rectangle.
async function frameRect(page, name) {
  const index = await page.evaluate((name) => {
    let best = -1, bestWidth = -1, i = 0;
    for (const g of document.querySelectorAll("#lpf-frames g.lpf-f")) {
      const t = g.querySelector(":scope > title").textContent, w = +g.querySelector(":scope > rect").getAttribute("width");
      if (t.slice(0, t.lastIndexOf("\n")) === name && w > bestWidth && shown(g)) {
        best = i;
        bestWidth = w;
      }
      i++;
    }
    return best;
  }, name);
  return index < 0 ? null : page.locator("#lpf-frames g.lpf-f").nth(index).locator(":scope > rect");
}

async function main() {
  const opts = JSON.parse(process.argv[2]);
  const out = { errors: [], requests: [] };
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "lockprof-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: "/usr/bin/chromium", headless: true, args: ARGS, viewport: { width: 1300, height: 900 },
  });
  try {
    const page = context.pages()[0] || await context.newPage();
    page.on("pageerror", (e) => out.errors.push(String(e)));
    page.on("console", (m) => { if (m.type() === "error") out.errors.push(m.text()); });
    page.on("request", (r) => { if (!r.url().startsWith("file:")) out.requests.push(r.url()); });
    await page.goto("file://" + opts.file);
    await page.evaluate(SHOWN);
    out.initial = await snapshot(page);

    if (opts.hover) {
      const rect = await frameRect(page, opts.hover);
      if (rect) {
        await rect.hover();
        out.hover = (await snapshot(page)).details;
        await page.mouse.move(1, 1);
        out.afterHover = (await snapshot(page)).details;
      }
    }
    if (opts.zoom) {
      const rect = await frameRect(page, opts.zoom);
      if (rect) {
        await rect.click();
        out.zoomed = await snapshot(page);
        await page.locator("#lpf-reset").click();
        out.reset = await snapshot(page);
      }
    }
    if (opts.search) {
      if (out.initial.hasSearchInput) {
        await page.locator("#lpf-search-input").fill(opts.search);
      } else {
        page.once("dialog", (d) => d.accept(opts.search));
        await page.locator("#lpf-search").click();
      }
      out.searched = await snapshot(page);
      if (out.initial.hasSearchInput) await page.locator("#lpf-search-clear").click();
      else await page.locator("#lpf-search").click(); // "Clear search"
      out.cleared = await snapshot(page);
    }
    // (a full-page screenshot never completes on an SVG document: the viewport is big enough for one)
    if (opts.screenshot) await page.screenshot({ path: opts.screenshot, fullPage: !opts.file.endsWith(".svg") });
  } finally {
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
  process.stdout.write(JSON.stringify(out) + "\n");
}

main().catch((e) => {
  process.stderr.write(String(e && e.stack || e) + "\n");
  process.exit(1);
});
