package exercises

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/logitlens-go/logitlens/lensnb"
	"github.com/logitlens-go/logitlens/lm"
)

const (
	// EnvModel names the environment variable that chooses the notebooks' model.
	EnvModel = "LOGITLENS_MODEL"
	// DefaultModel is used when EnvModel is unset: GPT-2 small from the hub (or
	// from the Hugging Face cache, when it is there).
	DefaultModel = "gpt2"

	// Prompt is the course's prompt.
	Prompt = "Are cats good?"
	// PromptCyrillic is Part 2's prompt as the course typed it: its first letter
	// is the Cyrillic «А» (U+0410), not the Latin «A».
	PromptCyrillic = "\u0410re cats good?"
	// MaxLength is the length of the course's generation, prompt included.
	MaxLength = 14
)

// randomSuffix ends the Ref of every random-weights model, so that tables,
// charts and JSON made from it say so.
const randomSuffix = " (случайные веса)"

// IsRandom reports whether m was loaded as one of the random-weights models.
func IsRandom(m *lensnb.Model) bool { return lensnb.IsRandom(m) }

// LoadModel loads the model named by LOGITLENS_MODEL. Unset, it is DefaultModel
// when that can be had (cached, or downloadable now), else — a student offline —
// the demo model, with one line that says so.
func LoadModel() (*lensnb.Model, error) {
	ref := strings.TrimSpace(os.Getenv(EnvModel))
	if ref != "" {
		return LoadModelFrom(ref)
	}
	m, err := LoadModelFrom(DefaultModel)
	var me *lensnb.ModelError
	if err == nil || !errors.As(err, &me) || !me.Unavailable() {
		return m, err
	}
	fmt.Fprintf(out(), "ℹ GPT-2 small нет в кэше, и скачать её сейчас нельзя — работаем с моделью demo. "+
		"Чтобы взять GPT-2, подключитесь к сети или задайте %%env %s=gpt2.\n", EnvModel)
	return LoadModelFrom(lensnb.DemoModel)
}

// LoadModelFrom opens ref with lensnb.OpenModel: the model is held by a model
// server that the first cell starts and later cells reuse (LOGITLENS_RESIDENT=0:
// loaded in the cell itself, which must then link package engine). ref is a
// random-weights model's name, a hub id (from the Hugging Face cache when it is
// there, downloaded otherwise) or a local folder. A model that cannot be had is
// reported by a *LoadError that says, in Russian, what to do.
func LoadModelFrom(ref string) (*lensnb.Model, error) {
	m, err := lensnb.OpenModel(ref, lensnb.LoadModelOptions{Progress: os.Stderr, RandomLabel: randomSuffix})
	var me *lensnb.ModelError
	if errors.As(err, &me) {
		return nil, &LoadError{Ref: me.Ref, Err: err} // me.Ref: ref as the loader took it
	}
	if err != nil {
		return nil, &LoadError{Ref: ref, Err: err}
	}
	return m, nil
}

// LoadError is a model that could not be loaded; its message lists the ways out.
type LoadError struct {
	Ref string
	Err error
}

func (e *LoadError) Unwrap() error { return e.Err }

func (e *LoadError) Error() string {
	names := lensnb.RandomModelNames()
	var b strings.Builder
	fmt.Fprintf(&b, "Не удалось загрузить модель %q (переменная %s).\n", e.Ref, EnvModel)
	// The cause's first line; the rest is the loader's advice for the command line.
	cause := fmt.Sprint(e.Err)
	var me *lensnb.ModelError
	if errors.As(e.Err, &me) {
		cause = fmt.Sprint(me.Err)
	}
	cause, _, _ = strings.Cut(cause, "\n")
	fmt.Fprintf(&b, "Причина: %s\n\n", cause)
	b.WriteString("Что сделать (подойдёт любой вариант; ядро перезапускать не нужно — %env действует на следующие ячейки):\n")
	b.WriteString("  1. Модель уже скачана в папку (config.json, model.safetensors, tokenizer.json)?\n")
	fmt.Fprintf(&b, "     Выполните в ячейке:   %%env %s=/путь/к/папке\n", EnvModel)
	fmt.Fprintf(&b, "     или до запуска Jupyter: export %s=/путь/к/папке\n", EnvModel)
	b.WriteString("  2. Есть зеркало Hugging Face Hub? Укажите его, модель скачается один раз в кэш:\n")
	b.WriteString("     %env HF_ENDPOINT=https://адрес-зеркала   (для закрытых репозиториев ещё HF_TOKEN)\n")
	b.WriteString("  3. Нет ни сети, ни файлов? Возьмите маленькую GPT-2, обученную в этом репозитории (папка demo/):\n")
	fmt.Fprintf(&b, "     %%env %s=%s\n", EnvModel, lensnb.DemoModel)
	b.WriteString("     или пройдите механику на модели со случайными весами:\n")
	fmt.Fprintf(&b, "     %%env %s=tiny      (варианты: %s)\n", EnvModel, strings.Join(names, ", "))
	b.WriteString("     Проверки посчитают ответы по выбранной модели; у случайной модели токены и вероятности — шум.")
	return b.String()
}

var (
	modelOnce = new(sync.Once)
	model     *lensnb.Model
	modelErr  error

	// exit ends the cell's program; replaced in tests.
	exit = os.Exit
	// errOut receives Model's and Must's error reports.
	errOut io.Writer = os.Stderr
)

// Model returns the notebooks' model, loading it on the first call of the
// program (every GoNB cell is a new program, so: once per cell). For a
// random-weights model it prints a one-line warning. If the model cannot be
// loaded it prints what to do and ends the cell's program with exit status 1,
// which Jupyter shows as a failed cell.
func Model() *lensnb.Model {
	modelOnce.Do(func() {
		model, modelErr = LoadModel()
		switch {
		case modelErr != nil:
		case IsRandom(model):
			fmt.Fprintf(out(), "⚠ Модель %s: токены и вероятности — шум, смотрите на механику.\n", model.Ref)
		case lensnb.IsDemo(model):
			fmt.Fprintln(out(), "ℹ Модель demo: маленькая GPT-2, обученная кодом этого репозитория на английских текстах; это не GPT-2 от OpenAI, и выводы на ней — о ней самой.")
		}
	})
	if modelErr != nil {
		fmt.Fprintln(errOut, modelErr)
		exit(1)
	}
	return model
}

// Brief returns one line about m: its name and the backend it runs on, without
// its sizes (notebook 01 asks for them in its tasks).
func Brief(m *lensnb.Model) string {
	if m == nil {
		return "модель не загружена"
	}
	return fmt.Sprintf("модель %s; бэкенд %s", m.Ref, m.BackendName)
}

// Describe returns one line about m: its name, size and the backend it runs on.
func Describe(m *lensnb.Model) string {
	if m == nil {
		return "модель не загружена"
	}
	c := m.Config
	s := fmt.Sprintf("%s: %d %s, %d %s внимания, d=%d, словарь %s %s; бэкенд %s", m.Ref,
		c.NLayer, plural(c.NLayer, "блок", "блока", "блоков"), c.NHead, plural(c.NHead, "голова", "головы", "голов"),
		c.NEmbd, lm.Thousands(c.VocabSize), plural(c.VocabSize, "токен", "токена", "токенов"), m.BackendName)
	if IsRandom(m) {
		s += "\n⚠ Веса случайные: механика та же, что у GPT-2, но предсказания бессмысленны, и выводы курса на этой модели не проверить."
	}
	return s
}

// Must returns v, or prints err (in a notebook: under the cell) and ends the
// cell's program with exit status 1. It keeps cells short:
//
//	ids := exercises.Must(m.Tokenizer.Encode(exercises.Prompt))
func Must[T any](v T, err error) T {
	if err != nil {
		var le *LoadError
		if errors.As(err, &le) {
			fmt.Fprintln(errOut, le)
		} else {
			fmt.Fprintln(errOut, "Ошибка:", err)
		}
		exit(1)
	}
	return v
}

// HasGPU reports whether the notebooks' model runs on a GPU (XLA with CUDA or ROCm).
func HasGPU() bool {
	name := strings.ToLower(Model().BackendName)
	return strings.Contains(name, "cuda") || strings.Contains(name, "rocm") || strings.Contains(name, "gpu")
}

// Check is Must for calls that return only an error, such as the display
// functions:
//
//	exercises.Check(display.ShowHeatmap(r, display.HeatmapOptions{}))
func Check(err error) { Must(struct{}{}, err) }

// Card is the model card for an input of seqLen tokens, laid out like
// torchinfo's summary and worded in Russian: every module with its output shape
// and parameters, then the totals. Unlike Summary.String it does not spell out
// the number of blocks and outputs: tasks 3 and 4 ask for them.
func Card(m *lensnb.Model, seqLen int) string {
	if m == nil {
		return "модель не загружена"
	}
	s := m.Summary(seqLen)
	line := strings.Repeat("=", 80) + "\n"
	var b strings.Builder
	b.WriteString(line)
	fmt.Fprintf(&b, "%-44s %-20s %14s\n", "Модуль (тип)", "Форма выхода", "Параметров")
	b.WriteString(line)
	for _, r := range s.Rows {
		name := strings.Repeat("  ", r.Depth) + strings.Replace(r.Module, ", tied to wte", ", общая с wte", 1)
		fmt.Fprintf(&b, "%-44s %-20s %14s\n", name, r.Output, lm.Thousands(r.Params))
	}
	b.WriteString(line)
	fmt.Fprintf(&b, "Всего параметров (у torchinfo — Total params): %s\n", lm.Thousands(s.TotalParams))
	fmt.Fprintf(&b, "Уникальных параметров:                         %s\n", lm.Thousands(s.UniqueParams))
	fmt.Fprintf(&b, "  lm_head и wte — одна матрица (%s %s), и torchinfo считает её дважды.\n",
		lm.Thousands(s.TiedParams), plural(s.TiedParams, "параметр", "параметра", "параметров"))
	b.WriteString(line)
	return b.String()
}
