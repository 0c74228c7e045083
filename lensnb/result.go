// Package lensnb is the logit lens as a program that asks for it sees it — a
// notebook cell, the CLI, the explorer: it decodes every hidden state of GPT-2
// (each layer's residual stream) into a next-token distribution and measures it —
// top-k tokens, entropy, KL to the final layer, ranks — over prompt positions or
// over generated tokens. It also offers an nnsight-style tracing API to read and
// patch activations (see Trace), direct logit attribution, activation patching,
// lens comparisons and the tuned lens.
//
// A Model is a config and a tokenizer here and its weights behind an Engine: the
// lens engine in this process (package engine), or a model server (OpenModel,
// package resident) — one seam, typed on both sides, with the same results and
// errors either way. This package links no GoMLX, so a notebook cell that uses it
// builds in well under a second; the result types here are what both sides share.
package lensnb

import "math"

// TokenProb is one entry of a top-k list.
type TokenProb struct {
	ID    int     `json:"id"`
	Token string  `json:"token"`
	Prob  float64 `json:"prob"`
	Logit float64 `json:"logit"`
}

// Cell is what one hidden state predicts at one column (a position or a generated token).
type Cell struct {
	// Top are the k most likely next tokens, most likely first (ties: lower id first).
	Top []TokenProb `json:"top"`
	// Entropy of the decoded distribution, in nats.
	Entropy float64 `json:"entropy"`
	// KLToFinal is KL(final ‖ this state) in nats: how far this state's distribution is
	// from the model's output at the same column. Zero for the final state.
	KLToFinal float64 `json:"kl_to_final"`
	// RankOfFinal is the 0-based rank, in this state, of the final state's top-1 token.
	RankOfFinal int `json:"rank_of_final"`
	// FinalTopLogit is this state's logit for the final state's top-1 token, and
	// FinalProb its probability (exact, whether or not it is in this state's top-k).
	FinalTopLogit float64 `json:"final_top1_logit"`
	FinalProb     float64 `json:"final_prob"`
	// Next* describe the actual next token (the following input token, or the token
	// generated at this step). At the last prompt position there is none: NextID and
	// NextRank are -1 and NextProb and CrossEntropy 0 (Value reports NaN there).
	NextID       int     `json:"next_id"`
	NextProb     float64 `json:"next_prob"`
	NextRank     int     `json:"next_rank"`
	CrossEntropy float64 `json:"cross_entropy"`
	// TopIsNext says whether this state's top-1 token is already the actual next token.
	TopIsNext bool `json:"top1_is_next"`
	// TargetProb and TargetRank are set when Options.Target names a token (else 0, -1).
	TargetProb float64 `json:"target_prob,omitempty"`
	TargetRank int     `json:"target_rank,omitempty"`
}

// Column is one column of the lens: a prompt position or a generated token.
type Column struct {
	// ID and Token are the input token at this position (prompt lens) or the token
	// generated at this step (generation lens).
	ID    int    `json:"id"`
	Token string `json:"token"`
	// Position in the sequence whose hidden states this column decodes.
	Position int `json:"position"`
	// NextID / NextToken: the actual next token (-1 / "" when there is none).
	NextID    int    `json:"next_id"`
	NextToken string `json:"next_token"`
}

// Result is a full logit lens: Cells[state][column].
type Result struct {
	Model     string `json:"model"`
	Backend   string `json:"backend"`
	FinalNorm bool   `json:"final_norm"`
	// Lens is "tuned" for the tuned lens (Options.Tuned), empty for the logit lens.
	Lens string `json:"lens,omitempty"`
	// Mode is "prompt" (columns are prompt positions) or "generate" (columns are
	// generated tokens).
	Mode         string   `json:"mode"`
	InputIDs     []int    `json:"input_ids"`
	Tokens       []string `json:"tokens"`
	GeneratedIDs []int    `json:"generated_ids"`
	// States names each row: "embeddings", "blocks.0", …, with "blocks.{i}.resid_mid"
	// (after attention, before the MLP) when asked for.
	States  []string `json:"states"`
	Columns []Column `json:"columns"`
	Cells   [][]Cell `json:"cells"`
	// TopK is the length of every cell's Top list; Target the id of Options.Target or -1.
	TopK   int `json:"topk"`
	Target int `json:"target"`
	// Attribution, when set (the CLI's --attribute), is the direct logit
	// attribution of the same prompt, exported with the lens.
	Attribution *Attribution `json:"attribution,omitempty"`
}

// Top1 returns the top-1 token text of every cell, [state][column].
func (r *Result) Top1() [][]string {
	out := make([][]string, len(r.Cells))
	for s, row := range r.Cells {
		out[s] = make([]string, len(row))
		for c, cell := range row {
			out[s][c] = cell.Top[0].Token
		}
	}
	return out
}

// Metric names a per-cell number, for tables, heatmaps and line charts.
type Metric string

const (
	MetricProb        Metric = "prob"          // probability of this state's top-1 token
	MetricEntropy     Metric = "entropy"       // nats
	MetricKL          Metric = "kl_to_final"   // nats
	MetricRankOfFinal Metric = "rank_of_final" // 0 = agrees with the final layer
	MetricFinalLogit  Metric = "final_logit"   // logit of the final top-1 token
	MetricFinalProb   Metric = "final_prob"    // probability of the final top-1 token
	MetricNextProb    Metric = "next_prob"     // probability of the actual next token
	MetricNextRank    Metric = "next_rank"
	MetricTargetProb  Metric = "target_prob"
)

// Metrics lists every Metric.
var Metrics = []Metric{MetricProb, MetricEntropy, MetricKL, MetricRankOfFinal, MetricFinalLogit, MetricFinalProb, MetricNextProb, MetricNextRank, MetricTargetProb}

// Value returns the cell's value for metric m (NaN where it does not exist, e.g.
// the next-token probability at the last prompt position).
func (c *Cell) Value(m Metric) float64 {
	switch m {
	case MetricProb:
		return c.Top[0].Prob
	case MetricEntropy:
		return c.Entropy
	case MetricKL:
		return c.KLToFinal
	case MetricRankOfFinal:
		return float64(c.RankOfFinal)
	case MetricFinalLogit:
		return c.FinalTopLogit
	case MetricFinalProb:
		return c.FinalProb
	case MetricNextProb:
		if c.NextID < 0 {
			return math.NaN()
		}
		return c.NextProb
	case MetricNextRank:
		if c.NextID < 0 {
			return math.NaN()
		}
		return float64(c.NextRank)
	case MetricTargetProb:
		return c.TargetProb
	}
	return math.NaN()
}

// Matrix returns metric m for every cell, [state][column].
func (r *Result) Matrix(m Metric) [][]float64 {
	out := make([][]float64, len(r.Cells))
	for s, row := range r.Cells {
		out[s] = make([]float64, len(row))
		for c := range row {
			out[s][c] = row[c].Value(m)
		}
	}
	return out
}
