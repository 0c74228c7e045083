package gpt2vocab

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"

	"github.com/gomlx/go-huggingface/tokenizers/hftokenizer"
)

func TestEmbeddedFilesAreTheUpstreamOnes(t *testing.T) {
	for _, c := range []struct {
		name string
		data []byte
		sha  string
	}{
		{"encoder.json", VocabJSON(), "196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783"},
		{"vocab.bpe", MergesTXT(), "1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5"},
		{"LICENSE", []byte(License), "55c21bb37e0f9dc0f33b5cb35991ab3951eb04799fb70bd7b7d807abcacc002e"},
	} {
		sum := sha256.Sum256(c.data)
		if got := hex.EncodeToString(sum[:]); got != c.sha {
			t.Errorf("%s: sha256 %s, want %s", c.name, got, c.sha)
		}
	}
	if !strings.Contains(License, "MIT License") {
		t.Errorf("LICENSE is not the MIT licence")
	}
}

func TestVocabAndMerges(t *testing.T) {
	var vocab map[string]int
	if err := json.Unmarshal(VocabJSON(), &vocab); err != nil {
		t.Fatal(err)
	}
	if len(vocab) != 50257 {
		t.Errorf("vocab has %d entries, want 50257", len(vocab))
	}
	for tok, want := range map[string]int{EndOfText: 50256, "!": 0, "Ġcats": 11875, "Are": 8491, "Ċ": 198} {
		if got, ok := vocab[tok]; !ok || got != want {
			t.Errorf("vocab[%q] = %d, %v; want %d", tok, got, ok, want)
		}
	}
	merges, err := parseMerges(MergesTXT(), vocab)
	if err != nil {
		t.Fatal(err)
	}
	if len(merges) != 50000 || merges[0] != "Ġ t" {
		t.Errorf("got %d merges starting %q, want 50000 starting \"Ġ t\"", len(merges), merges[0])
	}
}

func TestCopiesAreIndependent(t *testing.T) {
	a := VocabJSON()
	a[0] = 'X'
	if VocabJSON()[0] != '{' {
		t.Error("VocabJSON shares its bytes with callers")
	}
	m := MergesTXT()
	m[0] = 'X'
	if MergesTXT()[0] != '#' {
		t.Error("MergesTXT shares its bytes with callers")
	}
	tj, err := TokenizerJSON()
	if err != nil {
		t.Fatal(err)
	}
	tj[0] = 'X'
	tj2, _ := TokenizerJSON()
	if tj2[0] != '{' {
		t.Error("TokenizerJSON shares its bytes with callers")
	}
}

// TestTokenizerJSONStructure checks the fields Hugging Face's gpt2
// tokenizer.json has.
func TestTokenizerJSONStructure(t *testing.T) {
	data, err := TokenizerJSON()
	if err != nil {
		t.Fatal(err)
	}
	var tj struct {
		Version     string `json:"version"`
		AddedTokens []struct {
			ID         int    `json:"id"`
			Content    string `json:"content"`
			Special    bool   `json:"special"`
			Normalized bool   `json:"normalized"`
		} `json:"added_tokens"`
		Normalizer   any `json:"normalizer"`
		PreTokenizer struct {
			Type           string `json:"type"`
			AddPrefixSpace *bool  `json:"add_prefix_space"`
			UseRegex       bool   `json:"use_regex"`
		} `json:"pre_tokenizer"`
		PostProcessor struct {
			Type        string `json:"type"`
			TrimOffsets *bool  `json:"trim_offsets"`
		} `json:"post_processor"`
		Decoder struct {
			Type string `json:"type"`
		} `json:"decoder"`
		Model struct {
			Type   string         `json:"type"`
			Vocab  map[string]int `json:"vocab"`
			Merges []string       `json:"merges"`
		} `json:"model"`
	}
	if err := json.Unmarshal(data, &tj); err != nil {
		t.Fatalf("tokenizer.json is not valid JSON: %v", err)
	}
	if tj.Version != "1.0" || tj.Normalizer != nil {
		t.Errorf("version %q normalizer %v", tj.Version, tj.Normalizer)
	}
	if len(tj.AddedTokens) != 1 || tj.AddedTokens[0].ID != 50256 || tj.AddedTokens[0].Content != EndOfText || !tj.AddedTokens[0].Special {
		t.Errorf("added_tokens = %+v, want <|endoftext|> 50256 special", tj.AddedTokens)
	}
	if tj.PreTokenizer.Type != "ByteLevel" || tj.PreTokenizer.AddPrefixSpace == nil || *tj.PreTokenizer.AddPrefixSpace || !tj.PreTokenizer.UseRegex {
		t.Errorf("pre_tokenizer = %+v", tj.PreTokenizer)
	}
	if tj.PostProcessor.Type != "ByteLevel" || tj.PostProcessor.TrimOffsets == nil {
		t.Errorf("post_processor = %+v", tj.PostProcessor)
	}
	if tj.Decoder.Type != "ByteLevel" {
		t.Errorf("decoder = %+v", tj.Decoder)
	}
	if tj.Model.Type != "BPE" || len(tj.Model.Vocab) != 50257 || len(tj.Model.Merges) != 50000 {
		t.Errorf("model: type %q, %d vocab, %d merges", tj.Model.Type, len(tj.Model.Vocab), len(tj.Model.Merges))
	}
	if !bytes.Contains(data, []byte(`"<|endoftext|>": 50256`)) {
		t.Error("special token is HTML-escaped or missing in the vocab")
	}
	// The vocab is written in id order, like Hugging Face's file.
	if i, j := bytes.Index(data, []byte(`"!": 0,`)), bytes.Index(data, []byte(`"\"": 1,`)); i < 0 || j < i {
		t.Error("vocab is not written in id order")
	}

	again, err := BuildTokenizerJSON(VocabJSON(), MergesTXT())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, data) {
		t.Error("BuildTokenizerJSON is not deterministic")
	}
}

func TestTokenizerJSONLoadsInHFTokenizer(t *testing.T) {
	data, err := TokenizerJSON()
	if err != nil {
		t.Fatal(err)
	}
	tok, err := hftokenizer.NewFromContent(nil, data)
	if err != nil {
		t.Fatal(err)
	}
	if id, ok := tok.TokenToID("Ġcats"); !ok || id != 11875 {
		t.Errorf("TokenToID(Ġcats) = %d, %v", id, ok)
	}
	if id, ok := tok.TokenToID(EndOfText); !ok || id != 50256 {
		t.Errorf("TokenToID(<|endoftext|>) = %d, %v", id, ok)
	}
	if got := tok.Decode([]int{8491, 11875, 922, 30}); got != "Are cats good?" {
		t.Errorf("Decode = %q", got)
	}
	if got := tok.Encode(" cats"); len(got) != 1 || got[0] != 11875 {
		t.Errorf("Encode(\" cats\") = %v, want [11875]", got)
	}
}

func TestBuildTokenizerJSONErrors(t *testing.T) {
	for _, c := range []struct {
		name, vocab, merges, want string
	}{
		{"vocab not JSON", `{"a": 0`, "#version: 0.2\na b\n", "vocab.json: not a JSON object"},
		{"vocab empty", `{}`, "#version: 0.2\na b\n", "empty vocabulary"},
		{"negative id", `{"a": -1}`, "#version: 0.2\na b\n", "negative id"},
		{"duplicate id", `{"a": 0, "b": 0}`, "#version: 0.2\na b\n", "share id 0"},
		{"bad merge line", `{"a": 0, "b": 1, "ab": 2}`, "#version: 0.2\nab\n", "merges.txt line 2"},
		{"merge not in vocab", `{"a": 0, "b": 1}`, "#version: 0.2\na b\n", `token "ab" is not in vocab.json`},
		{"no merges", `{"a": 0}`, "#version: 0.2\n", "no merges"},
		{"merges not UTF-8", `{"a": 0}`, "\xff\n", "not valid UTF-8"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := BuildTokenizerJSON([]byte(c.vocab), []byte(c.merges))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want it to mention %q", err, c.want)
			}
		})
	}
	// A minimal valid pair, with CRLF line ends and no special token.
	out, err := BuildTokenizerJSON([]byte(`{"a": 0, "b": 1, "ab": 2}`), []byte("#version: 0.2\r\na b\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := hftokenizer.NewFromContent(nil, out); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(out, []byte(`"added_tokens": []`)) {
		t.Errorf("want no added tokens:\n%s", out)
	}
}
