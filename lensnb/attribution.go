package lensnb

// Direct logit attribution (DLA): which part of the model wrote a logit. The
// result's types are here; the engine computes it (engine/attribution.go has the
// mathematics: ln_f's scale frozen, each component's c·u/σ).

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
)

// Attribution is the direct logit attribution of one prompt, at every position,
// for one token or a logit difference between two tokens.
type Attribution struct {
	Model    string   `json:"model"`
	InputIDs []int    `json:"input_ids"`
	Tokens   []string `json:"tokens"`
	// Token is the token whose logit is attributed; with a Versus token (≥ 0) it is
	// the logit difference Token − Versus. Versus is -1 for a single logit.
	Token      int    `json:"token"`
	TokenText  string `json:"token_text"`
	Versus     int    `json:"versus"`
	VersusText string `json:"versus_text,omitempty"`
	// Components names the rows of Direct, in the order they write into the
	// residual stream: "embed", "pos_embed", then "blocks.{i}.attn" and
	// "blocks.{i}.mlp" for each block.
	Components []string `json:"components"`
	// Direct[c][t] is component c's direct contribution at position t.
	Direct [][]float64 `json:"direct"`
	// Bias[t] is ln_f's bias term (b · direction): the part of the logit no
	// component wrote. Σ_c Direct[c][t] + Bias[t] = Logit[t].
	Bias []float64 `json:"bias"`
	// Logit[t] is the model's own logit (or logit difference) at position t.
	Logit []float64 `json:"logit"`
	// Heads[i][h][t] is head h of block i's contribution at position t, and
	// HeadBias[i][t] that of c_proj's bias: Σ_h Heads[i][h][t] + HeadBias[i][t] is
	// the "blocks.{i}.attn" row of Direct.
	Heads    [][][]float64 `json:"heads"`
	HeadBias [][]float64   `json:"head_bias"`
	// Scale[t] is σ, ln_f's frozen scale at position t (√(var + ε) of the final
	// residual stream).
	Scale []float64 `json:"scale"`
	// Lens[s][t] is the logit lens's value of the same logit (or difference) at
	// state s (0: the embeddings, i+1: the output of block i) and position t: ln_f
	// applied with that state's own scale StateScale[s][t]. The running sum of the
	// components up to a state is the same thing with the final scale instead:
	// (Lens[s][t] − Bias[t])·StateScale[s][t] = (RunningSum(t)[s] − Bias[t])·Scale[t].
	Lens       [][]float64 `json:"lens"`
	StateScale [][]float64 `json:"state_scale"`
}

// Attribute computes the direct logit attribution of prompt (tokenised) for one
// token (one argument) or for the logit difference between two (first − second),
// each given as text that must be exactly one token, e.g. " Paris", " Rome".
func Attribute(m *Model, prompt string, tokens ...string) (*Attribution, error) {
	ids, err := m.Tokenizer.Encode(prompt)
	if err != nil {
		return nil, fmt.Errorf("attribute: %w", err)
	}
	targets := make([]int, len(tokens))
	for i, tok := range tokens {
		if targets[i], err = SingleToken(m, tok); err != nil {
			return nil, fmt.Errorf("attribute: %w", err)
		}
	}
	return AttributeIDs(m, ids, targets...)
}

// SingleToken returns the id of text, which must encode to exactly one token.
func SingleToken(m *Model, text string) (int, error) {
	ids, err := m.Tokenizer.Encode(text)
	if err != nil {
		return 0, err
	}
	if len(ids) != 1 {
		parts := make([]string, len(ids))
		for i, id := range ids {
			parts[i] = fmt.Sprintf("%q", m.Tokenizer.TokenText(id))
		}
		return 0, fmt.Errorf("%q is %d tokens %v, not one: give a single token (GPT-2 words usually start with a space, e.g. \" Paris\")", text, len(ids), parts)
	}
	return ids[0], nil
}

// AttributeIDs is Attribute for token ids: one target token, or two for the logit
// difference targets[0] − targets[1].
func AttributeIDs(m *Model, ids []int, targets ...int) (*Attribution, error) {
	e, err := m.engine()
	if err != nil {
		return nil, err
	}
	return e.Attribute(ids, targets)
}

// Position returns the attribution at position t (negative: from the end, -1 is the
// last) as one list: each component's contribution, the bias term and the logit.
func (a *Attribution) Position(t int) (AttributionAt, error) {
	t, err := a.index(t)
	if err != nil {
		return AttributionAt{}, err
	}
	at := AttributionAt{Position: t, Token: a.Tokens[t], Bias: a.Bias[t], Logit: a.Logit[t]}
	for c, name := range a.Components {
		at.Components = append(at.Components, Contribution{Name: name, Value: a.Direct[c][t]})
	}
	for i := range a.Heads {
		for h := range a.Heads[i] {
			at.Heads = append(at.Heads, Contribution{Name: fmt.Sprintf("blocks.%d.attn.head.%d", i, h), Value: a.Heads[i][h][t]})
		}
	}
	return at, nil
}

// AttributionAt is the attribution at one position.
type AttributionAt struct {
	Position   int            `json:"position"`
	Token      string         `json:"token"`
	Components []Contribution `json:"components"`
	Heads      []Contribution `json:"heads"`
	Bias       float64        `json:"bias"`
	Logit      float64        `json:"logit"`
}

// Contribution is one named part's direct contribution to a logit.
type Contribution struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
}

// RunningSum returns, at position t, the logit as the components so far would give
// it: entry 0 after the embeddings (embed + pos_embed), entry i+1 after block i
// (its attention and MLP added), each plus the bias term. The last entry is the
// model's logit. It is the logit lens's logit at the same states, except that the
// lens normalises each state by its own scale, while this uses the final one.
func (a *Attribution) RunningSum(t int) ([]float64, error) {
	t, err := a.index(t)
	if err != nil {
		return nil, err
	}
	sum := a.Bias[t] + a.Direct[0][t] + a.Direct[1][t]
	out := []float64{sum}
	for c := 2; c < len(a.Direct); c += 2 {
		sum += a.Direct[c][t] + a.Direct[c+1][t]
		out = append(out, sum)
	}
	return out, nil
}

// index resolves position t (negative: from the end) or says it is outside.
func (a *Attribution) index(t int) (int, error) {
	i := t
	if i < 0 {
		i += len(a.InputIDs)
	}
	if i < 0 || i >= len(a.InputIDs) {
		return 0, fmt.Errorf("attribution: position %d is outside the prompt (positions 0..%d, or -1 for the last)", t, len(a.InputIDs)-1)
	}
	return i, nil
}

// WriteJSON writes the attribution as JSON: {"schema_version": 1, "model",
// "input_ids", "tokens", "token", "token_text", "versus", "versus_text"?,
// "components", "direct": [[...]] (direct[component][position]), "bias", "logit",
// "heads": [[[...]]] (heads[block][head][position]), "head_bias", "scale"}, in
// logit units (versus is -1 for a single logit).
func (a *Attribution) WriteJSON(w io.Writer) error {
	out := struct {
		SchemaVersion int `json:"schema_version"`
		*Attribution
	}{SchemaVersion, a}
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("attribution json: %w", err)
	}
	return nil
}

// WriteCSV writes one line per value: kind ("component", "head", "head_bias",
// "bias" or "logit"), name, block (-1 where none), head (-1 where none), position,
// token, value.
func (a *Attribution) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"kind", "name", "block", "head", "position", "token", "value"}); err != nil {
		return err
	}
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', 8, 64) }
	row := func(kind, name string, block, head, t int, v float64) error {
		return cw.Write([]string{kind, name, strconv.Itoa(block), strconv.Itoa(head), strconv.Itoa(t), a.Tokens[t], f(v)})
	}
	for t := range a.InputIDs {
		for c, name := range a.Components {
			block := -1
			if c >= 2 {
				block = (c - 2) / 2
			}
			if err := row("component", name, block, -1, t, a.Direct[c][t]); err != nil {
				return err
			}
		}
		for i := range a.Heads {
			for h := range a.Heads[i] {
				if err := row("head", fmt.Sprintf("blocks.%d.attn.head.%d", i, h), i, h, t, a.Heads[i][h][t]); err != nil {
					return err
				}
			}
			if err := row("head_bias", fmt.Sprintf("blocks.%d.attn.c_proj.bias", i), i, -1, t, a.HeadBias[i][t]); err != nil {
				return err
			}
		}
		if err := row("bias", "ln_f.bias", -1, -1, t, a.Bias[t]); err != nil {
			return err
		}
		if err := row("logit", "logit", -1, -1, t, a.Logit[t]); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
