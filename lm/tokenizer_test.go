package lm_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/logitlens-go/logitlens/internal/fixture"
	"github.com/logitlens-go/logitlens/internal/gpt2vocab"
	"github.com/logitlens-go/logitlens/lm"
)

var updateTokenizerCorpus = flag.Bool("update-tokenizer-corpus", false,
	"regenerate lm/testdata/tokenizer/corpus.json with scripts/gpt2-encoder-ref.js (needs node and scripts/install-node-deps.sh)")

const (
	tokenizerCorpusFile = "testdata/tokenizer/corpus.json"
	tokenizerRefScript  = "../scripts/gpt2-encoder-ref.js"
)

// tokenizerCorpus holds hard strings for GPT-2's tokenizer. Their expected ids
// come from an independent GPT-2 BPE, the npm package gpt-3-encoder, through
// scripts/gpt2-encoder-ref.js: kept in testdata/tokenizer/corpus.json, and
// recomputed when node is there. After editing this list, run
//
//	scripts/install-node-deps.sh
//	go test ./gpt2/ -run TokenizerCorpus -update-tokenizer-corpus
//
// Avoid U+0085 and U+FEFF here: JavaScript's \s differs from Unicode
// White_Space (used by Hugging Face, tiktoken and us) on exactly those two.
var tokenizerCorpus = []string{
	"Are cats good?",
	// Cyrillic
	"Аre cats good?", // Cyrillic А (U+0410), then Latin
	"А",
	"Привет, мир! Как дела?",
	"Съешь же ещё этих мягких французских булок, да выпей чаю.",
	"Ёжик в тумане — это мультфильм 1975 года.",
	// Emoji, with skin tones, ZWJ sequences, flags and variation selectors
	"I love 🐈 and 🐕!",
	"👨‍👩‍👧‍👦 is a family",
	"🏳️‍🌈 and 🏴‍☠️",
	"👍🏽👍🏿 ok",
	"🇫🇷🇩🇪🇯🇵",
	"❤️ ✔︎ ☺",
	// CJK and other scripts
	"日本語のテキストです。",
	"中文测试：你好，世界！",
	"한국어 텍스트입니다",
	"Café naïve résumé — Ελληνικά και עברית و العربية",
	"e\u0301 is e + combining acute",
	"Hello世界123мир",
	"ภาษาไทย हिन्दी",
	// Whitespace
	"Hello\n\nWorld",
	"end.\n\nNew paragraph",
	"x \n\n y",
	" \nx",
	"a  b",
	"a   b",
	"    leading spaces",
	"trailing spaces   ",
	"trailing space ",
	"tab\there",
	"\t\tindented\ttwice",
	"line1\nline2",
	"\n\n\n",
	"para\n\n\nnext",
	" \n \n",
	"mixed \t\n  end",
	"  \n  x",
	"\r\n windows\r\n",
	"   ",
	" ",
	"\n",
	"\t",
	"a\u00a0b\u3000c\u2028d", // NBSP, ideographic space, line separator
	"def f(x):\n    return x**2  # square\n\n\n\nprint(f(3))\n",
	// Contractions
	"I'm sure you're right, it's what we've said; they'll do it and I'd agree, don't you?",
	"IT'S LOUD AND I'M SHOUTING, DON'T YOU'LL WE'VE",
	"'s 't 're 've 'm 'll 'd",
	"'S'T'RE'VE'M'LL'D",
	"rock'n'roll isn't",
	"She said 'hello' and ''s",
	"I''m here",
	"the cat's toy",
	"x's'y",
	// Digits and numbers
	"12345678901234567890",
	"3.14159 and 2,718,281",
	"year 2024, version 1.2.3",
	"١٢٣ and ٤٥٦",
	"Ⅻ o'clock, x²+y²=z²",
	"0x7fffffff -42 +17 1e-9",
	// Punctuation
	"Hello!!! What?!... (yes) [no] {maybe} <tag> \"quoted\"",
	"— dash – en … ellipsis «guillemets» „German“ ‘single’",
	"@user #hashtag $100 %50 ^&*_+=|\\/~`",
	"...!!!???",
	"hello,world x=1;y=2 foo.bar() U.S.A.",
	"http://example.com/path?q=1&r=2 email@example.com",
	"CamelCaseWord foo_bar_baz 3rd 1st 2nd mp3 GPT-2",
	"👋hello hello👋",
	// Rare and long words
	"antidisestablishmentarianism",
	" SolidGoldMagikarp petertodd",
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	"\x00\x01\x1f\x7f control",
	// The special token
	"Hello<|endoftext|>World",
	"a <|endoftext|> b",
	"<|endoftext|><|endoftext|>",
	"<|endoftext|>",
	"x<|endoftext|>\n\n",
	"<|endoftext",
	"<|endoftext|>The cat sat on the mat.<|endoftext|>",
}

// newTestTokenizer writes GPT-2's tokenizer files into a temporary model
// folder and loads them.
func newTestTokenizer(t testing.TB) *lm.Tokenizer {
	t.Helper()
	dir := t.TempDir()
	if err := fixture.WriteTokenizerFiles(dir); err != nil {
		t.Fatal(err)
	}
	tok, err := lm.LoadTokenizer(dir)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestTokenizerKnownIDs(t *testing.T) {
	tok := newTestTokenizer(t)
	for _, c := range []struct {
		text string
		want []int
	}{
		{"Are cats good?", []int{8491, 11875, 922, 30}},
		{"Hello world", []int{15496, 995}},
		{"hello world", []int{31373, 995}},
		{" cats", []int{11875}},
		{"\n", []int{198}},
		{"<|endoftext|>", []int{50256}},
		{"Hello<|endoftext|>", []int{15496, 50256}},
	} {
		got, err := tok.Encode(c.text)
		if err != nil {
			t.Errorf("Encode(%q): %v", c.text, err)
			continue
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("Encode(%q) = %v, want %v", c.text, got, c.want)
		}
	}
}

type tokenizerCorpusCase struct {
	Text string `json:"text"`
	IDs  []int  `json:"ids"`
}

func readTokenizerGolden(t *testing.T) []tokenizerCorpusCase {
	t.Helper()
	data, err := os.ReadFile(tokenizerCorpusFile)
	if err != nil {
		t.Fatalf("%v (regenerate: go test ./gpt2/ -run TokenizerCorpus -update-tokenizer-corpus)", err)
	}
	var cases []tokenizerCorpusCase
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatalf("%s: %v", tokenizerCorpusFile, err)
	}
	return cases
}

// TestTokenizerCorpusGolden compares Encode with the ids that gpt-3-encoder
// gave for the corpus, kept in testdata/tokenizer/corpus.json.
func TestTokenizerCorpusGolden(t *testing.T) {
	if *updateTokenizerCorpus {
		t.Skip("regenerating the golden file (TestTokenizerCorpusNode)")
	}
	golden := readTokenizerGolden(t)
	var texts []string
	for _, c := range golden {
		texts = append(texts, c.Text)
	}
	if !slices.Equal(texts, tokenizerCorpus) {
		t.Fatalf("%s does not hold the texts of tokenizerCorpus; regenerate it: go test ./gpt2/ -run TokenizerCorpus -update-tokenizer-corpus", tokenizerCorpusFile)
	}
	tok := newTestTokenizer(t)
	for _, c := range golden {
		got, err := tok.Encode(c.Text)
		if err != nil {
			t.Errorf("Encode(%q): %v", c.Text, err)
			continue
		}
		if !slices.Equal(got, c.IDs) {
			t.Errorf("Encode(%q)\n got %v\nwant %v (gpt-3-encoder)\n got tokens %q\nwant tokens %q",
				c.Text, got, c.IDs, tokenizerTexts(tok, got), tokenizerTexts(tok, c.IDs))
		}
	}
}

// TestTokenizerCorpusNode runs gpt-3-encoder under node on the corpus and
// compares with Encode and with the golden file. It is skipped when node or
// the package is missing, except in CI (CI=true), where it fails.
// With -update-tokenizer-corpus it rewrites the golden file.
func TestTokenizerCorpusNode(t *testing.T) {
	node, pkgDir, why := tokenizerNodeReference()
	if why != "" {
		if os.Getenv("CI") == "true" || *updateTokenizerCorpus {
			t.Fatalf("the node reference tokenizer is needed: %s (run scripts/install-node-deps.sh)", why)
		}
		t.Skipf("node reference tokenizer unavailable: %s (run scripts/install-node-deps.sh)", why)
	}
	input, err := json.Marshal(tokenizerCorpus)
	if err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) []byte {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, node, append([]string{tokenizerRefScript}, args...)...)
		cmd.Env = append(os.Environ(), "GPT2_ENCODER_DIR="+pkgDir)
		cmd.Stdin = bytes.NewReader(input)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("node %s: %v\n%s", tokenizerRefScript, err, stderr.String())
		}
		return out
	}

	if *updateTokenizerCorpus {
		if err := os.WriteFile(tokenizerCorpusFile, run("--golden"), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s with %d cases", tokenizerCorpusFile, len(tokenizerCorpus))
	}

	var ref [][]int
	if err := json.Unmarshal(run(), &ref); err != nil {
		t.Fatalf("node output: %v", err)
	}
	if len(ref) != len(tokenizerCorpus) {
		t.Fatalf("node gave %d results for %d texts", len(ref), len(tokenizerCorpus))
	}
	golden := readTokenizerGolden(t)
	tok := newTestTokenizer(t)
	for i, text := range tokenizerCorpus {
		if i >= len(golden) || golden[i].Text != text || !slices.Equal(golden[i].IDs, ref[i]) {
			t.Errorf("%s is out of date at %q; regenerate it: go test ./gpt2/ -run TokenizerCorpus -update-tokenizer-corpus", tokenizerCorpusFile, text)
		}
		got, err := tok.Encode(text)
		if err != nil {
			t.Errorf("Encode(%q): %v", text, err)
			continue
		}
		if !slices.Equal(got, ref[i]) {
			t.Errorf("Encode(%q)\n got %v\nwant %v (gpt-3-encoder under node)", text, got, ref[i])
		}
	}
}

// tokenizerNodeReference finds node and the gpt-3-encoder package folder
// ($GPT2_ENCODER_DIR, the package itself or a folder with
// node_modules/gpt-3-encoder; else the repo's node_modules). why says what is
// missing.
func tokenizerNodeReference() (node, pkgDir, why string) {
	node, err := exec.LookPath("node")
	if err != nil {
		return "", "", "node is not on PATH"
	}
	var candidates []string
	if env := os.Getenv("GPT2_ENCODER_DIR"); env != "" {
		candidates = append(candidates, env, filepath.Join(env, "node_modules", "gpt-3-encoder"))
	}
	candidates = append(candidates, filepath.Join("..", "node_modules", "gpt-3-encoder"))
	for _, dir := range candidates {
		if _, err := os.Stat(filepath.Join(dir, "Encoder.js")); err == nil {
			abs, err := filepath.Abs(dir)
			if err != nil {
				return "", "", err.Error()
			}
			return node, abs, ""
		}
	}
	return "", "", "gpt-3-encoder is not installed in " + strings.Join(candidates, " or ")
}

func tokenizerTexts(tok *lm.Tokenizer, ids []int) []string {
	var out []string
	for _, id := range ids {
		out = append(out, tok.TokenText(id))
	}
	return out
}

// TestTokenizerRoundTrip checks Decode(Encode(s)) == s for the corpus and
// for random strings.
func TestTokenizerRoundTrip(t *testing.T) {
	tok := newTestTokenizer(t)
	texts := slices.Clone(tokenizerCorpus)
	// Random strings from a pool of awkward runes.
	pool := []rune("aZ09 \t\n\r'sSdlmtv.,!?-_<|>ÄéßАяЁ日本語한🐈‍👩🏽\u0301\u00a0\u3000\u2028\u0085\ufeff\x00\x7f")
	rng := rand.New(rand.NewPCG(1, 2))
	for range 300 {
		n := 1 + rng.IntN(40)
		r := make([]rune, n)
		for i := range r {
			r[i] = pool[rng.IntN(len(pool))]
		}
		texts = append(texts, string(r))
	}
	texts = append(texts, strings.Repeat("ab ", 2000), strings.Repeat(" ", 1000), strings.Repeat("🐈", 500))
	for _, s := range texts {
		ids, err := tok.Encode(s)
		if err != nil {
			t.Errorf("Encode(%q): %v", s, err)
			continue
		}
		if got := tok.Decode(ids); got != s {
			t.Errorf("Decode(Encode(%q)) = %q (ids %v)", s, got, ids)
		}
		for _, id := range ids {
			if id < 0 || id >= tok.VocabSize() {
				t.Errorf("Encode(%q) gave id %d outside the vocabulary", s, id)
			}
		}
	}
}

func FuzzTokenizerRoundTrip(f *testing.F) {
	for _, s := range tokenizerCorpus {
		f.Add(s)
	}
	tok := newTestTokenizer(f)
	f.Fuzz(func(t *testing.T, s string) {
		ids, err := tok.Encode(s)
		if s == "" || !utf8.ValidString(s) {
			if err == nil {
				t.Fatalf("Encode(%q) = %v, want an error", s, ids)
			}
			return
		}
		if err != nil {
			t.Fatalf("Encode(%q): %v", s, err)
		}
		if got := tok.Decode(ids); got != s {
			t.Fatalf("Decode(Encode(%q)) = %q", s, got)
		}
	})
}

func TestTokenizerTokenText(t *testing.T) {
	tok := newTestTokenizer(t)
	id := func(token string) int {
		t.Helper()
		i, ok := tok.ID(token)
		if !ok {
			t.Fatalf("ID(%q) not found", token)
		}
		return i
	}
	for _, c := range []struct {
		id   int
		want string
	}{
		{11875, " cats"},
		{198, "\n"},
		{8491, "Are"},
		{30, "?"},
		{220, " "},
		{50256, "<|endoftext|>"},
		{id("âĢĶ"), "\u2014"},    // — is one token of 3 bytes
		{id("â"), `\xe2`},        // a lone lead byte
		{id("âĢ"), `\xe2\x80`},   // two bytes of a three-byte character
		{id("Ġâ"), ` \xe2`},      // a space, then a lead byte
		{id("ĠðŁ"), ` \xf0\x9f`}, // start of an emoji
		{-1, ""},                 // out of range
		{50257, ""},              // out of range
		{id("ĊĊ"), "\n\n"},
		{id("ĉ"), "\t"},
		{id("ĠÐ"), ` \xd0`},  // a space, then the first byte of Cyrillic
		{id("Ð¼"), "\u043c"}, // м, complete
		{id("Ã©"), "é"},      // two bytes, complete
	} {
		if got := tok.TokenText(c.id); got != c.want {
			t.Errorf("TokenText(%d) = %q, want %q", c.id, got, c.want)
		}
		if strings.ContainsRune(tok.TokenText(c.id), utf8.RuneError) {
			t.Errorf("TokenText(%d) shows U+FFFD", c.id)
		}
	}
	// No token shows U+FFFD, except those whose bytes are U+FFFD itself
	// ("ï¿½" = EF BF BD, e.g. 4210).
	var vocab map[string]int
	if err := json.Unmarshal(gpt2vocab.VocabJSON(), &vocab); err != nil {
		t.Fatal(err)
	}
	literal := map[int]bool{}
	for token, id := range vocab {
		if strings.Contains(token, "ï¿½") {
			literal[id] = true
		}
	}
	if !literal[4210] {
		t.Errorf("token 4210 should be a literal U+FFFD")
	}
	for i := range tok.VocabSize() {
		s := tok.TokenText(i)
		if s == "" || !utf8.ValidString(s) || (strings.ContainsRune(s, utf8.RuneError) && !literal[i]) {
			t.Fatalf("TokenText(%d) = %q", i, s)
		}
	}
}

func TestTokenizerVocab(t *testing.T) {
	tok := newTestTokenizer(t)
	if got := tok.VocabSize(); got != 50257 {
		t.Errorf("VocabSize() = %d, want 50257", got)
	}
	if got := tok.EOS(); got != 50256 {
		t.Errorf("EOS() = %d, want 50256", got)
	}
	for _, c := range []struct {
		token string
		id    int
		ok    bool
	}{
		{"Ġcats", 11875, true},
		{"Are", 8491, true},
		{"Ċ", 198, true},
		{"<|endoftext|>", 50256, true},
		{" cats", 0, false}, // raw text is not the byte-level form
		{"no such token", 0, false},
		{"", 0, false},
	} {
		id, ok := tok.ID(c.token)
		if ok != c.ok || (ok && id != c.id) {
			t.Errorf("ID(%q) = %d, %v; want %d, %v", c.token, id, ok, c.id, c.ok)
		}
	}
}

func TestTokenizerDecode(t *testing.T) {
	tok := newTestTokenizer(t)
	id := func(token string) int {
		i, ok := tok.ID(token)
		if !ok {
			t.Fatalf("ID(%q) not found", token)
		}
		return i
	}
	for _, c := range []struct {
		name string
		ids  []int
		want string
	}{
		{"plain", []int{8491, 11875, 922, 30}, "Are cats good?"},
		{"empty", nil, ""},
		{"special", []int{15496, 50256, 198}, "Hello<|endoftext|>\n"},
		{"unknown ids skipped", []int{8491, -5, 50257, 30}, "Are?"},
		{"cut character", []int{id("âĢ")}, "\ufffd"},
		{"two lead bytes", []int{id("â"), id("â")}, "\ufffd\ufffd"},
		{"cut then whole", []int{id("âĢ"), id("âĢĶ")}, "\ufffd\u2014"},
		{"pieces join", []int{id("âĢ"), id("Ļ")}, "\u2019"},
	} {
		if got := tok.Decode(c.ids); got != c.want {
			t.Errorf("%s: Decode(%v) = %q, want %q", c.name, c.ids, got, c.want)
		}
	}
}

func TestTokenizerEncodeErrors(t *testing.T) {
	tok := newTestTokenizer(t)
	for _, c := range []struct {
		text, want string
	}{
		{"", "empty prompt: give at least one character"},
		{"ok\xffbad", "prompt is not valid UTF-8 (bad byte 0xff at offset 2)"},
		{"\xe2\x80", "not valid UTF-8"},
	} {
		ids, err := tok.Encode(c.text)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Encode(%q) = %v, %v; want an error with %q", c.text, ids, err, c.want)
		}
	}
}

// TestTokenizerLoadFromVocabAndMerges loads a folder without tokenizer.json,
// as older GPT-2 checkpoints ship.
func TestTokenizerLoadFromVocabAndMerges(t *testing.T) {
	dir := t.TempDir()
	writeTokenizerTestFile(t, dir, "vocab.json", gpt2vocab.VocabJSON())
	writeTokenizerTestFile(t, dir, "merges.txt", gpt2vocab.MergesTXT())
	tok, err := lm.LoadTokenizer(dir)
	if err != nil {
		t.Fatal(err)
	}
	got, err := tok.Encode("Are cats good?<|endoftext|>")
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{8491, 11875, 922, 30, 50256}; !slices.Equal(got, want) {
		t.Errorf("Encode = %v, want %v", got, want)
	}
}

func writeTokenizerTestFile(t *testing.T, dir, name string, data []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestTokenizerLoadErrors checks that bad model folders give clear errors.
func TestTokenizerLoadErrors(t *testing.T) {
	good, err := gpt2vocab.TokenizerJSON()
	if err != nil {
		t.Fatal(err)
	}
	edit := func(f func(m map[string]any)) []byte {
		var m map[string]any
		if err := json.Unmarshal(good, &m); err != nil {
			t.Fatal(err)
		}
		f(m)
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	model := func(m map[string]any) map[string]any { return m["model"].(map[string]any) }

	for _, c := range []struct {
		name     string
		files    map[string][]byte // nil: the folder does not exist
		notExist bool              // errors.Is(err, fs.ErrNotExist)
		want     string
	}{
		{name: "missing folder", notExist: true, want: "model folder does not exist"},
		{name: "empty folder", files: map[string][]byte{}, notExist: true,
			want: "no tokenizer.json, and no vocab.json + merges.txt to build one from"},
		{name: "only vocab.json", files: map[string][]byte{"vocab.json": gpt2vocab.VocabJSON()}, notExist: true,
			want: "merges.txt is missing"},
		{name: "only merges.txt", files: map[string][]byte{"merges.txt": gpt2vocab.MergesTXT()}, notExist: true,
			want: "vocab.json is missing"},
		{name: "corrupt vocab.json", files: map[string][]byte{"vocab.json": []byte("{oops"), "merges.txt": gpt2vocab.MergesTXT()},
			want: "vocab.json: not a JSON object"},
		{name: "truncated tokenizer.json", files: map[string][]byte{"tokenizer.json": good[:len(good)/2]},
			want: "tokenizer.json is not valid JSON"},
		{name: "empty tokenizer.json", files: map[string][]byte{"tokenizer.json": {}},
			want: "tokenizer.json is not valid JSON"},
		{name: "null tokenizer.json", files: map[string][]byte{"tokenizer.json": []byte("null")},
			want: "tokenizer.json is not a JSON object"},
		{name: "list tokenizer.json", files: map[string][]byte{"tokenizer.json": []byte("[1, 2]")},
			want: "tokenizer.json is not valid JSON"},
		{name: "no model", files: map[string][]byte{"tokenizer.json": []byte(`{"version": "1.0"}`)},
			want: "tokenizer.json has no model"},
		{name: "wrong model type", files: map[string][]byte{"tokenizer.json": edit(func(m map[string]any) { model(m)["type"] = "WordPiece" })},
			want: `model type "WordPiece", want "BPE"`},
		{name: "vocab of wrong type", files: map[string][]byte{"tokenizer.json": edit(func(m map[string]any) { model(m)["vocab"] = "x" })},
			want: "model vocab is not a JSON object"},
		{name: "no merges", files: map[string][]byte{"tokenizer.json": edit(func(m map[string]any) { model(m)["merges"] = []any{} })},
			want: "model has no merges"},
		{name: "wrong pre-tokenizer", files: map[string][]byte{"tokenizer.json": edit(func(m map[string]any) {
			m["pre_tokenizer"] = map[string]any{"type": "Whitespace"}
		})}, want: "pre_tokenizer {\"type\":\"Whitespace\"} is not supported"},
		{name: "normalizer", files: map[string][]byte{"tokenizer.json": edit(func(m map[string]any) {
			m["normalizer"] = map[string]any{"type": "Lowercase"}
		})}, want: `normalizer "Lowercase" is not supported`},
		{name: "missing byte symbol", files: map[string][]byte{"tokenizer.json": edit(func(m map[string]any) {
			v := model(m)["vocab"].(map[string]any)
			delete(v, "Ġ")
			v["renamed"] = 220.0
		})}, want: "vocab lacks the symbol"},
		{name: "duplicate id", files: map[string][]byte{"tokenizer.json": edit(func(m map[string]any) {
			model(m)["vocab"].(map[string]any)["Ġcats"] = 0.0
		})}, want: "want each id in 0..50256 used once"},
		{name: "no end of text", files: map[string][]byte{"tokenizer.json": edit(func(m map[string]any) {
			v := model(m)["vocab"].(map[string]any)
			delete(v, "<|endoftext|>")
			v["<|end|>"] = 50256.0
			m["added_tokens"] = []any{}
		})}, want: "vocab has no <|endoftext|> token"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "model")
			if c.files != nil {
				if err := os.Mkdir(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				for name, data := range c.files {
					writeTokenizerTestFile(t, dir, name, data)
				}
			}
			tok, err := lm.LoadTokenizer(dir)
			if err == nil {
				t.Fatalf("LoadTokenizer = %v, want an error", tok)
			}
			msg := err.Error()
			if prefix := fmt.Sprintf("load tokenizer %s: ", dir); !strings.HasPrefix(msg, prefix) {
				t.Errorf("error %q does not start with %q", msg, prefix)
			}
			if !strings.Contains(msg, c.want) {
				t.Errorf("error %q does not say %q", msg, c.want)
			}
			if got := errors.Is(err, fs.ErrNotExist); got != c.notExist {
				t.Errorf("errors.Is(err, fs.ErrNotExist) = %v, want %v", got, c.notExist)
			}
		})
	}

	// A file where a folder is expected.
	file := filepath.Join(t.TempDir(), "file")
	writeTokenizerTestFile(t, filepath.Dir(file), "file", []byte("x"))
	if _, err := lm.LoadTokenizer(file); err == nil || !strings.Contains(err.Error(), "not a model folder") {
		t.Errorf("LoadTokenizer(file) error = %v", err)
	}
}

// TestTokenizerConcurrent encodes from several goroutines at once (run with -race).
func TestTokenizerConcurrent(t *testing.T) {
	tok := newTestTokenizer(t)
	want := make([][]int, len(tokenizerCorpus))
	for i, s := range tokenizerCorpus {
		want[i], _ = tok.Encode(s)
	}
	done := make(chan struct{})
	for g := range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range tokenizerCorpus {
				j := (i + g) % len(tokenizerCorpus)
				got, _ := tok.Encode(tokenizerCorpus[j])
				if !reflect.DeepEqual(got, want[j]) {
					t.Errorf("concurrent Encode(%q) = %v, want %v", tokenizerCorpus[j], got, want[j])
				}
				_ = tok.Decode(got)
			}
		}()
	}
	for range 4 {
		<-done
	}
}

func ExampleTokenizer_Encode() {
	dir, err := os.MkdirTemp("", "gpt2-tokenizer-example-")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	// A model folder holds tokenizer.json (or vocab.json + merges.txt).
	if err := fixture.WriteTokenizerFiles(dir); err != nil {
		panic(err)
	}

	tok, err := lm.LoadTokenizer(dir)
	if err != nil {
		panic(err)
	}
	ids, err := tok.Encode("Are cats good?")
	if err != nil {
		panic(err)
	}
	fmt.Println(ids)
	var pieces []string
	for _, id := range ids {
		pieces = append(pieces, fmt.Sprintf("%q", tok.TokenText(id)))
	}
	fmt.Println(strings.Join(pieces, " "))
	fmt.Println(tok.Decode(ids))
	// Output:
	// [8491 11875 922 30]
	// "Are" " cats" " good" "?"
	// Are cats good?
}
