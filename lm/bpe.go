package lm

// Byte-level BPE on one word, written here rather than taken from go-huggingface's
// hftokenizer: that package links an HTTP client and part of GoMLX (its hub
// download code), which every notebook cell would then link, and we already split
// the words ourselves (see tokenizer.go). What is left is small: the vocabulary,
// the merge ranks, and the merge loop of OpenAI's encoder.py.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"unicode/utf8"
)

// bpe holds a byte-level BPE vocabulary and its merges.
type bpe struct {
	vocab  map[string]int // byte-level spelling → id
	tokens []string       // id → byte-level spelling
	added  map[int]bool   // ids of added tokens: decoded as written, not as bytes
	ranks  map[string]int // "left\x00right" → merge priority (lower first)
	// ignoreMerges: a word that is a token of the vocabulary as a whole is that
	// token, merges or not (Llama 3's tokenizer.json asks for it).
	ignoreMerges bool

	cacheMu sync.RWMutex
	cache   map[string][]int // word → ids
}

// bpeCacheMax bounds the words a tokenizer remembers.
const bpeCacheMax = 1 << 16

// newBPE reads tokenizer.json's model.vocab, model.merges (either "a b" strings or
// ["a", "b"] pairs) and added tokens. The ids must be 0..n-1, each used once.
func newBPE(vocabJSON json.RawMessage, merges []json.RawMessage, added map[string]int) (*bpe, error) {
	var vocab map[string]int
	if err := json.Unmarshal(vocabJSON, &vocab); err != nil {
		return nil, fmt.Errorf("model vocab: %w", err)
	}
	for tok, id := range added {
		if old, ok := vocab[tok]; ok && old != id {
			return nil, fmt.Errorf("added token %q has id %d, the vocab %d", tok, id, old)
		}
		vocab[tok] = id
	}
	if len(vocab) == 0 {
		return nil, errors.New("empty vocabulary")
	}
	b := &bpe{vocab: vocab, tokens: make([]string, len(vocab)), added: map[int]bool{}, ranks: make(map[string]int, len(merges)), cache: map[string][]int{}}
	seen := make([]bool, len(vocab))
	for tok, id := range vocab {
		if id < 0 || id >= len(vocab) || seen[id] {
			return nil, fmt.Errorf("token %q has id %d; want each id in 0..%d used once", tok, id, len(vocab)-1)
		}
		seen[id] = true
		b.tokens[id] = tok
	}
	for _, id := range added {
		b.added[id] = true
	}
	for i, raw := range merges {
		pair, err := mergePair(raw)
		if err != nil {
			return nil, fmt.Errorf("merge %d is neither \"a b\" nor [\"a\", \"b\"]: %s", i, raw)
		}
		if len(pair) != 2 || pair[0] == "" || pair[1] == "" {
			return nil, fmt.Errorf("merge %d is not a pair: %s", i, raw)
		}
		key := pair[0] + "\x00" + pair[1]
		if _, dup := b.ranks[key]; !dup {
			b.ranks[key] = i
		}
	}
	return b, nil
}

// mergePair reads one merge: "a b" or ["a", "b"]. Plain strings (no escapes:
// nearly all of them) are cut out directly; a notebook cell loads the tokenizer
// every time it runs, and 50,000 calls of json.Unmarshal took most of its load.
func mergePair(raw json.RawMessage) ([]string, error) {
	plain := func(s []byte) (string, bool) {
		if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' || bytes.IndexByte(s[1:len(s)-1], '\\') >= 0 || bytes.IndexByte(s[1:len(s)-1], '"') >= 0 {
			return "", false
		}
		return string(s[1 : len(s)-1]), true
	}
	raw = bytes.TrimSpace(raw)
	if s, ok := plain(raw); ok {
		return strings.Split(s, " "), nil
	}
	if len(raw) > 0 && raw[0] == '[' {
		if a, b, ok := bytes.Cut(bytes.TrimSpace(raw[1:len(raw)-1]), []byte(",")); ok && raw[len(raw)-1] == ']' {
			x, okx := plain(bytes.TrimSpace(a))
			y, oky := plain(bytes.TrimSpace(b))
			if okx && oky {
				return []string{x, y}, nil
			}
		}
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return strings.Split(s, " "), nil
	}
	var pair []string
	err := json.Unmarshal(raw, &pair)
	return pair, err
}

// encodeWord returns the ids of one word spelt in the byte-level alphabet: its
// characters, merged pair by pair, the pair of lowest rank first (every place it
// occurs, left to right), until no pair of the merges is left.
func (b *bpe) encodeWord(word string) ([]int, error) {
	b.cacheMu.RLock()
	ids, ok := b.cache[word]
	b.cacheMu.RUnlock()
	if ok {
		return ids, nil
	}
	if id, ok := b.vocab[word]; ok && b.ignoreMerges {
		return []int{id}, nil
	}
	syms := make([]string, 0, utf8.RuneCountInString(word))
	for i, r := range word {
		syms = append(syms, word[i:i+utf8.RuneLen(r)])
	}
	next := make([]string, 0, len(syms))
	for len(syms) > 1 {
		best, at := math.MaxInt, -1
		for i := 0; i+1 < len(syms); i++ {
			if r, ok := b.ranks[syms[i]+"\x00"+syms[i+1]]; ok && r < best {
				best, at = r, i
			}
		}
		if at < 0 {
			break
		}
		left, right := syms[at], syms[at+1]
		next = next[:0]
		for i := 0; i < len(syms); i++ {
			if i+1 < len(syms) && syms[i] == left && syms[i+1] == right {
				next = append(next, left+right)
				i++
				continue
			}
			next = append(next, syms[i])
		}
		syms, next = next, syms
	}
	ids = make([]int, len(syms))
	for i, s := range syms {
		id, ok := b.vocab[s]
		if !ok {
			return nil, fmt.Errorf("tokenizer: %q is not in the vocabulary (the merges and the vocab disagree)", s)
		}
		ids[i] = id
	}
	b.cacheMu.Lock()
	if len(b.cache) < bpeCacheMax {
		b.cache[word] = ids
	}
	b.cacheMu.Unlock()
	return ids, nil
}

// decode returns the bytes of ids: each token's byte-level characters mapped back
// to bytes, an added token as written. Ids outside the vocabulary are skipped.
func (b *bpe) decode(ids []int) string {
	var out []byte
	for _, id := range ids {
		if id < 0 || id >= len(b.tokens) {
			continue
		}
		tok := b.tokens[id]
		if b.added[id] {
			out = append(out, tok...)
			continue
		}
		for _, r := range tok {
			if c, ok := tokRuneToByte[r]; ok {
				out = append(out, c)
			} else {
				out = utf8.AppendRune(out, r) // not a byte-level symbol: as written
			}
		}
	}
	return string(out)
}

// tokRuneToByte inverts tokByteToRune.
var tokRuneToByte = func() map[rune]byte {
	m := make(map[rune]byte, 256)
	for b := 0; b < 256; b++ {
		m[tokByteToRune[b]] = byte(b)
	}
	return m
}()
