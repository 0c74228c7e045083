package exercises

import (
	"bytes"
	"crypto/sha256"
	"encoding/gob"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/logitlens-go/logitlens/internal/atomicfile"
	"github.com/logitlens-go/logitlens/lensnb"
	"github.com/logitlens-go/logitlens/lm"
)

// cacheVersion is part of every key: change it when what the notebooks remember
// (a generation, a lens) would be computed differently, so old values are not read.
const cacheVersion = "1"

// CacheDir is where Remember keeps its values: $LOGITLENS_CACHE/notebooks, else
// the user cache directory's logitlens/notebooks.
func CacheDir() (string, error) {
	root := os.Getenv("LOGITLENS_CACHE")
	if root == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			return "", err
		}
		root = filepath.Join(base, "logitlens")
	}
	return filepath.Join(root, "notebooks"), nil
}

// Remember returns what fn returns, computing it only the first time for this
// model and key: the value is kept on disk (encoding/gob, so T's data must be in
// exported fields) and read back by later calls — from later cells, or after the
// kernel restarts. The key must name everything the value depends on besides the
// model (the prompt, the options): the model itself (its folder, its weights
// file's size and time, its config) is part of the key already. A value that
// cannot be stored or read back is simply recomputed.
func Remember[T any](m *lensnb.Model, key string, fn func() (T, error)) (T, error) {
	path, err := rememberPath(m, key)
	if err == nil {
		if data, err := os.ReadFile(path); err == nil {
			var v T
			if gob.NewDecoder(bytes.NewReader(data)).Decode(&v) == nil {
				return v, nil
			}
		}
	}
	v, err := fn()
	if err != nil || path == "" {
		return v, err
	}
	var buf bytes.Buffer
	if gob.NewEncoder(&buf).Encode(v) == nil && os.MkdirAll(filepath.Dir(path), 0o755) == nil {
		_ = atomicfile.WriteBytes(path, buf.Bytes()) // a cache: failing to write only costs time
	}
	return v, nil
}

// Forget empties Remember's cache (every model, every key).
func Forget() error {
	dir, err := CacheDir()
	if err != nil {
		return err
	}
	return os.RemoveAll(dir)
}

func rememberPath(m *lensnb.Model, key string) (string, error) {
	if m == nil {
		return "", fmt.Errorf("remember: no model")
	}
	dir, err := CacheDir()
	if err != nil {
		return "", err
	}
	cfg, _ := json.Marshal(m.Config)
	id := fmt.Sprintf("%s\x00%s\x00%s\x00%s\x00", cacheVersion, m.Dir, cfg, key)
	if st, err := os.Stat(filepath.Join(m.Dir, lm.WeightsFile)); err == nil {
		id += fmt.Sprintf("%d\x00%d", st.Size(), st.ModTime().UnixNano())
	}
	sum := sha256.Sum256([]byte(id))
	return filepath.Join(dir, hex.EncodeToString(sum[:16])+".gob"), nil
}

// CourseGeneration is the course's generation, remembered: the model continues
// Prompt greedily to MaxLength tokens (MinLength too, so it cannot stop early),
// keeping every step's hidden states. Notebooks call it after the cell where the
// student runs m.Generate themselves, so that later cells do not generate again.
func CourseGeneration(m *lensnb.Model) (*lm.Generation, error) {
	return GenerationOf(m, Prompt, MaxLength)
}

// GenerationOf is CourseGeneration for any prompt and total length.
func GenerationOf(m *lensnb.Model, prompt string, maxLength int) (*lm.Generation, error) {
	if m == nil {
		return nil, fmt.Errorf("generation: no model")
	}
	ids, err := m.Tokenizer.Encode(prompt)
	if err != nil {
		return nil, err
	}
	key := fmt.Sprintf("generate:%v:max=%d:min=%d", ids, maxLength, maxLength)
	return Remember(m, key, func() (*lm.Generation, error) {
		return m.Generate(ids, lm.GenerateOptions{MaxLength: maxLength, MinLength: maxLength})
	})
}

// CourseLens is Part 1's lens, remembered: every hidden state of every step of
// CourseGeneration projected through lm_head without the final LayerNorm, as
// the course does it (lensnb.FromGeneration with NoFinalNorm).
func CourseLens(m *lensnb.Model) (*lensnb.Result, error) {
	gen, err := CourseGeneration(m)
	if err != nil {
		return nil, err
	}
	return Remember(m, fmt.Sprintf("course-lens:%v:raw", gen.Sequence), func() (*lensnb.Result, error) {
		return lensnb.FromGeneration(m, gen, lensnb.Options{NoFinalNorm: true})
	})
}
