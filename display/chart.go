package display

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"strings"
	"sync/atomic"
)

// Fragment is anything that renders to a self-contained HTML fragment: a
// *Chart, a *Table or an *Image. Show and WritePage take Fragments.
type Fragment interface {
	HTML() (string, error)
}

// Chart is an interactive ECharts chart (a heatmap or line charts), built with
// go-echarts and rendered by this package: the option is embedded as a JSON
// object literal, and the formatters, which escape every token, are added in
// JavaScript.
type Chart struct {
	// Title is the chart's title (also the page title of Page / WritePage).
	Title string
	// JS chooses where the HTML gets ECharts from (JSInline by default).
	JS JS

	id            string
	kind          string // a hook of runtimeJS: "heatmap" or "lines"
	width, height int    // pixels
	option        map[string]any
	meta          any
	err           error // from the constructor; returned by HTML, Page, WritePage
}

// ID returns the id of the chart's <div>; unique per chart (random per process,
// so charts from different notebook cells do not collide).
func (c *Chart) ID() string { return c.id }

// Size returns the chart's size in pixels.
func (c *Chart) Size() (width, height int) { return c.width, c.height }

// Err returns the error the constructor met (bad options or an inconsistent
// Result), or nil; HTML, Page and WritePage return it too.
func (c *Chart) Err() error { return c.err }

// Option returns a copy of the ECharts option as plain JSON values, without
// the JavaScript formatter functions (for tests and custom rendering).
func (c *Chart) Option() map[string]any {
	out, _ := toPlain(c.option)
	m, _ := out.(map[string]any)
	return m
}

var (
	idPrefix  = newIDPrefix()
	idCounter atomic.Int64
)

func newIDPrefix() string {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "x"
	}
	return hex.EncodeToString(b[:])
}

func newID() string {
	return fmt.Sprintf("logitlens-%s-%d", idPrefix, idCounter.Add(1))
}

// toPlain converts go-echarts option structs (or anything JSON-able) into plain
// maps, slices, strings, numbers and booleans, so they can be completed here.
func toPlain(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// optionOf validates a go-echarts chart and returns its option as plain JSON
// values. go-echarts' own renderer is not used: it writes the option into the
// page unescaped and turns any string containing "__f__" into code, which a
// token could exploit.
func optionOf(c interface {
	Validate()
	JSON() map[string]interface{}
}) (map[string]any, error) {
	c.Validate()
	plain, err := toPlain(c.JSON())
	if err != nil {
		return nil, fmt.Errorf("display: building the chart option: %w", err)
	}
	m, ok := plain.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("display: the chart option is not an object")
	}
	return m, nil
}

// HTML returns a self-contained HTML fragment for inline display in a notebook
// (GoNB, Jupyter Notebook, JupyterLab, exported HTML): a <div> with a unique
// id, ECharts (per c.JS) and a script that draws the chart into the div.
func (c *Chart) HTML() (string, error) { return c.fragment(c.JS) }

func (c *Chart) fragment(js JS) (string, error) {
	if c.err != nil {
		return "", c.err
	}
	opt, err := scriptJSON(c.option)
	if err != nil {
		return "", err
	}
	meta, err := scriptJSON(c.meta)
	if err != nil {
		return "", err
	}
	id, _ := scriptJSON(c.id)
	kind, _ := scriptJSON(c.kind)
	src := "null"
	if js == JSCDN {
		if src, err = scriptJSON(CDNURL); err != nil {
			return "", err
		}
	}
	var b strings.Builder
	b.Grow(len(opt) + len(meta) + len(runtimeJS) + 512)
	fmt.Fprintf(&b, "<div class=\"logitlens-chart\" style=\"max-width:100%%;overflow-x:auto\">\n")
	fmt.Fprintf(&b, "<div id=\"%s\" style=\"width:%dpx;height:%dpx\" title=\"%s\"></div>\n",
		html.EscapeString(c.id), c.width, c.height, html.EscapeString(c.Title))
	if js == JSInline {
		b.WriteString(echartsLoader())
	}
	b.WriteString("<script>\n")
	b.WriteString(runtimeJS)
	fmt.Fprintf(&b, "window.__logitlens.mount(%s, %s,\n%s,\n%s,\n%s);\n", id, kind, opt, meta, src)
	b.WriteString("</script>\n</div>\n")
	return b.String(), nil
}

// Page returns a standalone HTML page with the chart (what the CLI's --html writes).
func (c *Chart) Page() (string, error) {
	var b strings.Builder
	if err := c.WritePage(&b); err != nil {
		return "", err
	}
	return b.String(), nil
}

// WritePage writes a standalone HTML page with the chart to w.
func (c *Chart) WritePage(w io.Writer) error { return WritePage(w, c.Title, c) }

// WritePage writes a standalone HTML page with the given title and parts (charts,
// tables, images) to w. ECharts is inlined once, before the first chart that
// needs it (unless every chart uses JSCDN or JSNone).
func WritePage(w io.Writer, title string, parts ...Fragment) error {
	var b strings.Builder
	b.WriteString("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
	b.WriteString("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
	fmt.Fprintf(&b, "<title>%s</title>\n", html.EscapeString(title))
	b.WriteString("<style>body{font-family:sans-serif;margin:16px;color:#222}" +
		".logitlens-part{margin:0 0 24px 0}</style>\n</head>\n<body>\n")
	inlined := false
	for _, p := range parts {
		if p == nil {
			continue
		}
		var frag string
		var err error
		if c, ok := p.(*Chart); ok {
			js := c.JS
			if js == JSInline {
				if inlined {
					js = JSNone
				}
				inlined = true
			}
			frag, err = c.fragment(js)
		} else {
			frag, err = p.HTML()
		}
		if err != nil {
			return err
		}
		b.WriteString("<div class=\"logitlens-part\">\n")
		b.WriteString(frag)
		b.WriteString("</div>\n")
	}
	b.WriteString("</body>\n</html>\n")
	_, err := io.WriteString(w, b.String())
	return err
}
