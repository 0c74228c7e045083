package exercises

import (
	"os"
	"strings"
)

// EnvLargeModel names the environment variable with the model that
// notebooks/03 tries on a GPU; LargeModel returns it (default "gpt2-xl").
const EnvLargeModel = "LOGITLENS_LARGE_MODEL"

// LargeModel is the model to try on a GPU: $LOGITLENS_LARGE_MODEL, else gpt2-xl
// (1.5 billion parameters, the size nostalgebraist's logit lens post looked at).
func LargeModel() string {
	if s := strings.TrimSpace(os.Getenv(EnvLargeModel)); s != "" {
		return s
	}
	return "gpt2-xl"
}
