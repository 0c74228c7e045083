package lm

// This file is GPT-2's tokenizer: text -> token ids -> text.
//
// GPT-2 tokenizes in three steps (OpenAI's encoder.py, Hugging Face's
// ByteLevel pre-tokenizer with use_regex, tiktoken's "gpt2" encoding):
//
//  1. split out special tokens ("<|endoftext|>" -> 50256);
//  2. split the rest into words with the pattern
//     's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//  3. map each word's UTF-8 bytes to printable characters (space -> "Ġ",
//     newline -> "Ċ", ...) and apply the BPE merges inside each word.
//
// All three are done here (bpe.go has step 3's merges). go-huggingface's
// hftokenizer, which this file used before, gets step 2 wrong for GPT-2 (v0.4.12:
// its ByteLevel pre-tokenizer ignores use_regex and splits only before each
// space: "end.\n\nNew" gave ĊĊ (628) instead of GPT-2's Ċ Ċ (198 198); "I''m"
// merged "''"), and it links an HTTP client and part of GoMLX into every program
// that tokenizes — every notebook cell.
//
// Decoding replaces invalid UTF-8 (ids that stop in the middle of a character)
// with U+FFFD as Hugging Face does; a byte symbol missing from the vocab is an
// error at load (GPT-2 has no unk token).

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/logitlens-go/logitlens/internal/gpt2vocab"
	"golang.org/x/text/unicode/norm"
)

// Tokenizer is a byte-level BPE — GPT-2's, GPT-NeoX's, Llama 3's or Qwen's —
// loaded from a model folder's tokenizer.json.
// It is safe for concurrent use.
type Tokenizer struct {
	bpe       *bpe     // BPE on one byte-level word (bpe.go)
	split     splitter // the pre-tokenizer (pretokenize.go)
	nfc       bool     // NFC-normalise the text first (Qwen)
	bos       int      // prepended by Encode when the post-processor says so; -1: none
	special   []string // added tokens (e.g. "<|endoftext|>"), longest first
	vocabSize int
	eos       int
	source    []byte // the tokenizer.json it was built from, written back when a model is saved (Source)
}

// tokEndOfText is GPT-2's end-of-text token; it is 50256 in GPT-2's vocabulary.
const tokEndOfText = "<|endoftext|>"

// LoadTokenizer reads the tokenizer of the model folder dir: dir/tokenizer.json,
// or, if that is missing, one built from dir/vocab.json and dir/merges.txt.
func LoadTokenizer(dir string) (*Tokenizer, error) {
	data, err := readTokenizerJSON(dir)
	if err != nil {
		return nil, fmt.Errorf("load tokenizer %s: %w", dir, err)
	}
	t, err := newTokenizer(data)
	if err != nil {
		return nil, fmt.Errorf("load tokenizer %s: %w", dir, err)
	}
	return t, nil
}

// readTokenizerJSON returns dir/tokenizer.json, or one built from
// dir/vocab.json + dir/merges.txt. Errors say which file is missing and wrap
// fs.ErrNotExist when one is.
func readTokenizerJSON(dir string) ([]byte, error) {
	st, err := os.Stat(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("model folder does not exist: %w", err)
		}
		return nil, err
	}
	if !st.IsDir() {
		return nil, errors.New("not a model folder (it is a file)")
	}
	data, err := os.ReadFile(filepath.Join(dir, "tokenizer.json"))
	if err == nil {
		return data, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read tokenizer.json: %w", err)
	}
	// No tokenizer.json: build it from the older vocab.json + merges.txt pair.
	vocab, verr := os.ReadFile(filepath.Join(dir, "vocab.json"))
	merges, merr := os.ReadFile(filepath.Join(dir, "merges.txt"))
	switch {
	case errors.Is(verr, fs.ErrNotExist) && errors.Is(merr, fs.ErrNotExist):
		return nil, fmt.Errorf("no tokenizer.json, and no vocab.json + merges.txt to build one from: %w", fs.ErrNotExist)
	case errors.Is(verr, fs.ErrNotExist):
		return nil, fmt.Errorf("no tokenizer.json, and vocab.json is missing (merges.txt alone is not enough): %w", fs.ErrNotExist)
	case errors.Is(merr, fs.ErrNotExist):
		return nil, fmt.Errorf("no tokenizer.json, and merges.txt is missing (vocab.json alone is not enough): %w", fs.ErrNotExist)
	case verr != nil:
		return nil, fmt.Errorf("read vocab.json: %w", verr)
	case merr != nil:
		return nil, fmt.Errorf("read merges.txt: %w", merr)
	}
	data, err = gpt2vocab.BuildTokenizerJSON(vocab, merges)
	if err != nil {
		return nil, fmt.Errorf("no tokenizer.json, and building one failed: %w", err)
	}
	return data, nil
}

// ParseTokenizer loads a GPT-2 tokenizer from the contents of a tokenizer.json.
func ParseTokenizer(data []byte) (*Tokenizer, error) { return newTokenizer(data) }

// newTokenizer checks that data is a GPT-2 style tokenizer.json (BPE model,
// ByteLevel pre-tokenizer and decoder, no normalizer) and loads it.
func newTokenizer(data []byte) (*Tokenizer, error) {
	if !json.Valid(data) {
		return nil, fmt.Errorf("tokenizer.json is not valid JSON (truncated? download it again)")
	}
	switch t := bytes.TrimLeft(data, " \t\r\n"); t[0] {
	case '{':
	case 'n':
		return nil, fmt.Errorf("tokenizer.json is not a JSON object")
	default:
		return nil, fmt.Errorf("tokenizer.json is not valid JSON for a tokenizer: want an object, not %.20s", t)
	}
	var head struct {
		Model *struct {
			Type          string            `json:"type"`
			Vocab         json.RawMessage   `json:"vocab"`
			Merges        []json.RawMessage `json:"merges"`
			IgnoreMerges  bool              `json:"ignore_merges"`
			ByteFallback  bool              `json:"byte_fallback"`
			ContinuingSub *string           `json:"continuing_subword_prefix"`
		} `json:"model"`
		Normalizer    *struct{ Type string } `json:"normalizer"`
		PreTokenizer  json.RawMessage        `json:"pre_tokenizer"`
		PostProcessor json.RawMessage        `json:"post_processor"`
		Decoder       *struct{ Type string } `json:"decoder"`
		AddedTokens   []struct {
			ID      int    `json:"id"`
			Content string `json:"content"`
		} `json:"added_tokens"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("tokenizer.json: unexpected structure: %w", err)
	}
	switch {
	case head.Model == nil:
		return nil, fmt.Errorf("tokenizer.json has no model")
	case head.Model.Type != "BPE":
		return nil, fmt.Errorf("tokenizer.json: model type %q, want \"BPE\" (a byte-level BPE: GPT-2's, Llama 3's, Qwen's, GPT-NeoX's)", head.Model.Type)
	case len(head.Model.Vocab) == 0 || head.Model.Vocab[0] != '{':
		return nil, fmt.Errorf("tokenizer.json: model vocab is not a JSON object of token -> id")
	case len(head.Model.Merges) == 0:
		return nil, fmt.Errorf("tokenizer.json: model has no merges")
	case head.Model.ByteFallback:
		return nil, fmt.Errorf("tokenizer.json: byte_fallback BPE (SentencePiece style) is not supported: only byte-level BPE is")
	case head.Model.ContinuingSub != nil && *head.Model.ContinuingSub != "":
		return nil, fmt.Errorf("tokenizer.json: continuing_subword_prefix %q is not supported", *head.Model.ContinuingSub)
	case head.Normalizer != nil && head.Normalizer.Type != "NFC":
		return nil, fmt.Errorf("tokenizer.json: normalizer %q is not supported (none, or NFC as Qwen's)", head.Normalizer.Type)
	case head.Decoder == nil || head.Decoder.Type != "ByteLevel":
		return nil, fmt.Errorf("tokenizer.json: decoder must be ByteLevel (a byte-level BPE)")
	}
	split, err := parsePreTokenizer(head.PreTokenizer)
	if err != nil {
		return nil, fmt.Errorf("tokenizer.json: %w", err)
	}
	added := map[string]int{}
	for _, at := range head.AddedTokens {
		if at.Content != "" {
			added[at.Content] = at.ID
		}
	}
	b, err := newBPE(head.Model.Vocab, head.Model.Merges, added)
	if err != nil {
		return nil, fmt.Errorf("tokenizer.json: %w", err)
	}
	b.ignoreMerges = head.Model.IgnoreMerges
	vocab := b.vocab
	// A byte-level BPE has no unk token, so every one of the 256 byte symbols must be there.
	for b := 0; b < 256; b++ {
		if _, ok := vocab[string(tokByteToRune[b])]; !ok {
			return nil, fmt.Errorf("tokenizer.json: vocab lacks the symbol %q for byte 0x%02x; not a byte-level BPE", tokByteToRune[b], b)
		}
	}
	eos, ok := vocab[tokEndOfText]
	if !ok && split.gpt2 {
		return nil, fmt.Errorf("tokenizer.json: vocab has no %s token", tokEndOfText)
	}
	if !ok {
		eos = -1 // the model's config names its end of text
	}
	bos, err := parseBOS(head.PostProcessor, vocab)
	if err != nil {
		return nil, fmt.Errorf("tokenizer.json: %w", err)
	}
	t := &Tokenizer{bpe: b, vocabSize: len(vocab), eos: eos, bos: bos, split: split, nfc: head.Normalizer != nil, source: data}
	for _, at := range head.AddedTokens {
		if at.Content != "" {
			t.special = append(t.special, at.Content)
		}
	}
	if len(t.special) == 0 {
		t.special = []string{tokEndOfText}
	}
	sort.SliceStable(t.special, func(i, j int) bool { return len(t.special[i]) > len(t.special[j]) })
	return t, nil
}

// Encode returns the token ids of text, as Hugging Face's tokenizer of the model
// (GPT-2's also as tiktoken) tokenizes it with its special tokens: an added token
// in the text ("<|endoftext|>") is that token, and the post-processor's BOS, when
// tokenizer.json has one (Llama 3), comes first. Text must be non-empty, valid UTF-8.
//
// BPE takes time quadratic in the length of a word, so a long run of text without
// spaces or punctuation (CJK, Thai) is slower than the rest.
func (t *Tokenizer) Encode(text string) ([]int, error) {
	if text == "" {
		return nil, errors.New("empty prompt: give at least one character")
	}
	if !utf8.ValidString(text) {
		i := 0
		for i < len(text) {
			r, size := utf8.DecodeRuneInString(text[i:])
			if r == utf8.RuneError && size == 1 {
				break
			}
			i += size
		}
		return nil, fmt.Errorf("prompt is not valid UTF-8 (bad byte 0x%02x at offset %d)", text[i], i)
	}
	ids := make([]int, 0, len(text)/3+1)
	if t.bos >= 0 {
		ids = append(ids, t.bos)
	}
	var word []byte
	for len(text) > 0 {
		// Step 1: the next added token, if any, is cut out whole.
		plain, id, rest, found := t.cutSpecial(text)
		if t.nfc {
			plain = norm.NFC.String(plain)
		}
		// Step 2: words of the plain text before it.
		for len(plain) > 0 {
			n := t.split.next(plain)
			// Step 3: byte-level alphabet, then BPE inside the word.
			word = word[:0]
			for i := 0; i < n; i++ {
				word = utf8.AppendRune(word, tokByteToRune[plain[i]])
			}
			wordIDs, err := t.bpe.encodeWord(string(word))
			if err != nil {
				return nil, err
			}
			if len(wordIDs) == 0 {
				return nil, fmt.Errorf("tokenizer produced no token for %q", plain[:n])
			}
			ids = append(ids, wordIDs...)
			plain = plain[n:]
		}
		if found {
			ids = append(ids, id)
		}
		text = rest
	}
	return ids, nil
}

// cutSpecial finds the first added token in text (the longest one where
// several start at the same place) and returns the plain text before it, its
// id and the text after it; found is false when text has none.
func (t *Tokenizer) cutSpecial(text string) (plain string, id int, rest string, found bool) {
	best, bestAt := "", -1
	for _, s := range t.special {
		if i := strings.Index(text, s); i >= 0 && (bestAt < 0 || i < bestAt) {
			best, bestAt = s, i // t.special is longest first, so ties keep the longest
		}
	}
	if bestAt < 0 {
		return text, 0, "", false
	}
	id = t.bpe.vocab[best]
	return text[:bestAt], id, text[bestAt+len(best):], true
}

// tokNextWordLen returns the byte length of the first word of s (non-empty,
// valid UTF-8) under GPT-2's pattern
//
//	's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//
// written out by hand because Go's regexp has no lookahead. \s is Unicode
// White_Space (unicode.IsSpace), as in Python's regex module, Hugging Face
// (Oniguruma) and tiktoken; JavaScript's \s differs only at U+0085 (not
// space in JS) and U+FEFF (space in JS).
func tokNextWordLen(s string) int {
	// 's 't 're 've 'm 'll 'd (case-sensitive: "'S" is not a contraction).
	if s[0] == '\'' {
		for _, c := range [...]string{"s", "t", "re", "ve", "m", "ll", "d"} {
			if strings.HasPrefix(s[1:], c) {
				return 1 + len(c)
			}
		}
	}
	// " ?X+" for X = letters, numbers, or anything else but whitespace.
	start := 0
	r, size := utf8.DecodeRuneInString(s)
	if r == ' ' && size < len(s) {
		if r2, _ := utf8.DecodeRuneInString(s[1:]); !unicode.IsSpace(r2) {
			start, r = 1, r2
		}
	}
	if class := tokRuneClass(r); class != tokSpace {
		i := start
		for i < len(s) {
			r, size := utf8.DecodeRuneInString(s[i:])
			if tokRuneClass(r) != class {
				break
			}
			i += size
		}
		return i
	}
	// Whitespace: "\s+(?!\S)" takes the run but leaves its last character
	// to start the next word ("   cats" -> "  ", " cats"), unless the run
	// ends the text or is a single character; then "\s+" takes it all.
	i, last := 0, 0
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		if !unicode.IsSpace(r) {
			break
		}
		last = i
		i += size
	}
	if i < len(s) && last > 0 {
		return last
	}
	return i
}

const (
	tokLetter = iota
	tokNumber
	tokSpace
	tokOther
)

func tokRuneClass(r rune) int {
	switch {
	case unicode.IsLetter(r):
		return tokLetter
	case unicode.IsNumber(r):
		return tokNumber
	case unicode.IsSpace(r):
		return tokSpace
	default:
		return tokOther
	}
}

// tokByteToRune is GPT-2's bytes_to_unicode: printable bytes stand for
// themselves, the other 68 bytes get U+0100 and up, in byte order.
var tokByteToRune = func() (m [256]rune) {
	n := 0
	for b := 0; b < 256; b++ {
		if (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF) {
			m[b] = rune(b)
		} else {
			m[b] = rune(256 + n)
			n++
		}
	}
	return m
}()

// Decode returns the text of ids. Byte sequences that are not valid UTF-8
// (ids that stop in the middle of a character) become U+FFFD, one per
// maximal invalid sequence, as Hugging Face's decode does. Ids outside the
// vocabulary are skipped.
func (t *Tokenizer) Decode(ids []int) string {
	return tokLossyUTF8(t.bpe.decode(ids))
}

// TokenText returns the text of one token as the model sees it: its bytes
// decoded, e.g. " cats" for 11875 and "\n" for 198. A token that holds only
// part of a UTF-8 character shows those bytes as \xNN escapes ("\xe2\x80"),
// never as U+FFFD. An id outside the vocabulary gives "".
func (t *Tokenizer) TokenText(id int) string {
	if id < 0 || id >= len(t.bpe.tokens) {
		return ""
	}
	s := t.bpe.decode([]int{id})
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			fmt.Fprintf(&b, `\x%02x`, s[i])
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// VocabSize is the number of token ids, 50257 for GPT-2.
func (t *Tokenizer) VocabSize() int { return t.vocabSize }

// EOS is the id of <|endoftext|>, 50256 for GPT-2.
func (t *Tokenizer) EOS() int { return t.eos }

// ID looks up a vocabulary entry by its exact byte-level spelling, e.g.
// "Ġcats" (a leading space is "Ġ", a newline "Ċ") or "<|endoftext|>".
func (t *Tokenizer) ID(token string) (int, bool) {
	id, ok := t.bpe.vocab[token]
	return id, ok
}

// tokLossyUTF8 replaces each maximal invalid subsequence of s with U+FFFD,
// like Rust's String::from_utf8_lossy (and so Hugging Face's decode). Go's
// strings.ToValidUTF8 would merge adjacent bad sequences into one U+FFFD,
// and ranging over s would give one per byte.
func tokLossyUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r != utf8.RuneError || size != 1 {
			b.WriteString(s[i : i+size])
			i += size
			continue
		}
		b.WriteRune(utf8.RuneError)
		i += tokInvalidPrefixLen(s[i:])
	}
	return b.String()
}

// tokInvalidPrefixLen returns the length of the maximal prefix of s that
// starts a UTF-8 sequence but does not complete one (at least 1), following
// the Unicode Standard's table 3-7 of well-formed byte sequences.
func tokInvalidPrefixLen(s string) int {
	var need int
	lo, hi := byte(0x80), byte(0xBF) // range of the second byte
	switch c := s[0]; {
	case c >= 0xC2 && c <= 0xDF:
		need = 2
	case c == 0xE0:
		need, lo = 3, 0xA0
	case c == 0xED:
		need, hi = 3, 0x9F
	case c >= 0xE1 && c <= 0xEF:
		need = 3
	case c == 0xF0:
		need, lo = 4, 0x90
	case c == 0xF4:
		need, hi = 4, 0x8F
	case c >= 0xF1 && c <= 0xF3:
		need = 4
	default:
		return 1
	}
	n := 1
	if n < len(s) && s[n] >= lo && s[n] <= hi {
		n++
		for n < need && n < len(s) && s[n] >= 0x80 && s[n] <= 0xBF {
			n++
		}
	}
	return n
}

// Source returns the tokenizer.json the tokenizer was built from (a model saved
// with it writes it back unchanged).
func (t *Tokenizer) Source() []byte { return t.source }
