#!/usr/bin/env node
// Drives the lens explorer of `logitlens serve` (explorer/) in headless Debian
// chromium, as a person would, with every request outside the explorer's origin
// blocked; prints one JSON verdict for explorer/browser_test.go to judge.
//
//   node scripts/browsercheck/explorer.js http://127.0.0.1:PORT/ SCREENSHOT_DIR
//
// Steps: wait for the first heatmap; type a prompt and submit (the chart redraws
// with its tokens); switch the metric (redraws with another colour scale title);
// hover a cell (its tooltip's top-k); click a cell (a pinned line chart appears);
// compare two prompts (two heatmaps side by side); a prompt that is markup stays
// text; an empty prompt shows the error message.
"use strict";

const fs = require("fs");
const os = require("os");
const path = require("path");

const ROOT = path.resolve(__dirname, "..", "..");
const out = { ok: false, steps: {}, pageErrors: [], blocked: [] };

function done(extra) {
  Object.assign(out, extra || {});
  process.stdout.write(JSON.stringify(out) + "\n");
}

let chromium;
try {
  ({ chromium } = require(path.join(ROOT, "node_modules", "playwright-core")));
} catch (e) {
  done({ error: "playwright-core is not installed (run scripts/install-browser.sh): " + e.message });
  process.exit(2);
}

// charts describes every drawn chart: its side, x-axis labels, title texts.
async function charts(page) {
  return page.evaluate(() => {
    const ec = window.__logitlensECharts;
    return [...document.querySelectorAll(".logitlens-chart > div[id]")].map((el) => {
      const inst = ec && ec.getInstanceByDom(el);
      const side = el.closest("[data-side]");
      const r = { ready: el.getAttribute("data-logitlens-ready") === "1", side: side ? side.getAttribute("data-side") : null, pinned: !!el.closest("#pinned") };
      if (inst) {
        const opt = inst.getOption();
        r.x = (opt.xAxis || []).map((a) => a.data || null)[0];
        r.titles = (opt.title || []).map((t) => [t.text, t.subtext].join(" | "));
        r.visualMap = (opt.visualMap || []).map((v) => v.text || null);
      }
      return r;
    });
  });
}

async function settle(page, pred, what) {
  const t0 = Date.now();
  for (;;) {
    const cs = await charts(page);
    const busy = await page.evaluate(() => document.getElementById("status").className === "busy");
    if (!busy && pred(cs)) { return cs; }
    if (Date.now() - t0 > 60000) { throw new Error("timed out waiting for " + what + ": " + JSON.stringify(cs)); }
    await page.waitForTimeout(100);
  }
}

// cellPoint is the page position of heatmap cell (col, state) of the idx-th chart.
async function cellPoint(page, idx, col, state) {
  return page.evaluate(([idx, col, state]) => {
    const el = document.querySelectorAll(".logitlens-chart > div[id]")[idx];
    const inst = window.__logitlensECharts.getInstanceByDom(el);
    const p = inst.convertToPixel({ seriesIndex: 0 }, [col, state]);
    const r = el.getBoundingClientRect();
    return { x: r.left + p[0], y: r.top + p[1] };
  }, [idx, col, state]);
}

async function main() {
  const url = process.argv[2];
  const shots = process.argv[3] || path.join(ROOT, "out", "test-screenshots");
  fs.mkdirSync(shots, { recursive: true });
  const origin = new URL(url).origin;
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), "logitlens-chromium-"));
  let ctx;
  try {
    ctx = await chromium.launchPersistentContext(userDir, {
      executablePath: "/usr/bin/chromium", headless: true, timeout: 60000, deviceScaleFactor: 1,
      viewport: { width: 1600, height: 1200 },
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-dev-shm-usage"],
    });
    const page = await ctx.newPage();
    await page.route("**/*", (route) => {
      const u = route.request().url();
      if (u.startsWith(origin) || u.startsWith("data:")) { return route.continue(); }
      out.blocked.push(u);
      return route.abort();
    });
    page.on("pageerror", (e) => out.pageErrors.push(String(e)));
    page.on("dialog", (d) => { out.pageErrors.push("dialog: " + d.message()); d.dismiss(); });
    await page.goto(url);

    const first = await settle(page, (cs) => cs.length === 1 && cs[0].ready, "the first heatmap");
    out.steps.first = first[0];

    await page.fill("#prompt", "The quick brown fox");
    await page.click("#run");
    const typed = await settle(page, (cs) => cs.length === 1 && cs[0].ready && JSON.stringify(cs[0].x) !== JSON.stringify(first[0].x), "the redraw after typing");
    out.steps.typed = typed[0];

    await page.selectOption("#metric", "entropy");
    const metric = await settle(page, (cs) => cs.length === 1 && cs[0].ready && JSON.stringify(cs[0].titles) !== JSON.stringify(typed[0].titles), "the redraw after the metric switch");
    out.steps.metric = metric[0];

    await page.selectOption("#decoder", "raw");
    const raw = await settle(page, (cs) => cs.length === 1 && cs[0].ready && JSON.stringify(cs[0].titles) !== JSON.stringify(metric[0].titles), "the redraw after the decoder switch");
    out.steps.decoder = raw[0];

    const pt = await cellPoint(page, 0, 2, 1);
    await page.mouse.move(1, 1);
    await page.mouse.move(pt.x, pt.y, { steps: 4 });
    await page.waitForTimeout(400);
    out.steps.hover = await page.evaluate(() => {
      const tips = [...document.querySelectorAll(".logitlens-tip, .logitlens-tooltip")].map((t) => t.textContent).filter((t) => t);
      return tips.join("\n");
    });

    await page.mouse.click(pt.x, pt.y);
    const pinned = await settle(page, (cs) => cs.some((c) => c.pinned && c.ready), "the pinned line chart");
    out.steps.pinned = pinned.find((c) => c.pinned);

    await page.fill("#prompt2", "The slow brown dog");
    await page.click("#run");
    const sides = await settle(page, (cs) => cs.filter((c) => c.side !== null && c.ready).length === 2, "two heatmaps side by side");
    out.steps.compare = sides.map((c) => c.side);
    out.steps.compareLayout = await page.evaluate(() => {
      const s = [...document.querySelectorAll("#charts > .side")].map((e) => e.getBoundingClientRect());
      return s.length === 2 ? { sameRow: Math.abs(s[0].top - s[1].top) < 5, secondRight: s[1].left > s[0].left } : null;
    });
    await page.screenshot({ path: path.join(shots, "explorer.png"), fullPage: true });

    await page.fill("#prompt2", "");
    await page.fill("#prompt", "<img src=x onerror=\"window.__pwned=1\"><script>window.__pwned=2</script>");
    await page.click("#run");
    await settle(page, (cs) => cs.length === 1 && cs[0].ready, "the hostile prompt's heatmap");
    out.steps.hostile = await page.evaluate(() => ({ pwned: window.__pwned || null, heading: document.querySelector(".side h3").textContent, imgs: document.querySelectorAll("#charts img").length }));

    await page.fill("#prompt", "   ");
    await page.click("#run");
    await page.waitForFunction(() => document.getElementById("error").textContent.length > 0, null, { timeout: 30000 });
    out.steps.error = await page.evaluate(() => document.getElementById("error").textContent);
    out.ok = true;
  } catch (e) {
    out.error = String(e && e.stack || e);
  } finally {
    if (ctx) { await ctx.close().catch(() => {}); }
    fs.rmSync(userDir, { recursive: true, force: true });
  }
  done();
}

main();
