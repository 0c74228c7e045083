package engine

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gomlx/gomlx/core/tensors"

	"github.com/logitlens-go/logitlens/internal/reftest"
	"github.com/logitlens-go/logitlens/lensnb"
)

// BenchmarkTuneStep times one tuned-lens training step (model run excluded: the
// translators' loss, its gradient and the update) here and in PyTorch on the same
// batch, for the demo model and GPT-2-small shapes, and prints tokens/s side by side.
func BenchmarkTuneStep(b *testing.B) {
	reftest.Require(b)
	const steps, rows, seq = 6, 4, 128
	fmt.Printf("\n| model | tokens/step | GoMLX tokens/s | PyTorch tokens/s | ratio |\n|---|---|---|---|---|\n")
	for _, ref := range []string{"demo", "small"} {
		m, err := LoadModel(ref, lensnb.LoadModelOptions{})
		if err != nil {
			b.Logf("%s: %v", ref, err)
			continue
		}
		tl, _ := lensnb.NewTunedLens(m)
		tu, err := newTuner(gptOf(m), tl, lensnb.TuneOptions{Momentum: 0.9, WeightDecay: 1e-3, ClipNorm: 1}.WithDefaults(m.Config))
		if err != nil {
			b.Fatal(err)
		}
		ids, _ := m.Tokenizer.Encode(strings.Repeat("The cat sat on the mat. Are cats good? The dog ran to the park. ", 40))
		var batch [][]int
		for i := 0; i < rows; i++ {
			batch = append(batch, ids[i*seq/2:i*seq/2+seq])
		}
		x, hf, err := tuneInputs(gptOf(m), batch)
		if err != nil {
			b.Fatal(err)
		}
		var secs []float64
		for i := 0; i < steps; i++ {
			t0 := time.Now()
			out, err := tu.exec.Exec(x, hf, float32(1e-3))
			if err != nil {
				b.Fatal(err)
			}
			for _, o := range out {
				o.FinalizeAll()
			}
			secs = append(secs, time.Since(t0).Seconds())
		}
		var sum float64
		for _, s := range secs[1:] {
			sum += s
		}
		goRate := float64(rows*seq*(steps-1)) / sum
		// The same batch for PyTorch.
		in := filepath.Join(b.TempDir(), "in.safetensors")
		n, d := m.Config.NLayer, m.Config.NEmbd
		wte, _ := m.LMHead()
		gain, _ := m.Weight("ln_f.weight")
		bias, _ := m.Weight("ln_f.bias")
		xs, _ := tensors.CopyFlatData[float32](x)
		hs, _ := tensors.CopyFlatData[float32](hf)
		writeF32(b, in, map[string]string{"eps": "1e-05"}, []named{{"x", x.Shape().Dimensions, xs}, {"hf", hf.Shape().Dimensions, hs},
			{"W", []int{n, d, d}, make([]float32, n*d*d)}, {"b", []int{n, d}, make([]float32, n*d)}, {"wte", wte.Shape, wte.Data}, {"gain", []int{d}, gain.Data}, {"bias", []int{d}, bias.Data}})
		outp, err := exec.Command("/usr/bin/python3", filepath.Join(reftest.Root(b), "reference", "tuned_lens_ref.py"), "--time", fmt.Sprint(steps), in).CombinedOutput()
		if err != nil {
			b.Fatalf("tuned_lens_ref.py --time: %v\n%s", err, outp)
		}
		var ptRate float64
		fmt.Sscanf(strings.TrimSpace(string(outp)), "tokens_per_s %f", &ptRate)
		fmt.Printf("| %s (n_layer=%d, d=%d) | %d | %.0f | %.0f | %.2f |\n", ref, n, d, rows*seq, goRate, ptRate, goRate/ptRate)
	}
}
