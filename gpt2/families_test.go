package gpt2_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/logitlens-go/logitlens/gpt2"
	"github.com/logitlens-go/logitlens/internal/fixture"
	"github.com/logitlens-go/logitlens/internal/reftest"
	"github.com/logitlens-go/logitlens/internal/stfile"
	"github.com/logitlens-go/logitlens/lm"
)

func familySpecs() map[string]fixture.Spec { return fixture.Families() }

func loadFamily(t *testing.T, spec fixture.Spec) *gpt2.Model {
	t.Helper()
	dir, err := fixture.Cached(spec)
	if err != nil {
		t.Fatal(err)
	}
	m, err := gpt2.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// Every family loads, runs causally (a prefix's logits do not depend on what
// follows), and generates with its KV cache exactly what full forward passes of
// the growing sequence give (the rotation by absolute position, the grouped
// heads, the parallel residual all pass through the cache path too).
func TestFamiliesRunAndGenerate(t *testing.T) {
	ids := []int{8491, 11875, 922, 30, 198, 464, 3280}
	for name, spec := range familySpecs() {
		t.Run(name, func(t *testing.T) {
			m := loadFamily(t, spec)
			full, err := m.Run(ids, lm.RunOptions{HiddenStates: true})
			if err != nil {
				t.Fatal(err)
			}
			if len(full.HiddenStates) != spec.NLayer+1 {
				t.Errorf("%d hidden states", len(full.HiddenStates))
			}
			prefix, err := m.Run(ids[:3], lm.RunOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if d := maxAbsDiff(prefix.Logits.Data, full.Logits.Data[:3*spec.VocabSize]); d > 1e-4 {
				t.Errorf("a prefix's logits move by %g when tokens follow: not causal", d)
			}
			gen, err := m.Generate(ids[:4], lm.GenerateOptions{MaxNewTokens: 5})
			if err != nil {
				t.Fatal(err)
			}
			for j, st := range gen.Steps {
				seq := gen.Sequence[:gen.PromptLen+j]
				r, err := m.Run(seq, lm.RunOptions{Logits: lm.LogitsLast})
				if err != nil {
					t.Fatal(err)
				}
				if d := maxAbsDiff(st.Logits, r.Logits.Data); d > 1e-4 {
					t.Errorf("step %d: KV-cache logits differ from a full pass by %g", j, d)
				}
			}
			for _, h := range []string{"blocks.1.hook_resid_mid", "blocks.0.attn.hook_z", lm.HookNormalized} {
				if err := lm.CheckHooks(m.Config, h); err != nil {
					t.Error(err)
				}
			}
			if err := lm.CheckHooks(m.Config, lm.HookPosEmbed); err == nil {
				t.Error("a rotary model offers hook_pos_embed")
			}
		})
	}
}

// A family's config errors say what to do.
func TestFamilyConfigErrors(t *testing.T) {
	for _, c := range []struct{ json, want string }{
		{`{"model_type":"bert"}`, "the families that load are gpt2, llama, qwen2, qwen3, gpt_neox"},
		{`{"model_type":"llama","hidden_size":32,"num_hidden_layers":2,"num_attention_heads":4,"num_key_value_heads":3,"intermediate_size":8,"max_position_embeddings":8,"vocab_size":10}`, "multiple of num_key_value_heads"},
		{`{"model_type":"llama","hidden_size":32,"num_hidden_layers":2,"num_attention_heads":4,"intermediate_size":8,"max_position_embeddings":8,"vocab_size":10,"rope_scaling":{"rope_type":"yarn","factor":4}}`, `rope_scaling of type "yarn" is not supported`},
		{`{"model_type":"llama","hidden_size":32,"num_hidden_layers":2,"num_attention_heads":4,"intermediate_size":8,"max_position_embeddings":8,"vocab_size":10,"hidden_act":"relu"}`, `hidden_act "relu"`},
		{`{"model_type":"gpt_neox","hidden_size":32,"num_hidden_layers":2,"num_attention_heads":4,"intermediate_size":8,"max_position_embeddings":8,"vocab_size":10,"rotary_pct":0.375}`, "even number"},
		{`{"model_type":"qwen2","hidden_size":32,"num_hidden_layers":0,"num_attention_heads":4,"intermediate_size":8,"max_position_embeddings":8,"vocab_size":10}`, "num_hidden_layers must be a positive integer"},
	} {
		if _, err := lm.ParseConfig([]byte(c.json)); err == nil || !contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.json, err, c.want)
		}
	}
	cfg, err := lm.ParseConfig([]byte(`{"model_type":"llama","hidden_size":32,"num_hidden_layers":2,"num_attention_heads":4,"intermediate_size":8,"max_position_embeddings":8,"vocab_size":10,"eos_token_id":[7,8]}`))
	if err != nil || cfg.EOSTokenID != 7 || cfg.TiedEmbeddings || !cfg.RMSNorm || cfg.KVHeads() != 4 {
		t.Errorf("llama defaults: %+v %v", cfg, err)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// Every family's logits, hidden states and hooks agree with the independent
// float64 reference (reference/families_ref.py, Hugging Face's semantics).
func TestFamiliesMatchReference(t *testing.T) {
	reftest.Require(t)
	ids := []int{8491, 11875, 922, 30, 198, 464, 3280, 318, 3763, 13}
	for name, spec := range familySpecs() {
		t.Run(name, func(t *testing.T) {
			m := loadFamily(t, spec)
			var ref struct {
				Logits       any            `json:"logits"`
				HiddenStates []any          `json:"hidden_states"`
				Hooks        map[string]any `json:"hooks"`
			}
			reftest.RunScript(t, &ref, "families_ref.py", "forward", "--model", m.Dir, "--ids", reftest.IDs(ids))
			keep := []string{"blocks.0.hook_resid_mid", "blocks.1.hook_mlp_out", "blocks.0.attn.hook_z", lm.HookNormalized}
			run, err := m.Run(ids, lm.RunOptions{HiddenStates: true, Keep: keep})
			if err != nil {
				t.Fatal(err)
			}
			d := maxDiff(t, "logits", run.Logits.Data, ref.Logits)
			if d > 1e-4 {
				t.Errorf("logits differ from the reference by %g", d)
			}
			t.Logf("largest logit difference from the reference: %.2g", d)
			if lo, hi := minMax(run.Logits.Data); hi-lo < 0.1 {
				t.Errorf("degenerate logits (all in [%g, %g]): the fixture is not exercising the model", lo, hi)
			}
			for i, h := range run.HiddenStates {
				if d := maxDiff(t, "hidden state", h.Data, ref.HiddenStates[i]); d > 1e-4 {
					t.Errorf("hidden state %d differs by %g", i, d)
				}
			}
			for _, k := range keep {
				if d := maxDiff(t, k, run.Hooks[k].Data, ref.Hooks[k]); d > 1e-4 {
					t.Errorf("%s differs by %g", k, d)
				}
			}
		})
	}
}

func minMax(v []float32) (lo, hi float32) {
	lo, hi = v[0], v[0]
	for _, x := range v {
		lo, hi = min(lo, x), max(hi, x)
	}
	return lo, hi
}

// shardedCopy writes the model folder src again as a sharded checkpoint (two
// shards and an index), as the hub ships the bigger models.
func shardedCopy(t *testing.T, src string) string {
	t.Helper()
	file, err := stfile.Read(filepath.Join(src, lm.WeightsFile))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, f := range []string{"config.json", "tokenizer.json"} {
		data, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, f), data, 0o644)
	}
	var names []string
	for name := range file.Tensors {
		names = append(names, name)
	}
	sort.Strings(names)
	shards := map[string][]stfile.Tensor{}
	weightMap := map[string]string{}
	for i, name := range names {
		shardName := fmt.Sprintf("model-%05d-of-00002.safetensors", i%2+1)
		info := file.Tensors[name]
		n := 1
		for _, d := range info.Shape {
			n *= d
		}
		vals, err := file.Float32(name, n)
		if err != nil {
			t.Fatal(err)
		}
		shards[shardName] = append(shards[shardName], stfile.Float32(name, info.Shape, vals))
		weightMap[name] = shardName
	}
	for name, ts := range shards {
		if err := stfile.Write(filepath.Join(dir, name), ts, nil); err != nil {
			t.Fatal(err)
		}
	}
	index, _ := json.Marshal(map[string]any{"metadata": map[string]any{}, "weight_map": weightMap})
	os.WriteFile(filepath.Join(dir, gpt2.IndexFile), index, 0o644)

	return dir
}

// A sharded checkpoint (model.safetensors.index.json and its shards, as the hub
// ships the bigger models) loads to the same model as the single file.
func TestShardedCheckpoint(t *testing.T) {
	whole := loadFamily(t, fixture.Families()["qwen3"])
	dir := shardedCopy(t, whole.Dir)
	sharded, err := gpt2.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	ids := []int{8491, 11875, 922, 30}
	a, _ := whole.Run(ids, lm.RunOptions{})
	b, err := sharded.Run(ids, lm.RunOptions{})
	if err != nil || maxAbsDiff(a.Logits.Data, b.Logits.Data) != 0 {
		t.Errorf("the sharded checkpoint gives other logits (%v)", err)
	}
	os.Remove(filepath.Join(dir, "model-00002-of-00002.safetensors"))
	if _, err := gpt2.LoadDir(dir); err == nil || !strings.Contains(err.Error(), "model-00002-of-00002.safetensors") {
		t.Errorf("a missing shard: %v, want its name", err)
	}
}

// lm.ReadWeight (what a notebook cell reads lm_head with) finds a weight in its shard.
func TestReadWeightFromShard(t *testing.T) {
	spec := fixture.Families()["llama"]
	m := loadFamily(t, spec)
	want, err := m.LMHead()
	if err != nil {
		t.Fatal(err)
	}
	got, err := lm.ReadWeight(shardedCopy(t, m.Dir), gpt2.HeadWeight(m.Config))
	if err != nil || maxAbsDiff(got.Data, want.Data) != 0 {
		t.Errorf("ReadWeight of lm_head: %v", err)
	}
}

// The model card of every family counts exactly the parameters the model has.
func TestFamilySummary(t *testing.T) {
	for name, spec := range fixture.Families() {
		m := loadFamily(t, spec)
		total := 0
		for _, w := range m.WeightNames() {
			a, err := m.Weight(w)
			if err != nil {
				t.Fatal(err)
			}
			total += len(a.Data)
		}
		s := m.Summary(4)
		if s.UniqueParams != total || s.Blocks != spec.NLayer || !strings.Contains(s.String(), "ForCausalLM") {
			t.Errorf("%s: the card counts %d unique parameters, the model has %d:\n%s", name, s.UniqueParams, total, s)
		}
	}
}
