#!/usr/bin/env node
// Opens logitlens HTML pages in headless Debian chromium (through playwright-core,
// installed by scripts/install-browser.sh) with the network cut off, and prints
// one JSON verdict on stdout for the Go tests (display/browser_test.go) to judge.
//
//   node scripts/browsercheck/check.js spec.json
//
// spec.json: {"screenshotDir": "out/test-screenshots", "pages": [{"name": "heatmap",
//   "file": "/abs/page.html", "hover": [{"chart": 0, "x": 3, "y": 12}],
//   "allowRequests": ["file:///abs/echarts.min.js"]}]}
//
// For every page the verdict reports: the charts found (div id, whether the
// runtime marked it ready, the option's axis data, the texts ECharts actually
// drew, non-blank canvas pixels), what each hover showed in the tooltip, alert
// dialogs, page errors, console errors, blocked network requests, window.__pwned
// (which the hostile test tokens would set) and the RequireJS calls a page records
// in window.__amdCalls / window.__requireCalls, plus the screenshot paths.
"use strict";

const fs = require("fs");
const os = require("os");
const path = require("path");

const ROOT = path.resolve(__dirname, "..", "..");

function fail(msg) {
  process.stdout.write(JSON.stringify({ ok: false, error: String(msg) }) + "\n");
  process.exit(2);
}

let chromium;
try {
  ({ chromium } = require(path.join(ROOT, "node_modules", "playwright-core")));
} catch (e) {
  fail("playwright-core is not installed (run scripts/install-browser.sh): " + e.message);
}

const FLAGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
  "--disable-dev-shm-usage", "--hide-scrollbars", "--force-color-profile=srgb",
];

async function inspectCharts(page) {
  return page.evaluate(() => {
    const ec = window.__logitlensECharts || window.echarts;
    const out = [];
    for (const el of document.querySelectorAll(".logitlens-chart > div[id]")) {
      const r = { id: el.id, ready: el.getAttribute("data-logitlens-ready") === "1", text: el.textContent };
      const inst = ec && ec.getInstanceByDom ? ec.getInstanceByDom(el) : null;
      r.instance = !!inst;
      if (inst) {
        const opt = inst.getOption();
        r.xAxis = (opt.xAxis || []).map((a) => a.data || null);
        r.yAxis = (opt.yAxis || []).map((a) => a.data || null);
        r.series = (opt.series || []).map((s) => ({ type: s.type, name: s.name, n: (s.data || []).length }));
        r.dataZoom = (opt.dataZoom || []).map((z) => ({ type: z.type, startValue: z.startValue, endValue: z.endValue }));
        // Every text ECharts drew (labels, axis labels, titles), from zrender's display list.
        const texts = new Set();
        for (const d of inst.getZr().storage.getDisplayList(true)) {
          if (d.style && typeof d.style.text === "string" && d.style.text !== "") { texts.add(d.style.text); }
        }
        r.drawnTexts = Array.from(texts);
        r.zrRich = inst.getZr().storage.getDisplayList(true).filter((d) => d.style && d.style.rich).length;
      }
      let painted = 0, total = 0;
      for (const cv of el.querySelectorAll("canvas")) {
        const ctx = cv.getContext("2d");
        const img = ctx.getImageData(0, 0, cv.width, cv.height).data;
        for (let i = 0; i < img.length; i += 4) {
          total++;
          if (img[i + 3] > 0 && (img[i] < 245 || img[i + 1] < 245 || img[i + 2] < 245)) { painted++; }
        }
      }
      r.canvasPixels = total;
      r.paintedPixels = painted;
      r.svgNodes = el.querySelectorAll("svg *").length;
      out.push(r);
    }
    return out;
  });
}

async function hover(page, h) {
  const pos = await page.evaluate((h) => {
    const ec = window.__logitlensECharts || window.echarts;
    const el = document.querySelectorAll(".logitlens-chart > div[id]")[h.chart || 0];
    const inst = ec.getInstanceByDom(el);
    const finder = h.grid !== undefined ? { gridIndex: h.grid } : { seriesIndex: 0 };
    const px = inst.convertToPixel(finder, [h.x, h.y]);
    const rect = el.getBoundingClientRect();
    return { x: rect.left + px[0], y: rect.top + px[1] };
  }, h);
  // Leave the previous chart (its tooltip hides), then approach the cell.
  await page.mouse.move(1, 1);
  await page.waitForTimeout(100);
  await page.mouse.move(pos.x - 30, pos.y - 30);
  await page.mouse.move(pos.x, pos.y, { steps: 4 });
  let tip = null;
  for (let i = 0; i < 40 && !tip; i++) {
    await page.waitForTimeout(50);
    tip = await page.evaluate((n) => {
      const el = document.querySelectorAll(".logitlens-chart > div[id]")[n];
      for (const t of el.querySelectorAll(".logitlens-tooltip")) {
        const st = getComputedStyle(t);
        if (st.display !== "none" && st.visibility !== "hidden" && st.opacity !== "0" && t.innerText.trim() !== "") {
          return { text: t.innerText, html: t.innerHTML, imgs: t.querySelectorAll("img,svg,script,iframe").length };
        }
      }
      return null;
    }, h.chart || 0);
  }
  return { at: pos, want: h, tooltip: tip };
}

async function checkPage(ctx, spec, shotDir) {
  const page = await ctx.newPage();
  const res = { name: spec.name, dialogs: [], pageErrors: [], consoleErrors: [], blocked: [], hovers: [], screenshots: [] };
  page.on("dialog", async (d) => { res.dialogs.push(d.type() + ": " + d.message()); await d.dismiss().catch(() => {}); });
  page.on("pageerror", (e) => res.pageErrors.push(String(e && e.message || e)));
  page.on("console", (m) => { if (m.type() === "error") { res.consoleErrors.push(m.text()); } });
  await page.setViewportSize({ width: spec.width || 1500, height: spec.height || 900 });
  const url = "file://" + path.resolve(spec.file);
  const allowed = new Set([url].concat(spec.allowRequests || []));
  await page.route("**/*", (route) => {
    const u = route.request().url();
    if (allowed.has(u) || u.startsWith("data:")) { return route.continue(); }
    res.blocked.push(u);
    return route.abort();
  });
  const t0 = Date.now();
  await page.goto(url, { waitUntil: "load" });
  // Wait for every chart to be drawn (or to give up).
  await page.waitForFunction(() => {
    const els = document.querySelectorAll(".logitlens-chart > div[id]");
    return els.length > 0 && Array.from(els).every((e) => e.getAttribute("data-logitlens-ready") === "1" || e.textContent !== "");
  }, null, { timeout: spec.timeoutMs || 15000 }).catch((e) => res.pageErrors.push("waiting for charts: " + e.message));
  await page.waitForTimeout(80); // let progressive rendering finish a frame
  res.loadMs = Date.now() - t0;
  res.charts = await inspectCharts(page);
  const shot = path.join(shotDir, spec.name + ".png");
  await page.screenshot({ path: shot, fullPage: true });
  res.screenshots.push(shot);
  for (const h of spec.hover || []) {
    const hv = await hover(page, h).catch((e) => ({ want: h, error: e.message }));
    res.hovers.push(hv);
    if (h.screenshot) {
      const p = path.join(shotDir, spec.name + "-" + h.screenshot + ".png");
      await page.screenshot({ path: p, fullPage: true });
      res.screenshots.push(p);
    }
  }
  const flags = await page.evaluate(() => ({
    pwned: window.__pwned === undefined ? null : String(window.__pwned),
    amdCalls: window.__amdCalls || null,
    requireCalls: window.__requireCalls || null,
    injected: document.querySelectorAll("img[src='x'], img[onerror], svg[onload]").length,
    title: document.title,
  }));
  Object.assign(res, flags);
  await page.close();
  return res;
}

async function main() {
  const specFile = process.argv[2];
  if (!specFile) { fail("usage: check.js spec.json"); }
  const spec = JSON.parse(fs.readFileSync(specFile, "utf8"));
  const shotDir = path.resolve(spec.screenshotDir || path.join(ROOT, "out", "test-screenshots"));
  fs.mkdirSync(shotDir, { recursive: true });
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), "logitlens-chromium-"));
  let ctx;
  try {
    ctx = await chromium.launchPersistentContext(userDir, {
      executablePath: spec.chromium || "/usr/bin/chromium",
      headless: true,
      args: FLAGS,
      deviceScaleFactor: 1,
      timeout: 60000,
    });
    const pages = [];
    for (const p of spec.pages) { pages.push(await checkPage(ctx, p, shotDir)); }
    process.stdout.write(JSON.stringify({ ok: true, browser: ctx.browser() ? ctx.browser().version() : "", pages }) + "\n");
  } catch (e) {
    fail(e && e.stack || e);
  } finally {
    if (ctx) { await ctx.close().catch(() => {}); }
    fs.rmSync(userDir, { recursive: true, force: true });
  }
}

main();
