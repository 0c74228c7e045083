package lm

// Pre-tokenizers: how a byte-level BPE cuts text into words before merging inside
// each. GPT-2's (and GPT-NeoX's) is its ByteLevel pattern (tokNextWordLen in
// tokenizer.go); Llama 3's and Qwen's is a Split with another pattern, then
// ByteLevel without its own. Go's regexp has no lookahead, which both patterns
// use, so each is written out by hand, alternative by alternative, in the order
// the regex tries them.

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The Split patterns of the tokenizer.json files that load: Llama 3's groups
// digits by three, Qwen's (2, 2.5, 3) takes them one by one.
const (
	llama3Pattern = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	qwenPattern   = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
)

// splitter cuts the next word off a text.
type splitter struct {
	gpt2      bool // GPT-2's ByteLevel pattern
	maxDigits int  // the Split pattern's \p{N}{1,maxDigits}
}

// next returns the byte length of the first word of s (non-empty, valid UTF-8).
func (sp splitter) next(s string) int {
	if sp.gpt2 {
		return tokNextWordLen(s)
	}
	return splitWordLen(s, sp.maxDigits)
}

// parsePreTokenizer recognises tokenizer.json's pre_tokenizer.
func parsePreTokenizer(raw json.RawMessage) (splitter, error) {
	type byteLevel struct {
		Type     string `json:"type"`
		UseRegex *bool  `json:"use_regex"`
		Prefix   bool   `json:"add_prefix_space"`
	}
	var p struct {
		byteLevel
		Pretokenizers []struct {
			byteLevel
			Pattern struct {
				Regex string `json:"Regex"`
			} `json:"pattern"`
			Behavior string `json:"behavior"`
			Invert   bool   `json:"invert"`
		} `json:"pretokenizers"`
	}
	if len(raw) == 0 || string(raw) == "null" {
		return splitter{}, fmt.Errorf("pre_tokenizer is missing: a byte-level BPE needs one")
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return splitter{}, fmt.Errorf("pre_tokenizer: %w", err)
	}
	unsupported := fmt.Errorf("pre_tokenizer %s is not supported: GPT-2's ByteLevel, and Llama 3's and Qwen's Split + ByteLevel are", shorten(string(raw), 200))
	switch p.Type {
	case "ByteLevel":
		if (p.UseRegex != nil && !*p.UseRegex) || p.Prefix {
			return splitter{}, unsupported
		}
		return splitter{gpt2: true}, nil
	case "Sequence":
		if len(p.Pretokenizers) != 2 {
			return splitter{}, unsupported
		}
		split, bl := p.Pretokenizers[0], p.Pretokenizers[1]
		if split.Type != "Split" || split.Behavior != "Isolated" || split.Invert || bl.Type != "ByteLevel" || bl.UseRegex == nil || *bl.UseRegex || bl.Prefix {
			return splitter{}, unsupported
		}
		switch split.Pattern.Regex {
		case llama3Pattern:
			return splitter{maxDigits: 3}, nil
		case qwenPattern:
			return splitter{maxDigits: 1}, nil
		}
	}
	return splitter{}, unsupported
}

// splitWordLen is the first match of llama3Pattern (maxDigits 3) or qwenPattern
// (1) in s: the alternatives in order, the first that matches wins.
func splitWordLen(s string, maxDigits int) int {
	r0, n0 := utf8.DecodeRuneInString(s)
	// (?i:'s|'t|'re|'ve|'m|'ll|'d)
	if r0 == '\'' {
		rest := strings.ToLower(s[1:min(len(s), 3)])
		for _, c := range []string{"re", "ve", "ll", "s", "t", "m", "d"} {
			if strings.HasPrefix(rest, c) {
				return 1 + len(c)
			}
		}
	}
	// [^\r\n\p{L}\p{N}]?\p{L}+
	if unicode.IsLetter(r0) {
		return n0 + runLen(s[n0:], unicode.IsLetter, -1)
	}
	if r0 != '\r' && r0 != '\n' && !unicode.IsNumber(r0) {
		if r1, _ := utf8.DecodeRuneInString(s[n0:]); len(s) > n0 && unicode.IsLetter(r1) {
			return n0 + runLen(s[n0:], unicode.IsLetter, -1)
		}
	}
	// \p{N}{1,maxDigits}
	if unicode.IsNumber(r0) {
		return runLen(s, unicode.IsNumber, maxDigits)
	}
	// ?[^\s\p{L}\p{N}]+[\r\n]*
	other := func(r rune) bool { return !unicode.IsSpace(r) && !unicode.IsLetter(r) && !unicode.IsNumber(r) }
	start := 0
	if r0 == ' ' {
		start = 1
	}
	if n := runLen(s[start:], other, -1); n > 0 {
		end := start + n
		return end + runLen(s[end:], func(r rune) bool { return r == '\r' || r == '\n' }, -1)
	}
	// \s*[\r\n]+: the whitespace up to its last line break
	ws := runLen(s, unicode.IsSpace, -1)
	if last := strings.LastIndexAny(s[:ws], "\r\n"); last >= 0 {
		return last + 1
	}
	// \s+(?!\S), then \s+: a run of spaces leaves its last one to the word that follows
	if ws < len(s) {
		if _, size := utf8.DecodeLastRuneInString(s[:ws]); ws > size {
			return ws - size
		}
	}
	return ws
}

// runLen is the byte length of the longest prefix of s whose runes satisfy ok (at
// most max runes when max ≥ 0).
func runLen(s string, ok func(rune) bool, max int) int {
	n, count := 0, 0
	for _, r := range s {
		if !ok(r) || count == max {
			break
		}
		n += utf8.RuneLen(r)
		count++
	}
	return n
}

// parseBOS reads the post-processor's beginning-of-text token: a TemplateProcessing
// (alone, or in a Sequence after ByteLevel) whose single template is
// [SpecialToken, Sequence A]. -1 when it adds none.
func parseBOS(raw json.RawMessage, vocab map[string]int) (int, error) {
	type template struct {
		Type   string `json:"type"`
		Single []struct {
			SpecialToken *struct {
				ID string `json:"id"`
			} `json:"SpecialToken"`
			Sequence *struct {
				ID string `json:"id"`
			} `json:"Sequence"`
		} `json:"single"`
		Processors []json.RawMessage `json:"processors"`
	}
	if len(raw) == 0 || string(raw) == "null" {
		return -1, nil
	}
	var p template
	if err := json.Unmarshal(raw, &p); err != nil {
		return -1, fmt.Errorf("post_processor: %w", err)
	}
	switch p.Type {
	case "ByteLevel", "":
		return -1, nil
	case "Sequence":
		bos := -1
		for _, q := range p.Processors {
			id, err := parseBOS(q, vocab)
			if err != nil {
				return -1, err
			}
			bos = max(bos, id)
		}
		return bos, nil
	case "TemplateProcessing":
		s := p.Single
		switch {
		case len(s) == 1 && s[0].Sequence != nil:
			return -1, nil
		case len(s) == 2 && s[0].SpecialToken != nil && s[1].Sequence != nil:
			id, ok := vocab[s[0].SpecialToken.ID]
			if !ok {
				return -1, fmt.Errorf("post_processor: %q is not in the vocabulary", s[0].SpecialToken.ID)
			}
			return id, nil
		}
	}
	return -1, fmt.Errorf("post_processor %s is not supported (a BOS token before the text is)", shorten(string(raw), 200))
}

func shorten(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
