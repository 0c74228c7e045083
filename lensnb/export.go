package lensnb

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
)

// SchemaVersion is written into every JSON export.
const SchemaVersion = 1

// WriteJSON writes the lens as JSON:
//
//	{"schema_version": 1, "model": "...", "backend": "...", "final_norm": true,
//	 "mode": "prompt"|"generate", "input_ids": [...], "tokens": [...],
//	 "generated_ids": [...], "states": ["embeddings", "blocks.0", ...],
//	 "columns": [{"id", "token", "position", "next_id", "next_token"}, ...],
//	 "cells": [[{"top": [{"id", "token", "prob", "logit"}, ...], "entropy",
//	            "kl_to_final", "rank_of_final", "final_top1_logit", "final_prob", "next_id",
//	            "next_prob", "next_rank", "cross_entropy", "top1_is_next",
//	            "target_prob"?, "target_rank"?}, ...], ...],   // cells[state][column]
//	 "topk": 5, "target": -1,
//	 "attribution"?: {...}}   // with the CLI's --attribute: see Attribution.WriteJSON
//
// Probabilities are in [0,1], entropies, KL and cross-entropy in nats, ranks 0-based;
// next_id is -1 (and next_rank -1) where no next token exists.
func (r *Result) WriteJSON(w io.Writer) error {
	out := struct {
		SchemaVersion int `json:"schema_version"`
		*Result
	}{SchemaVersion, r}
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("lens json: %w", err)
	}
	return nil
}

// ReadJSON reads a lens written by WriteJSON.
func ReadJSON(rd io.Reader) (*Result, error) {
	var r Result
	if err := json.NewDecoder(rd).Decode(&r); err != nil {
		return nil, fmt.Errorf("lens json: %w", err)
	}
	if len(r.Cells) != len(r.States) {
		return nil, fmt.Errorf("lens json: %d rows of cells for %d states", len(r.Cells), len(r.States))
	}
	return &r, nil
}

// WriteCSV writes one line per cell: state, column, position, token, next token,
// top-1 token and probability, entropy, KL, ranks, then the top-k ids/tokens/probs.
func (r *Result) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	header := []string{"state", "column", "position", "token", "next_token", "top1_token", "top1_prob",
		"entropy", "kl_to_final", "rank_of_final", "final_top1_logit", "final_prob", "next_prob", "next_rank", "cross_entropy", "top1_is_next"}
	if r.Lens != "" {
		header = append(header, "lens") // "tuned": a tuned lens's file says so on every line
	}
	if r.Target >= 0 {
		header = append(header, "target_prob", "target_rank")
	}
	for i := 1; i <= r.TopK; i++ {
		header = append(header, fmt.Sprintf("top%d_id", i), fmt.Sprintf("top%d_token", i), fmt.Sprintf("top%d_prob", i))
	}
	if err := cw.Write(header); err != nil {
		return err
	}
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', 8, 64) }
	for s, row := range r.Cells {
		for c, cell := range row {
			col := r.Columns[c]
			rec := []string{r.States[s], strconv.Itoa(c), strconv.Itoa(col.Position), col.Token, col.NextToken,
				cell.Top[0].Token, f(cell.Top[0].Prob), f(cell.Entropy), f(cell.KLToFinal), strconv.Itoa(cell.RankOfFinal),
				f(cell.FinalTopLogit), f(cell.FinalProb), "", "", "", ""}
			if cell.NextID >= 0 {
				rec[12], rec[13], rec[14], rec[15] = f(cell.NextProb), strconv.Itoa(cell.NextRank), f(cell.CrossEntropy), strconv.FormatBool(cell.TopIsNext)
			}
			if r.Lens != "" {
				rec = append(rec, r.Lens)
			}
			if r.Target >= 0 {
				rec = append(rec, f(cell.TargetProb), strconv.Itoa(cell.TargetRank))
			}
			for _, tp := range cell.Top {
				rec = append(rec, strconv.Itoa(tp.ID), tp.Token, f(tp.Prob))
			}
			if err := cw.Write(rec); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}
