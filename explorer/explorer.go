// Package explorer is the lens explorer of `logitlens serve`: a local web page
// where one types a prompt and sees the logit-lens heatmap, switches the decoder
// (with or without ln_f), the metric, prompt or generation lens, reads the top-k
// of a cell on hover, clicks a cell to pin that token's probability across the
// layers as a line chart, and compares two prompts side by side.
//
// The page is served with the embedded ECharts (offline) and draws the charts the
// display package builds on the server, so token text is made inert exactly as in
// the notebooks and the CLI's HTML. The model loads in the background; the page
// says so until it is ready.
package explorer

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"net/http"
	"strings"
	"sync"

	"github.com/logitlens-go/logitlens/display"
	"github.com/logitlens-go/logitlens/lensnb"
)

//go:embed page.html
var pageHTML string

// MaxNewTokens bounds a generation lens asked for by the page.
const MaxNewTokens = 64

// Server answers the page and its requests.
type Server struct {
	mu      sync.Mutex // one lens at a time: the model's working memory stays bounded
	ready   chan struct{}
	m       *lensnb.Model
	loadErr error
	ref     string
}

// New starts loading the model with load (in the background) and returns the
// server; its Handler serves at once, and says "loading" until the model is there.
func New(ref string, load func() (*lensnb.Model, error)) *Server {
	s := &Server{ready: make(chan struct{}), ref: ref}
	go func() {
		defer close(s.ready)
		s.m, s.loadErr = load()
	}()
	return s
}

// Wait blocks until the model has loaded (or failed to).
func (s *Server) Wait() error {
	<-s.ready
	return s.loadErr
}

// Handler serves the page (/), its status (/api/status) and its charts (/api/lens, /api/pin).
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/", s.page)
	mux.HandleFunc("/api/status", s.status)
	mux.HandleFunc("/api/lens", s.lens)
	mux.HandleFunc("/api/pin", s.pin)
	return mux
}

func (s *Server) page(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'")
	page := strings.Replace(pageHTML, "<!--ECHARTS-->", display.EChartsScript(), 1)
	page = strings.Replace(page, "<!--REF-->", html.EscapeString(s.ref), 1)
	fmt.Fprint(w, page)
}

type statusReply struct {
	Ready bool   `json:"ready"`
	Model string `json:"model,omitempty"`
	Error string `json:"error,omitempty"`
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	select {
	case <-s.ready:
		if s.loadErr != nil {
			writeJSON(w, statusReply{Ready: true, Error: s.loadErr.Error()})
			return
		}
		writeJSON(w, statusReply{Ready: true, Model: s.m.Ref})
	default:
		writeJSON(w, statusReply{Ready: false})
	}
}

// Request is what the page asks for.
type Request struct {
	Prompt  string `json:"prompt"`
	Prompt2 string `json:"prompt2"` // compared side by side when set
	// Decoder is "ln_f" (the default: ln_f before lm_head) or "raw".
	Decoder string `json:"decoder"`
	// Metric is a lensnb.Metric name ("prob", "entropy", "kl_to_final", "rank_of_final", "next_prob").
	Metric string `json:"metric"`
	// Mode is "prompt" (columns are positions) or "generate" (columns are the Tokens generated tokens).
	Mode   string `json:"mode"`
	Tokens int    `json:"tokens"`
	// For /api/pin: which prompt (0 or 1), column and token.
	Side   int `json:"side"`
	Column int `json:"column"`
	Token  int `json:"token"`
}

// Part is one chart of a reply: its HTML fragment, and for a heatmap the top-1
// token id of every cell ([state][column]), so that a click can pin it.
type Part struct {
	HTML  string  `json:"html"`
	Top1  [][]int `json:"top1,omitempty"`
	Label string  `json:"label"`
}

type reply struct {
	Parts []Part `json:"parts,omitempty"`
	Error string `json:"error,omitempty"`
}

var metrics = map[string]lensnb.Metric{
	"prob": lensnb.MetricProb, "entropy": lensnb.MetricEntropy, "kl_to_final": lensnb.MetricKL,
	"rank_of_final": lensnb.MetricRankOfFinal, "next_prob": lensnb.MetricNextProb,
}

// decodeRequest reads the request and checks it; errors say what to change.
func (s *Server) decodeRequest(w http.ResponseWriter, r *http.Request) (*lensnb.Model, Request, bool) {
	var req Request
	if r.Method != http.MethodPost {
		w.WriteHeader(http.StatusMethodNotAllowed)
		writeJSON(w, reply{Error: "use POST with a JSON body"})
		return nil, req, false
	}
	select {
	case <-s.ready:
	default:
		w.WriteHeader(http.StatusServiceUnavailable)
		writeJSON(w, reply{Error: "the model is still loading; try again in a moment"})
		return nil, req, false
	}
	if s.loadErr != nil {
		writeJSON(w, reply{Error: s.loadErr.Error()})
		return nil, req, false
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&req); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		writeJSON(w, reply{Error: "bad request: " + err.Error()})
		return nil, req, false
	}
	if err := req.check(); err != nil {
		writeJSON(w, reply{Error: err.Error()})
		return nil, req, false
	}
	return s.m, req, true
}

func (q *Request) check() error {
	if strings.TrimSpace(q.Prompt) == "" {
		return errors.New("type a prompt first")
	}
	switch q.Decoder {
	case "", "ln_f", "raw":
	default:
		return fmt.Errorf("unknown decoder %q: use ln_f or raw", q.Decoder)
	}
	if q.Metric == "" {
		q.Metric = "prob"
	}
	if _, ok := metrics[q.Metric]; !ok {
		return fmt.Errorf("unknown metric %q", q.Metric)
	}
	switch q.Mode {
	case "", "prompt":
	case "generate":
		if q.Tokens < 1 || q.Tokens > MaxNewTokens {
			return fmt.Errorf("generate 1 to %d tokens, not %d", MaxNewTokens, q.Tokens)
		}
	default:
		return fmt.Errorf("unknown mode %q: use prompt or generate", q.Mode)
	}
	return nil
}

// metricLabels name the page's metrics in chart titles.
var metricLabels = map[string]string{
	"prob": "probability of the top-1 token", "entropy": "entropy (nats)", "kl_to_final": "KL(final ‖ layer), nats",
	"rank_of_final": "rank of the final top-1 token", "next_prob": "probability of the actual next token",
}

// title says what the heatmap shows: the decoder and the metric.
func (q Request) title() string {
	dec := "ln_f → lm_head"
	if q.Decoder == "raw" {
		dec = "raw states → lm_head"
	}
	return fmt.Sprintf("Logit lens (%s): %s", dec, metricLabels[q.Metric])
}

func (q Request) options(target *int) lensnb.Options {
	return lensnb.Options{NoFinalNorm: q.Decoder == "raw", TopK: 10, Target: target}
}

func (q Request) prompts() []string {
	if strings.TrimSpace(q.Prompt2) == "" {
		return []string{q.Prompt}
	}
	return []string{q.Prompt, q.Prompt2}
}

// run is the lens of one prompt as the request asks.
func run(m *lensnb.Model, q Request, prompt string, target *int) (*lensnb.Result, error) {
	if q.Mode == "generate" {
		return lensnb.Generate(m, prompt, q.Tokens, q.options(target))
	}
	return lensnb.Prompt(m, prompt, q.options(target))
}

func (s *Server) lens(w http.ResponseWriter, r *http.Request) {
	m, q, ok := s.decodeRequest(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out reply
	for i, p := range q.prompts() {
		res, err := run(m, q, p, nil)
		if err != nil {
			writeJSON(w, reply{Error: fmt.Sprintf("prompt %d: %v", i+1, err)})
			return
		}
		ch := display.Heatmap(res, display.HeatmapOptions{Metric: metrics[q.Metric], Title: q.title(), JS: display.JSNone, MaxVisibleColumns: 16})
		frag, err := ch.HTML()
		if err != nil {
			writeJSON(w, reply{Error: err.Error()})
			return
		}
		top := make([][]int, len(res.Cells))
		for st, row := range res.Cells {
			top[st] = make([]int, len(row))
			for c, cell := range row {
				top[st][c] = cell.Top[0].ID
			}
		}
		out.Parts = append(out.Parts, Part{HTML: frag, Top1: top, Label: p})
	}
	writeJSON(w, out)
}

func (s *Server) pin(w http.ResponseWriter, r *http.Request) {
	m, q, ok := s.decodeRequest(w, r)
	if !ok {
		return
	}
	prompts := q.prompts()
	if q.Side < 0 || q.Side >= len(prompts) {
		writeJSON(w, reply{Error: fmt.Sprintf("no prompt %d", q.Side+1)})
		return
	}
	if q.Token < 0 || q.Token >= m.Config.VocabSize {
		writeJSON(w, reply{Error: fmt.Sprintf("token id %d is outside the vocabulary", q.Token)})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	res, err := run(m, q, prompts[q.Side], lensnb.TokenID(q.Token))
	if err != nil {
		writeJSON(w, reply{Error: err.Error()})
		return
	}
	if q.Column < 0 || q.Column >= len(res.Columns) {
		writeJSON(w, reply{Error: fmt.Sprintf("column %d is outside 0..%d", q.Column, len(res.Columns)-1)})
		return
	}
	token := m.Tokenizer.TokenText(q.Token)
	title := fmt.Sprintf("P(%s) across the layers, column %d (%s)", display.VisibleToken(token), q.Column, display.VisibleToken(res.Columns[q.Column].Token))
	ch := display.Lines(res, display.LinesOptions{Metrics: []lensnb.Metric{lensnb.MetricTargetProb}, Columns: []int{q.Column}, Title: title, JS: display.JSNone, PanelHeight: 240, Width: 640})
	frag, err := ch.HTML()
	if err != nil {
		writeJSON(w, reply{Error: err.Error()})
		return
	}
	writeJSON(w, reply{Parts: []Part{{HTML: frag, Label: title}}})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(v)
}
