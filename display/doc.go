// Package display draws logit lens results (lensnb.Result) for notebooks, the
// CLI and files:
//
//   - Heatmap: an interactive ECharts heatmap (built with go-echarts): states
//     as rows (embeddings at the bottom, the final layer on top), positions as
//     columns labelled with their tokens, the actual next token on a top axis
//     (✓ where the final layer's top-1 is that token), cells coloured by a metric
//     on a diverging palette with a settable midpoint (RdYlBu_r around 0.5 by
//     default) and labelled with the top-1 token; hovering lists the top-k.
//     Long prompts scroll and zoom (dataZoom).
//   - Lines: per-position line charts over the layers, tuned-lens style
//     (probability of the final token, entropy, KL to the final layer, rank).
//   - PlanStatic: the same heatmap as data for a static picture, which package
//     display/static draws as a PNG or SVG with gonum/plot (a package of its own,
//     so that programs that draw none — most notebook cells — do not link it).
//   - SummaryTable and TopKTable: HTML tables of the model card and of one
//     cell's top-k tokens.
//
// Every chart and table renders to a self-contained HTML fragment (HTML) for
// inline display, or to a standalone page (Chart.Page, WritePage). Show and the
// Show* helpers display them in GoNB through gonbui; outside GoNB they do
// nothing.
//
// The charts work offline: the Apache ECharts bundle (assets/echarts.min.js,
// Apache-2.0, see assets/LICENSE and assets/NOTICE) is embedded with go:embed
// and inlined, loaded in a way that works with and without RequireJS (Jupyter
// Notebook classic), in JupyterLab and in nbconvert's HTML export; JSCDN makes
// the output small at the price of needing internet.
//
// The words the package adds — default titles, subtitles, axis and colour-bar
// names, tooltips, table headers and notes, row names such as "blocks.3" — are
// English by default; SetLanguage(Russian) makes every chart and table built
// afterwards speak Russian (the practicum's notebooks do so), and StateLabel
// gives the same row names for text the caller prints.
//
// Tokens are untrusted text: they are shown with whitespace made visible
// (VisibleToken: "␣cats", "↵"), embedded as escaped JSON object literals (never
// parsed from strings), drawn as plain text on the canvas, and HTML-escaped in
// tooltips and tables, so a token such as "</script><img src=x onerror=…>"
// shows as text and runs nothing.
package display
