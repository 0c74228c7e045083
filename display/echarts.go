package display

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// echartsVersion is the version of the embedded assets/echarts.min.js (Apache
// ECharts, Apache-2.0; see assets/LICENSE and assets/NOTICE). Refresh the copy
// with scripts/vendor-echarts.sh.
const echartsVersion = "5.6.0"

//go:embed assets/echarts.min.js
var echartsMinJS string

// CDNURL is where charts load ECharts from when their JS is JSCDN.
var CDNURL = "https://cdn.jsdelivr.net/npm/echarts@" + echartsVersion + "/dist/echarts.min.js"

// JS chooses where a chart's HTML gets the ECharts library from.
type JS int

const (
	// JSInline (the default) inlines the embedded copy of ECharts (~1 MB) into
	// the HTML: it works offline, in Jupyter Notebook, JupyterLab and exported
	// HTML. It is evaluated once per page however many charts carry it.
	JSInline JS = iota
	// JSCDN loads ECharts from CDNURL (through RequireJS where the page has it,
	// as Jupyter Notebook classic does): a small output that needs internet.
	JSCDN
	// JSNone adds no library: the chart waits (up to 30 s) for ECharts that an
	// earlier chart on the same page loaded.
	JSNone
)

// closeScript matches what would end a <script> element or open an HTML comment
// inside it (the HTML tokenizer's "script data escaped" states).
var closeScript = regexp.MustCompile(`(?i)</script|<!--|<script`)

// echartsLoader returns the <script> that defines window.__logitlensECharts from
// the embedded copy. The UMD bundle is wrapped in a function whose parameters
// shadow define/exports/module, so it takes its CommonJS branch and fills our
// object: RequireJS's global define (Jupyter Notebook classic) is never seen,
// which avoids its "mismatched anonymous define()" error, and no global other
// than window.__logitlensECharts (and window.echarts when free) is touched.
func echartsLoader() string {
	js := echartsMinJS
	if closeScript.MatchString(js) { // not the case for 5.6.0; keep the page intact anyway
		js = closeScript.ReplaceAllStringFunc(js, func(s string) string { return `<\` + s[1:] })
	}
	var b strings.Builder
	b.Grow(len(js) + 512)
	b.WriteString("<script>\n")
	fmt.Fprintf(&b, "if (!(window.__logitlensECharts && window.__logitlensECharts.version === %q)) {\n", echartsVersion)
	b.WriteString("(function (define, exports, module) {\n")
	b.WriteString(js)
	b.WriteString("\n}).call(window, undefined, (window.__logitlensECharts = {}), {});\n")
	b.WriteString("if (typeof window.echarts === \"undefined\") { window.echarts = window.__logitlensECharts; }\n")
	b.WriteString("}\n</script>\n")
	return b.String()
}

// runtimeJS is the small library every fragment carries (defined once per page):
// it loads ECharts when needed, finds the chart's div, adds the formatter
// functions (which escape every string they put into HTML) and draws.
const runtimeJS = `(function () {
  "use strict";
  var w = window;
  if (w.__logitlens && w.__logitlens.v >= 4) { return; }
  var L = { v: 4, waiting: [], loading: false, failed: "" };
  w.__logitlens = L;
  var ENT = { "&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;" };
  L.esc = function (s) {
    return String(s).replace(/[&<>"']/g, function (c) { return ENT[c]; });
  };
  L.num = function (v) {
    if (typeof v !== "number" || !isFinite(v)) { return "n/a"; }
    var a = Math.abs(v);
    if (a !== 0 && (a < 1e-3 || a >= 1e5)) { return v.toExponential(2); }
    if (Math.round(v) === v) { return String(v); }
    return v.toFixed(a < 10 ? 3 : a < 100 ? 2 : 1);
  };
  L.pct = function (p) {
    if (typeof p !== "number" || !isFinite(p)) { return "n/a"; }
    var v = 100 * p;
    return (v >= 10 ? v.toFixed(1) : v >= 0.1 ? v.toFixed(2) : v.toPrecision(2)) + "%";
  };
  L.ec = function () { return w.__logitlensECharts || null; };
  // L.word: the chart's own word for key in its language (meta.words), else English.
  L.word = function (meta, key, en) {
    var ws = meta && meta.words;
    return ws && typeof ws[key] === "string" ? ws[key] : en;
  };
  function flush() {
    var q = L.waiting, ec = L.ec();
    L.waiting = [];
    for (var i = 0; i < q.length; i++) { q[i](ec); }
  }
  function load(src) {
    var req = w.require, def = w.define;
    if (typeof req === "function" && typeof def === "function" && def.amd) {
      // RequireJS (Jupyter Notebook classic): let it load the UMD bundle.
      req([src], function (ec) { w.__logitlensECharts = ec; flush(); },
        function (err) { L.failed = "could not load " + src + ": " + err; flush(); });
      return;
    }
    var s = document.createElement("script");
    s.src = src;
    s.onload = function () { w.__logitlensECharts = w.echarts; flush(); };
    s.onerror = function () { L.failed = "could not load " + src; flush(); };
    document.head.appendChild(s);
  }
  L.withECharts = function (src, cb) {
    if (L.ec()) { cb(L.ec()); return; }
    L.waiting.push(cb);
    if (src) {
      if (!L.loading) { L.loading = true; load(src); }
      return;
    }
    var tries = 0;
    (function poll() {
      if (L.ec() || tries++ > 600) { flush(); return; }
      setTimeout(poll, 50);
    })();
  };
  L.hooks = {};
  L.hooks.heatmap = function (option, meta) {
    var labels = meta.labels;
    var label = function (p) { var v = p.value; return labels[v[1]][v[0]]; };
    for (var i = 0; i < option.series.length; i++) {
      if (option.series[i].label) { option.series[i].label.formatter = label; }
    }
    option.tooltip.formatter = function (p) {
      if (!p || p.componentType !== "series" || !p.value) { return ""; }
      var x = p.value[0], y = p.value[1];
      var col = meta.columns[x], top = meta.top[y][x];
      var h = "<div class=\"logitlens-tip\" style=\"font:12px/1.45 sans-serif\">";
      h += "<b>" + L.esc(meta.states[y]) + "</b> &middot; " + L.esc(meta.columnWord) + " " + L.esc(col.pos) + "<br>";
      if (meta.generate) {
        h += L.esc(L.word(meta, "generated", "generated")) + " <code>" + L.esc(col.tok) + "</code>";
      } else {
        h += L.esc(L.word(meta, "token", "token")) + " <code>" + L.esc(col.tok) + "</code>";
        if (col.next !== null) { h += " &rarr; " + L.esc(L.word(meta, "next", "next")) + " <code>" + L.esc(col.next) + "</code>"; }
      }
      h += "<br>" + L.esc(meta.metricLabel) + ": <b>" + L.num(meta.values[y][x]) + "</b>";
      h += "<table style=\"border-collapse:collapse;margin-top:4px\">";
      for (var k = 0; k < top.length; k++) {
        var hit = col.nextId !== null && top[k][2] === col.nextId;
        h += "<tr><td style=\"padding:0 6px 0 0;color:#888\">" + (k + 1) + "</td>" +
          "<td style=\"padding:0 8px 0 0\"><code>" + L.esc(top[k][0]) + "</code>" + (hit ? " &#10003;" : "") + "</td>" +
          "<td style=\"text-align:right\">" + L.pct(top[k][1]) + "</td></tr>";
      }
      return h + "</table></div>";
    };
    var vm = option.visualMap && option.visualMap[0];
    if (vm) {
      vm.formatter = meta.log ?
        function (v) { return L.num(Math.round(Math.pow(10, v) - 1)); } :
        function (v) { return L.num(v); };
    }
  };
  L.hooks.lines = function (option, meta) {
    option.tooltip.formatter = function (ps) {
      if (!ps) { return ""; }
      if (!Array.isArray(ps)) { ps = [ps]; }
      if (!ps.length) { return ""; }
      var g = meta.grids[ps[0].axisIndex || 0] || meta.grids[0];
      var h = "<div class=\"logitlens-tip\" style=\"font:12px/1.45 sans-serif\"><b>" +
        L.esc(meta.states[ps[0].dataIndex]) + "</b> &middot; " + L.esc(g.label);
      for (var i = 0; i < ps.length; i++) {
        var v = Array.isArray(ps[i].value) ? ps[i].value[1] : ps[i].value;
        if (g.log && typeof v === "number") { v = v - 1; }
        h += "<br><span style=\"display:inline-block;width:9px;height:9px;border-radius:5px;margin-right:5px;background:" +
          L.esc(ps[i].color) + "\"></span>" + L.esc(ps[i].seriesName) + ": <b>" + L.num(v) + "</b>";
      }
      return h + "</div>";
    };
    for (var j = 0; j < option.yAxis.length; j++) {
      if (meta.grids[j] && meta.grids[j].log) {
        option.yAxis[j].axisLabel = option.yAxis[j].axisLabel || {};
        option.yAxis[j].axisLabel.formatter = function (v) { return L.num(Math.round(v - 1)); };
      }
    }
  };
  L.hooks.matrix = function (option, meta) {
    var labels = meta.labels;
    option.series[0].label.formatter = function (p) { var v = p.value; return labels[v[1]][v[0]]; };
    option.tooltip.formatter = function (p) {
      if (!p || p.componentType !== "series" || !p.value) { return ""; }
      var x = p.value[0], y = p.value[1], v = meta.values[y][x];
      var h = "<div class=\"logitlens-tip\" style=\"font:12px/1.45 sans-serif\">";
      h += "<b>" + L.esc(meta.rows[y]) + "</b> &middot; " + L.esc(meta.colWord) + " " + L.esc(x) +
        " <code>" + L.esc(meta.cols[x]) + "</code><br>" + L.esc(meta.valueLabel) + ": <b>" + L.num(v) + "</b>";
      if (meta.total && typeof meta.total[x] === "number") {
        h += "<br>" + L.esc(L.word(meta, "logitThere", "the logit there")) + ": " + L.num(meta.total[x]);
      }
      return h + "</div>";
    };
    var vm = option.visualMap && option.visualMap[0];
    if (vm) { vm.formatter = function (v) { return L.num(v); }; }
  };
  L.hooks.bars = function (option, meta) {
    option.tooltip.formatter = function (p) {
      if (!p || p.componentType !== "series") { return ""; }
      return "<div class=\"logitlens-tip\" style=\"font:12px/1.45 sans-serif\"><b>" + L.esc(meta.names[p.dataIndex]) +
        "</b>: " + L.num(meta.values[p.dataIndex]) + "</div>";
    };
  };
  L.mount = function (id, kind, option, meta, src) {
    var tries = 0;
    function go(ec) {
      var el = document.getElementById(id);
      if (!ec) {
        if (el) { el.style.height = "auto"; el.textContent = "logitlens: " + L.word(meta, "noECharts", "ECharts did not load") + (L.failed ? " (" + L.failed + ")" : ""); }
        return;
      }
      // The output may not be in the page (or laid out) yet: wait a little.
      if ((!el || !el.offsetWidth) && tries++ < 100) { setTimeout(function () { go(ec); }, 50); return; }
      if (!el) { return; }
      var chart = ec.getInstanceByDom(el) || ec.init(el, null, { renderer: meta.renderer || "canvas" });
      L.hooks[kind](option, meta);
      chart.setOption(option, true);
      if (w.ResizeObserver) { new w.ResizeObserver(function () { chart.resize(); }).observe(el); }
      el.setAttribute("data-logitlens-ready", "1");
    }
    L.withECharts(src, go);
  };
})();
`

// scriptJSON marshals v for a JavaScript object literal inside a <script>
// element: encoding/json escapes '<', '>' and '&' (as \u003c …) and U+2028 and
// U+2029, so no string from a token can end the script or break the literal.
func scriptJSON(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("display: encoding chart data: %w", err)
	}
	s := string(b)
	if strings.ContainsAny(s, "<>&\u2028\u2029") { // cannot happen with encoding/json; belt and braces
		return "", fmt.Errorf("display: unescaped characters in chart data")
	}
	return s, nil
}

// EChartsScript returns a <script> that loads the embedded copy of ECharts into a
// page once, for pages that add charts later (each with JSNone), such as the
// explorer of `logitlens serve`.
func EChartsScript() string { return echartsLoader() }
