package display

import (
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/logitlens-go/logitlens/lensnb"
)

// Language is the language of the words this package adds around the data:
// default titles and subtitles, axis, legend and colour-bar names, tooltips,
// table headers and notes, and the names of states and components (rows). The
// data itself — tokens, the caller's titles and captions — is shown as given.
type Language int32

const (
	// English is the default (the CLI, the package's examples).
	English Language = iota
	// Russian is the language of the practicum's notebooks.
	Russian
)

func (l Language) String() string {
	switch l {
	case English:
		return "en"
	case Russian:
		return "ru"
	}
	return fmt.Sprintf("Language(%d)", int32(l))
}

var language atomic.Int32

// SetLanguage chooses the language of every chart, image and table built after
// the call, in the whole program (a notebook cell is a program of its own, so the
// notebooks set it in an init_ function GoNB runs before every cell). An unknown
// value means English.
func SetLanguage(l Language) {
	if l != Russian {
		l = English
	}
	language.Store(int32(l))
}

// CurrentLanguage returns the language SetLanguage chose (English by default).
func CurrentLanguage() Language { return Language(language.Load()) }

// tr picks the English or the Russian wording by the current language.
func tr(en, ru string) string {
	if CurrentLanguage() == Russian {
		return ru
	}
	return en
}

// StateLabel names a lens state, an attribution component or a head in the
// current language. In English it returns name unchanged ("embeddings",
// "blocks.3", "blocks.3.resid_mid", "blocks.3.attn", "pos_embed",
// "blocks.3.attn.head.7"); in Russian the same rows read "эмбеддинги", "блок 3",
// "блок 3: после внимания", "блок 3: внимание", "эмбеддинги позиций",
// "блок 3, голова 7". Blocks keep their numbers from 0, as in h.0 … h.11 of the
// model card. Names it does not know are returned unchanged.
func StateLabel(name string) string {
	if CurrentLanguage() != Russian {
		return name
	}
	switch name {
	case "embeddings":
		return "эмбеддинги"
	case "embed":
		return "эмбеддинги токенов"
	case "pos_embed":
		return "эмбеддинги позиций"
	}
	rest, ok := strings.CutPrefix(name, "blocks.")
	if !ok {
		return name
	}
	num, sub, _ := strings.Cut(rest, ".")
	if num == "" || strings.Trim(num, "0123456789") != "" {
		return name
	}
	block := "блок " + num
	switch {
	case sub == "":
		return block
	case sub == "resid_mid" || sub == "hook_resid_mid":
		return block + ": после внимания"
	case sub == "resid_pre" || sub == "hook_resid_pre":
		return block + ": вход"
	case sub == "resid_post" || sub == "hook_resid_post":
		return block + ": выход"
	case sub == "attn" || sub == "attn_out" || sub == "hook_attn_out":
		return block + ": внимание"
	case sub == "mlp" || sub == "mlp_out" || sub == "hook_mlp_out":
		return block + ": MLP"
	case sub == "attn.c_proj.bias":
		return block + ": смещение c_proj"
	}
	if h, ok := strings.CutPrefix(sub, "attn.head."); ok && h != "" && strings.Trim(h, "0123456789") == "" {
		return block + ", голова " + h
	}
	return name
}

// stateLabels applies StateLabel and plainText to every name.
func stateLabels(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = plainText(StateLabel(n))
	}
	return out
}

// metricName translates the names of lensnb's patching metrics (lensnb.Patching's
// Metric, which is English); others are returned unchanged.
func metricName(name string) string {
	if CurrentLanguage() != Russian {
		return name
	}
	if strings.HasPrefix(name, "KL share") {
		return "доля эффекта: 1 − KL(испорченный ‖ подменённый) / KL(испорченный ‖ чистый)"
	}
	if rest, ok := strings.CutPrefix(name, "logit difference "); ok {
		return "разность логитов " + strings.TrimSuffix(rest, ", normalised") + ", нормированная"
	}
	return name
}

// lensName names the lens that made r: the logit lens, or the tuned lens
// (lensnb.Options.Tuned).
func lensName(r *lensnb.Result) string {
	if r != nil && r.Lens == "tuned" {
		return tr("Tuned lens", "Настроенная линза (tuned lens)")
	}
	return tr("Logit lens", "Логит-линза")
}
