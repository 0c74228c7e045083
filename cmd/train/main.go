// Command train trains a GPT-2 from scratch in GoMLX on the public-domain English
// corpus (package corpus) with GPT-2's real tokenizer, and writes it as a Hugging
// Face folder that every part of this project loads. It made the demo model in
// demo/ (see demo/README.md for the exact command):
//
//	go run ./cmd/train -out runs/demo -export demo
//
// The run folder holds the tokenised data (train.bin, val.bin), checkpoint.safetensors
// (weights, optimiser state, step; replaced atomically every -ckpt-every steps) and
// log.tsv (step, loss, validation loss, learning rate, tokens/s, seconds). Running
// the same command again resumes from the checkpoint; the batches of a step depend
// only on the seed and the step, so a resumed run trains on what an uninterrupted
// one would have.
//
// With -bench N the command trains N steps here and then PyTorch
// (reference/train_torch.py) on the very same batches, and prints both loss
// curves' ends and tokens/s side by side.
package main

import (
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/logitlens-go/logitlens/corpus"
	"github.com/logitlens-go/logitlens/gpt2"
	"github.com/logitlens-go/logitlens/internal/atomicfile"
	"github.com/logitlens-go/logitlens/internal/gpt2vocab"
	"github.com/logitlens-go/logitlens/lm"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "train:", err)
		os.Exit(1)
	}
}

// settings are the command's flags.
type settings struct {
	out, export, corpusDir string
	layers, heads, embd    int
	ctx                    int
	opts                   gpt2.TrainOptions
	seed                   uint64
	evalEvery, evalRows    int
	ckptEvery, maxSteps    int
	valEvery               int
	bench                  int
}

func parse(args []string, stderr io.Writer) (*settings, error) {
	s := &settings{}
	fs := flag.NewFlagSet("train", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&s.out, "out", "runs/demo", "run folder: tokenised data, checkpoint, log (resumed when it holds a checkpoint)")
	fs.StringVar(&s.export, "export", "", "when training ends, write the model here as an F16 Hugging Face folder")
	fs.StringVar(&s.corpusDir, "corpus", "", "node_modules folder holding the corpus packages (default: the repository's)")
	fs.IntVar(&s.layers, "layers", 6, "blocks (n_layer)")
	fs.IntVar(&s.heads, "heads", 6, "attention heads (n_head)")
	fs.IntVar(&s.embd, "embd", 192, "width of the residual stream (n_embd)")
	fs.IntVar(&s.ctx, "ctx", 256, "context (n_positions); sequences are trained at this length")
	fs.IntVar(&s.opts.Batch, "batch", 4, "sequences per step")
	fs.IntVar(&s.opts.Steps, "steps", 2000, "steps of the schedule")
	fs.IntVar(&s.maxSteps, "stop-at", 0, "stop (with a checkpoint) after this step, to continue later (0: run to -steps)")
	fs.IntVar(&s.opts.Warmup, "warmup", 100, "linear warm-up steps")
	fs.Float64Var(&s.opts.LR, "lr", 1e-3, "peak learning rate")
	fs.Float64Var(&s.opts.MinLR, "min-lr", 1e-4, "learning rate at the end of the cosine")
	fs.Float64Var(&s.opts.WeightDecay, "wd", 0.1, "AdamW weight decay")
	fs.Float64Var(&s.opts.ClipNorm, "clip", 1, "clip the gradients' global norm to this (negative: off)")
	var seed int64
	fs.Int64Var(&seed, "seed", 1, "seed of the initial weights and of the batches")
	fs.IntVar(&s.evalEvery, "eval-every", 200, "validation loss every this many steps")
	fs.IntVar(&s.evalRows, "eval-rows", 64, "validation sequences (fixed, of -ctx tokens)")
	fs.IntVar(&s.valEvery, "val-every", 20, "every this many-th document goes to the validation split")
	fs.IntVar(&s.ckptEvery, "ckpt-every", 100, "checkpoint every this many steps")
	fs.IntVar(&s.bench, "bench", 0, "train this many steps here and in PyTorch on the same batches, print the comparison, keep nothing")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q (all settings are flags; see -h)", fs.Args())
	}
	if seed < 0 {
		return nil, fmt.Errorf("-seed must be ≥ 0, got %d", seed)
	}
	s.seed = uint64(seed)
	s.opts.SeqLen = s.ctx
	for _, f := range []struct {
		name string
		v    int
	}{{"-layers", s.layers}, {"-heads", s.heads}, {"-embd", s.embd}, {"-ctx", s.ctx}, {"-eval-every", s.evalEvery}, {"-eval-rows", s.evalRows}, {"-ckpt-every", s.ckptEvery}, {"-val-every", s.valEvery}} {
		if f.v < 1 {
			return nil, fmt.Errorf("%s must be ≥ 1, got %d", f.name, f.v)
		}
	}
	if s.valEvery < 2 {
		return nil, fmt.Errorf("-val-every must be ≥ 2 (1 would leave no training text)")
	}
	if s.embd%s.heads != 0 {
		return nil, fmt.Errorf("-embd %d must be a multiple of -heads %d", s.embd, s.heads)
	}
	return s, nil
}

func (s *settings) config() *lm.Config {
	return &lm.Config{NLayer: s.layers, NHead: s.heads, NEmbd: s.embd, NPositions: s.ctx, VocabSize: 50257,
		LayerNormEps: 1e-5, Activation: "gelu_new", BOSTokenID: 50256, EOSTokenID: 50256, ModelType: "gpt2"}
}

// fingerprint is what must match for a run folder to be resumed.
func (s *settings) fingerprint() string {
	o := s.opts
	return fmt.Sprintf("layers=%d heads=%d embd=%d ctx=%d batch=%d steps=%d warmup=%d lr=%g min_lr=%g wd=%g clip=%g seed=%d val_every=%d",
		s.layers, s.heads, s.embd, s.ctx, o.Batch, o.Steps, o.Warmup, o.LR, o.MinLR, o.WeightDecay, o.ClipNorm, s.seed, s.valEvery)
}

func run(args []string, stdout io.Writer) error {
	s, err := parse(args, os.Stderr)
	if err != nil {
		return err
	}
	tj, err := gpt2vocab.TokenizerJSON()
	if err != nil {
		return err
	}
	tok, err := lm.ParseTokenizer(tj)
	if err != nil {
		return err
	}
	if s.bench > 0 {
		return bench(s, tok, stdout)
	}
	if err := os.MkdirAll(s.out, 0o755); err != nil {
		return err
	}
	trainIDs, valIDs, err := tokenised(s, tok, stdout)
	if err != nil {
		return err
	}
	m, err := gpt2.NewRandom(s.config(), tok, s.seed)
	if err != nil {
		return err
	}
	ckpt := filepath.Join(s.out, "checkpoint.safetensors")
	var elapsed float64 // seconds of training before this process (resumed runs)
	if _, err := os.Stat(ckpt); err == nil {
		meta, err := m.RestoreCheckpoint(ckpt)
		if err != nil {
			return err
		}
		if meta["settings"] != s.fingerprint() {
			return fmt.Errorf("%s was made with other settings:\n  it:   %s\n  now:  %s\nuse another -out folder, or the same flags to resume", ckpt, meta["settings"], s.fingerprint())
		}
		elapsed, _ = strconv.ParseFloat(meta["seconds"], 64)
	}
	tr, err := gpt2.NewTrainer(m, s.opts)
	if err != nil {
		return err
	}
	sampler := newSampler(trainIDs, s.ctx+1, s.opts.Batch, s.seed)
	if err := sampler.check(); err != nil {
		return err
	}
	valRows := fixedRows(valIDs, s.ctx+1, s.evalRows)
	if len(valRows) == 0 {
		return fmt.Errorf("the validation split has %d tokens, fewer than one sequence of %d: lower -val-every or -ctx", len(valIDs), s.ctx+1)
	}
	logPath := filepath.Join(s.out, "log.tsv")
	last := s.opts.Steps
	if s.maxSteps > 0 {
		last = min(last, s.maxSteps)
	}
	start := tr.StepsDone()
	if start == 0 {
		if err := atomicfile.WriteBytes(logPath, []byte("step\tloss\tval_loss\tlr\ttokens_per_s\tseconds\n")); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "train: GPT-2 %s on %d training / %d validation tokens; step %d of %d (backend %s)\n",
		s.fingerprint(), len(trainIDs), len(valIDs), start, s.opts.Steps, m.BackendName)
	if start == 0 {
		v, err := validation(m, valRows, s.opts.Batch)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "step 0: validation loss %.4f (uniform over the vocabulary: %.4f)\n", v, math.Log(50257))
		if err := appendLog(logPath, fmt.Sprintf("0\t\t%.5f\t0\t\t%.1f\n", v, elapsed)); err != nil {
			return err
		}
	}
	began := time.Now()
	var sumLoss float64
	var nLoss int
	tokensPerStep := s.opts.Batch * s.opts.SeqLen
	for step := start; step < last; step++ {
		t0 := time.Now()
		loss, err := tr.Step(sampler.rows(step))
		if err != nil {
			return err
		}
		dt := time.Since(t0).Seconds()
		sumLoss += loss
		nLoss++
		done := step + 1
		secs := elapsed + time.Since(began).Seconds()
		if done%10 == 0 || done == last {
			rate := float64(tokensPerStep) / dt
			remaining := time.Duration(float64(last-done) * time.Since(began).Seconds() / float64(done-start) * float64(time.Second))
			fmt.Fprintf(stdout, "step %d/%d  loss %.4f  lr %.2e  %.0f tokens/s  %s elapsed  ETA %s\n",
				done, s.opts.Steps, sumLoss/float64(nLoss), s.opts.LearningRate(step), rate,
				(time.Duration(secs) * time.Second).Round(time.Second), remaining.Round(time.Second))
		}
		valText := ""
		if done%s.evalEvery == 0 || done == s.opts.Steps {
			v, err := validation(m, valRows, s.opts.Batch)
			if err != nil {
				return err
			}
			valText = fmt.Sprintf("%.5f", v)
			fmt.Fprintf(stdout, "step %d: validation loss %.4f\n", done, v)
		}
		if done%10 == 0 || valText != "" || done == last {
			line := fmt.Sprintf("%d\t%.5f\t%s\t%.6g\t%.1f\t%.1f\n", done, sumLoss/float64(nLoss), valText, s.opts.LearningRate(step), float64(tokensPerStep)/dt, secs)
			if err := appendLog(logPath, line); err != nil {
				return err
			}
			sumLoss, nLoss = 0, 0
		}
		if done%s.ckptEvery == 0 || done == last {
			meta := map[string]string{"settings": s.fingerprint(), "seconds": fmt.Sprintf("%.1f", secs)}
			if err := tr.SaveCheckpoint(ckpt, meta); err != nil {
				return err
			}
		}
	}
	if tr.StepsDone() < s.opts.Steps {
		fmt.Fprintf(stdout, "train: stopped at step %d of %d; run the same command without -stop-at to continue\n", tr.StepsDone(), s.opts.Steps)
		return nil
	}
	if s.export != "" {
		secs := elapsed + time.Since(began).Seconds()
		if start == s.opts.Steps {
			secs = elapsed
		}
		meta := map[string]string{"logitlens_training": s.fingerprint(), "logitlens_seconds": fmt.Sprintf("%.0f", secs),
			"logitlens_tokens_seen": strconv.Itoa(s.opts.Steps * tokensPerStep)}
		if err := m.Save(s.export, gpt2.SaveOptions{Half: true, Metadata: meta}); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "train: wrote %s (F16)\n", s.export)
	}
	return nil
}

func appendLog(path, line string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(line); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// validation is the mean loss over the fixed validation rows, batch rows at a time.
func validation(m *gpt2.Model, rows [][]int, batch int) (float64, error) {
	var sum float64
	n := 0
	for i := 0; i+batch <= len(rows); i += batch {
		l, err := m.Loss(rows[i : i+batch])
		if err != nil {
			return 0, err
		}
		sum += l
		n++
	}
	if n == 0 {
		l, err := m.Loss(rows)
		return l, err
	}
	return sum / float64(n), nil
}

// tokenised returns the training and validation token streams, tokenising the
// corpus once into the run folder (train.bin, val.bin: int32 little-endian).
// Documents are joined with <|endoftext|>; every val-every-th document is held out.
func tokenised(s *settings, tok *lm.Tokenizer, stdout io.Writer) (trainIDs, valIDs []int, err error) {
	tp, vp := filepath.Join(s.out, "train.bin"), filepath.Join(s.out, "val.bin")
	marker := filepath.Join(s.out, "data.txt")
	want := fmt.Sprintf("corpus %s val_every=%d tokenizer=gpt2\n", strings.Join(corpus.Packages, "+"), s.valEvery)
	if got, err := os.ReadFile(marker); err == nil && string(got) == want {
		trainIDs, err1 := readIDs(tp)
		valIDs, err2 := readIDs(vp)
		if err1 == nil && err2 == nil {
			return trainIDs, valIDs, nil
		}
	}
	root := s.corpusDir
	if root == "" {
		if root, err = corpus.Dir(); err != nil {
			return nil, nil, err
		}
	}
	docs, err := corpus.Load(root)
	if err != nil {
		return nil, nil, err
	}
	t0 := time.Now()
	fmt.Fprintf(stdout, "train: tokenising %d documents…\n", len(docs))
	trainIDs, valIDs, err = encodeDocs(docs, tok, s.valEvery)
	if err != nil {
		return nil, nil, err
	}
	fmt.Fprintf(stdout, "train: %d training and %d validation tokens in %.1fs\n", len(trainIDs), len(valIDs), time.Since(t0).Seconds())
	if err := writeIDs(tp, trainIDs); err != nil {
		return nil, nil, err
	}
	if err := writeIDs(vp, valIDs); err != nil {
		return nil, nil, err
	}
	return trainIDs, valIDs, atomicfile.WriteBytes(marker, []byte(want))
}

// encodeDocs tokenises docs on every core; document i goes to validation when
// i%valEvery == valEvery-1. Each document is followed by <|endoftext|>.
func encodeDocs(docs []corpus.Document, tok *lm.Tokenizer, valEvery int) (trainIDs, valIDs []int, err error) {
	enc := make([][]int, len(docs))
	errs := make([]error, len(docs))
	work := make(chan int)
	done := make(chan struct{})
	workers := runtime.NumCPU()
	for w := 0; w < workers; w++ {
		go func() {
			for i := range work {
				ids, err := tok.Encode(docs[i].Text)
				enc[i], errs[i] = append(ids, tok.EOS()), err
			}
			done <- struct{}{}
		}()
	}
	for i := range docs {
		work <- i
	}
	close(work)
	for w := 0; w < workers; w++ {
		<-done
	}
	for i, ids := range enc {
		if errs[i] != nil {
			return nil, nil, fmt.Errorf("tokenise %s/%s: %w", docs[i].Source, docs[i].Name, errs[i])
		}
		if i%valEvery == valEvery-1 {
			valIDs = append(valIDs, ids...)
		} else {
			trainIDs = append(trainIDs, ids...)
		}
	}
	return trainIDs, valIDs, nil
}

func writeIDs(path string, ids []int) error {
	buf := make([]byte, 0, 4*len(ids))
	for _, id := range ids {
		buf = binary.LittleEndian.AppendUint32(buf, uint32(id))
	}
	return atomicfile.WriteBytes(path, buf)
}

func readIDs(path string) ([]int, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(data)%4 != 0 {
		return nil, fmt.Errorf("%s: %d bytes is not a whole number of int32 ids", path, len(data))
	}
	ids := make([]int, len(data)/4)
	for i := range ids {
		ids[i] = int(int32(binary.LittleEndian.Uint32(data[4*i:])))
	}
	return ids, nil
}

// sampler draws the batches: step s's rows are windows of width tokens at offsets
// drawn from a generator seeded by (seed, s), so any step's batch can be made
// again without replaying the ones before it.
type sampler struct {
	ids          []int
	width, batch int
	seed         uint64
}

func newSampler(ids []int, width, batch int, seed uint64) *sampler {
	return &sampler{ids: ids, width: width, batch: batch, seed: seed}
}

func (s *sampler) check() error {
	if len(s.ids) < s.width+1 {
		return fmt.Errorf("the training split has %d tokens, fewer than one sequence of %d", len(s.ids), s.width)
	}
	return nil
}

func (s *sampler) rows(step int) [][]int {
	rng := rand.New(rand.NewPCG(s.seed, uint64(step)+0x626174636800))
	rows := make([][]int, s.batch)
	for i := range rows {
		at := rng.IntN(len(s.ids) - s.width + 1)
		rows[i] = s.ids[at : at+s.width]
	}
	return rows
}

// fixedRows cuts up to n consecutive, non-overlapping windows of width tokens.
func fixedRows(ids []int, width, n int) [][]int {
	var rows [][]int
	for at := 0; at+width <= len(ids) && len(rows) < n; at += width {
		rows = append(rows, ids[at:at+width])
	}
	return rows
}

// bench trains s.bench steps here, then the same model on the same batches in
// PyTorch, and prints the comparison.
func bench(s *settings, tok *lm.Tokenizer, stdout io.Writer) error {
	tmp, err := os.MkdirTemp("", "train-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	s.out = tmp
	trainIDs, _, err := tokenised(s, tok, io.Discard)
	if err != nil {
		return err
	}
	sampler := newSampler(trainIDs, s.ctx+1, s.opts.Batch, s.seed)
	if err := sampler.check(); err != nil {
		return err
	}
	batches := make([][][]int, s.bench)
	var flat []int
	for i := range batches {
		batches[i] = sampler.rows(i)
		for _, r := range batches[i] {
			flat = append(flat, r...)
		}
	}
	bp := filepath.Join(tmp, "batches.bin")
	if err := writeIDs(bp, flat); err != nil {
		return err
	}
	m, err := gpt2.NewRandom(s.config(), tok, s.seed)
	if err != nil {
		return err
	}
	if err := m.Save(filepath.Join(tmp, "model"), gpt2.SaveOptions{}); err != nil {
		return err
	}
	tr, err := gpt2.NewTrainer(m, s.opts)
	if err != nil {
		return err
	}
	goLoss := make([]float64, s.bench)
	goSecs := make([]float64, s.bench)
	for i, b := range batches {
		t0 := time.Now()
		if goLoss[i], err = tr.Step(b); err != nil {
			return err
		}
		goSecs[i] = time.Since(t0).Seconds()
	}
	_, file, _, _ := runtime.Caller(0)
	script := filepath.Join(filepath.Dir(filepath.Dir(filepath.Dir(file))), "reference", "train_torch.py")
	o := s.opts
	cmd := exec.Command("/usr/bin/python3", script, "--batches", bp, "--config", filepath.Join(tmp, "model", "config.json"),
		"--batch", strconv.Itoa(o.Batch), "--seq", strconv.Itoa(o.SeqLen), "--lr", fmt.Sprint(o.LR), "--min-lr", fmt.Sprint(o.MinLR),
		"--warmup", strconv.Itoa(o.Warmup), "--steps", strconv.Itoa(o.Steps), "--weight-decay", fmt.Sprint(o.WeightDecay),
		"--clip", fmt.Sprint(o.ClipNorm), "--init", filepath.Join(tmp, "model"))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("pytorch side (%s): %w (is Debian's python3-torch installed? scripts/install-reference.sh)", script, err)
	}
	var ptLoss, ptSecs []float64
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) == 4 && f[0] == "step" {
			l, _ := strconv.ParseFloat(f[2], 64)
			t, _ := strconv.ParseFloat(f[3], 64)
			ptLoss, ptSecs = append(ptLoss, l), append(ptSecs, t)
		}
	}
	if len(ptLoss) != s.bench {
		return errors.New("pytorch side printed " + strconv.Itoa(len(ptLoss)) + " steps, expected " + strconv.Itoa(s.bench))
	}
	rate := func(secs []float64) float64 { // steady state: without the first step (compilation / warm-up)
		var sum float64
		for _, x := range secs[1:] {
			sum += x
		}
		return float64(o.Batch*o.SeqLen*(len(secs)-1)) / sum
	}
	mean := func(xs []float64, from, to int) float64 {
		var sum float64
		for _, x := range xs[from:to] {
			sum += x
		}
		return sum / float64(to-from)
	}
	k := min(10, s.bench)
	fmt.Fprintf(stdout, "\nGPT-2 n_layer=%d n_head=%d n_embd=%d, %d×%d tokens per step, %d steps on the same batches\n\n", s.layers, s.heads, s.embd, o.Batch, o.SeqLen, s.bench)
	fmt.Fprintf(stdout, "| side | tokens/s | first step (s) | loss, first %d steps | loss, last %d steps |\n|---|---|---|---|---|\n", k, k)
	fmt.Fprintf(stdout, "| GoMLX (%s) | %.0f | %.2f | %.4f | %.4f |\n", m.BackendName, rate(goSecs), goSecs[0], mean(goLoss, 0, k), mean(goLoss, s.bench-k, s.bench))
	fmt.Fprintf(stdout, "| PyTorch %s | %.0f | %.2f | %.4f | %.4f |\n", torchThreads(), rate(ptSecs), ptSecs[0], mean(ptLoss, 0, k), mean(ptLoss, s.bench-k, s.bench))
	fmt.Fprintf(stdout, "\nGoMLX / PyTorch tokens/s: %.2f\n", rate(goSecs)/rate(ptSecs))
	return nil
}

func torchThreads() string {
	if t := os.Getenv("BENCH_TORCH_THREADS"); t != "" {
		return "(" + t + " threads)"
	}
	return "(2 threads)"
}
