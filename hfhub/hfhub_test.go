package hfhub_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/logitlens-go/logitlens/hfhub"
	"github.com/logitlens-go/logitlens/internal/hubtest"
)

// hubModelFiles are the files ResolveModel fetches for a repo with tokenizer.json.
var hubModelFiles = []string{"config.json", "model.safetensors", "tokenizer.json"}

// hubFakeRepo returns small fake repo files whose content depends on tag. The
// contents are not a real model: ResolveModel only moves bytes.
func hubFakeRepo(tag string) map[string][]byte {
	weights := bytes.Repeat([]byte("weights-"+tag+"|"), 5000) // ~70 kB, served as an LFS file
	return map[string][]byte{
		"config.json":       []byte(`{"model_type":"gpt2","n_layer":2,"n_head":2,"n_embd":8,"tag":"` + tag + `"}`),
		"model.safetensors": weights,
		"tokenizer.json":    []byte(`{"model":{"type":"BPE"},"tag":"` + tag + `"}`),
		"vocab.json":        []byte(`{"a":0,"tag-` + tag + `":1}`),
		"merges.txt":        []byte("#version: 0.2\na b\n"),
		"pytorch_model.bin": []byte("not fetched " + tag),
		"README.md":         []byte("# fake " + tag),
	}
}

// hubEnv points every Hugging Face variable at test values: a fresh HF_HOME, and
// HF_ENDPOINT at endpoint (a hubtest server, or a closed local port when "").
// It returns the hub cache folder.
func hubEnv(t *testing.T, endpoint string) string {
	t.Helper()
	home := t.TempDir()
	if endpoint == "" {
		endpoint = "http://127.0.0.1:1" // nothing listens there: never the real hub
	}
	for k, v := range map[string]string{
		"HF_HOME":                home,
		"HF_ENDPOINT":            endpoint,
		"HF_HUB_CACHE":           "",
		"HUGGINGFACE_HUB_CACHE":  "",
		"HF_HUB_OFFLINE":         "",
		"HF_TOKEN":               "",
		"HUGGING_FACE_HUB_TOKEN": "",
		"HF_TOKEN_PATH":          "",
		"XDG_CACHE_HOME":         filepath.Join(home, "xdg"),
	} {
		t.Setenv(k, v)
	}
	return filepath.Join(home, "hub")
}

// hubCheckFiles asserts that dir holds want[name] for each name.
func hubCheckFiles(t *testing.T, dir string, want map[string][]byte, names ...string) {
	t.Helper()
	for _, name := range names {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !bytes.Equal(got, want[name]) {
			t.Errorf("%s: got %d bytes %.40q, want %d bytes %.40q", name, len(got), got, len(want[name]), want[name])
		}
	}
}

// hubLeftovers lists files under dir that look like unfinished downloads.
func hubLeftovers(t *testing.T, dir string) []string {
	t.Helper()
	var bad []string
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && (strings.HasSuffix(p, ".incomplete") || strings.HasSuffix(p, ".part") || strings.HasSuffix(p, ".tmp")) {
			bad = append(bad, p)
		}
		return nil
	})
	return bad
}

func TestResolveModelDownloadThenCache(t *testing.T) {
	srv := hubtest.NewServer()
	defer srv.Close()
	files := hubFakeRepo("main")
	commit := srv.AddRevision("openai-community/gpt2", files, "main")
	cache := hubEnv(t, srv.URL)

	// Partial downloads left by killed processes: an old one is cleaned up, a
	// fresh one (maybe another process downloading now) is left alone.
	weightsSum := sha256.Sum256(files["model.safetensors"])
	blobs := filepath.Join(cache, "models--openai-community--gpt2", "blobs")
	stale := filepath.Join(blobs, hex.EncodeToString(weightsSum[:])+".999-dead.incomplete.part")
	fresh := filepath.Join(blobs, hex.EncodeToString(weightsSum[:])+".998-live.incomplete.part")
	if err := os.MkdirAll(blobs, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{stale, fresh} {
		if err := os.WriteFile(p, []byte("partial"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}

	var progress bytes.Buffer
	dir, err := hfhub.Resolve("gpt2", hfhub.Options{Progress: &progress})
	if err != nil {
		t.Fatal(err)
	}
	repoDir := filepath.Join(cache, "models--openai-community--gpt2")
	if want := filepath.Join(repoDir, "snapshots", commit); dir != want {
		t.Fatalf("dir = %s, want %s", dir, want)
	}
	hubCheckFiles(t, dir, files, hubModelFiles...)
	for _, name := range []string{"README.md", "pytorch_model.bin", "vocab.json", "merges.txt"} {
		if _, err := os.Lstat(filepath.Join(dir, name)); err == nil {
			t.Errorf("%s was downloaded, but is not needed", name)
		}
	}
	// Python huggingface_hub layout: snapshot entries link into blobs/, refs/main holds the commit.
	for _, name := range hubModelFiles {
		target, err := os.Readlink(filepath.Join(dir, name))
		if err != nil || !strings.HasPrefix(target, filepath.Join("..", "..", "blobs")+string(filepath.Separator)) {
			t.Errorf("%s: link target %q (%v), want ../../blobs/<etag>", name, target, err)
		}
	}
	if ref, err := os.ReadFile(filepath.Join(repoDir, "refs", "main")); err != nil || string(ref) != commit {
		t.Errorf("refs/main = %q (%v), want %q", ref, err, commit)
	}
	if _, err := os.Stat(stale); err == nil {
		t.Errorf("stale partial download %s was not removed", stale)
	}
	if err := os.Remove(fresh); err != nil {
		t.Errorf("fresh partial download: %v", err)
	}
	if left := hubLeftovers(t, cache); len(left) > 0 {
		t.Errorf("temporary files left behind: %v", left)
	}
	for _, want := range []string{"openai-community/gpt2@main", "model.safetensors: done"} {
		if !strings.Contains(progress.String(), want) {
			t.Errorf("progress output lacks %q:\n%s", want, progress.String())
		}
	}
	if n := srv.Count("GET", "/model.safetensors"); n != 1 {
		t.Errorf("model.safetensors fetched %d times, want 1", n)
	}

	// Again, online: served from the cache without a request.
	before := len(srv.Requests())
	if again, err := hfhub.Resolve("gpt2", hfhub.Options{}); err != nil || again != dir {
		t.Fatalf("second call: %q, %v; want %q", again, err, dir)
	}
	if n := len(srv.Requests()) - before; n != 0 {
		t.Errorf("second call made %d requests, want 0", n)
	}

	// With the server gone, every spelling of the same revision still resolves.
	srv.Close()
	for _, ref := range []string{"gpt2", "GPT2", "openai-community/gpt2", "gpt2@main", "gpt2@" + commit} {
		for _, offline := range []bool{false, true} {
			got, err := hfhub.Resolve(ref, hfhub.Options{Offline: offline})
			if err != nil {
				t.Errorf("%s (offline=%v) with the server stopped: %v", ref, offline, err)
				continue
			}
			if got != dir {
				t.Errorf("%s (offline=%v) = %s, want %s", ref, offline, got, dir)
			}
			hubCheckFiles(t, got, files, hubModelFiles...)
		}
	}
}

func TestResolveModelRevisions(t *testing.T) {
	srv := hubtest.NewServer()
	defer srv.Close()
	mainFiles, v1Files := hubFakeRepo("main"), hubFakeRepo("v1")
	v1Commit := srv.AddRevision("openai-community/gpt2", v1Files, "v1", "release")
	mainCommit := srv.AddRevision("openai-community/gpt2", mainFiles, "main")
	if v1Commit == mainCommit {
		t.Fatal("fake commits collide")
	}
	hubEnv(t, srv.URL)

	tests := []struct {
		ref    string
		commit string
		files  map[string][]byte
	}{
		{"gpt2@v1", v1Commit, v1Files},
		{"gpt2", mainCommit, mainFiles},
		{"openai-community/gpt2@release", v1Commit, v1Files},
		{"gpt2@" + v1Commit, v1Commit, v1Files},
		{"gpt2@" + strings.ToUpper(mainCommit), mainCommit, mainFiles},
		{"openai-community/gpt2@main", mainCommit, mainFiles},
	}
	check := func(t *testing.T, ref, commit string, files map[string][]byte, opts hfhub.Options) {
		t.Helper()
		dir, err := hfhub.Resolve(ref, opts)
		if err != nil {
			t.Fatal(err)
		}
		if filepath.Base(dir) != commit {
			t.Errorf("dir = %s, want snapshot %s", dir, commit)
		}
		hubCheckFiles(t, dir, files, hubModelFiles...)
	}
	for _, tt := range tests {
		t.Run("online/"+tt.ref, func(t *testing.T) { check(t, tt.ref, tt.commit, tt.files, hfhub.Options{}) })
	}
	if n := srv.Count("GET", "/model.safetensors"); n != 2 {
		t.Errorf("model.safetensors fetched %d times for 2 commits, want 2", n)
	}
	srv.Close()
	for _, tt := range tests {
		t.Run("offline/"+tt.ref, func(t *testing.T) { check(t, tt.ref, tt.commit, tt.files, hfhub.Options{Offline: true}) })
	}
	if _, err := hfhub.Resolve("gpt2@v2", hfhub.Options{Offline: true}); err == nil {
		t.Error("gpt2@v2 was never downloaded, but resolved offline")
	}
}

func TestResolveModelInterruptedDownload(t *testing.T) {
	tests := []struct {
		file      string
		fault     hubtest.Fault
		listBlobs bool // false: the info lists no sizes/hashes (HEAD fallback)
	}{
		{"model.safetensors", hubtest.CutShort, true},
		{"model.safetensors", hubtest.CutCloseDelimited, true},
		{"model.safetensors", hubtest.Corrupt, true},
		{"tokenizer.json", hubtest.CutShort, true},
		{"tokenizer.json", hubtest.CutCloseDelimited, true},
		{"config.json", hubtest.Corrupt, true},
		{"model.safetensors", hubtest.CutShort, false},
		{"model.safetensors", hubtest.CutCloseDelimited, false},
		{"config.json", hubtest.CutCloseDelimited, false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%v/blobs=%v", tt.file, tt.fault, tt.listBlobs), func(t *testing.T) {
			srv := hubtest.NewServer()
			defer srv.Close()
			srv.SetListBlobs(tt.listBlobs)
			files := hubFakeRepo("main")
			commit := srv.AddRevision("openai-community/gpt2", files, "main")
			cache := hubEnv(t, srv.URL)
			snap := filepath.Join(cache, "models--openai-community--gpt2", "snapshots", commit)

			srv.FailNext(tt.file, tt.fault)
			dir, err := hfhub.Resolve("gpt2", hfhub.Options{})
			if err == nil {
				t.Fatalf("broken download of %s resolved to %s", tt.file, dir)
			}
			if !strings.Contains(err.Error(), tt.file) {
				t.Errorf("error does not name %s: %v", tt.file, err)
			}
			if _, err := os.Lstat(filepath.Join(snap, tt.file)); err == nil {
				t.Errorf("%s is in the snapshot after a broken download", tt.file)
			}
			blobs, _ := os.ReadDir(filepath.Join(cache, "models--openai-community--gpt2", "blobs"))
			for _, b := range blobs {
				data, _ := os.ReadFile(filepath.Join(cache, "models--openai-community--gpt2", "blobs", b.Name()))
				if !bytes.Equal(data, files["config.json"]) && !bytes.Equal(data, files["model.safetensors"]) &&
					!bytes.Equal(data, files["tokenizer.json"]) {
					t.Errorf("blob %s holds a broken download (%d bytes)", b.Name(), len(data))
				}
			}
			if left := hubLeftovers(t, cache); len(left) > 0 {
				t.Errorf("temporary files left behind: %v", left)
			}
			if dir, err := hfhub.Resolve("gpt2", hfhub.Options{Offline: true}); err == nil {
				t.Fatalf("offline call after a broken download resolved to %s", dir)
			}

			// A retry downloads the file again and succeeds.
			before := srv.Count("GET", "/"+tt.file)
			dir, err = hfhub.Resolve("gpt2", hfhub.Options{})
			if err != nil {
				t.Fatalf("retry: %v", err)
			}
			hubCheckFiles(t, dir, files, hubModelFiles...)
			if srv.Count("GET", "/"+tt.file) == before {
				t.Errorf("retry did not download %s again", tt.file)
			}
			srv.Close()
			if _, err := hfhub.Resolve("gpt2", hfhub.Options{Offline: true}); err != nil {
				t.Errorf("offline after the retry: %v", err)
			}
		})
	}
}

func TestResolveModelNotAvailable(t *testing.T) {
	srv := hubtest.NewServer()
	defer srv.Close()
	srv.AddRevision("openai-community/gpt2", hubFakeRepo("main"), "main")

	tests := []struct {
		name     string
		opts     hfhub.Options
		offline  string // HF_HUB_OFFLINE
		endpoint string // "" = the test server
		want     []string
	}{
		{name: "Offline option", opts: hfhub.Options{Offline: true}, want: []string{"not in the Hugging Face cache", "offline"}},
		{name: "HF_HUB_OFFLINE=1", offline: "1", want: []string{"not in the Hugging Face cache", "HF_HUB_OFFLINE"}},
		{name: "HF_HUB_OFFLINE=true", offline: "true", want: []string{"not in the Hugging Face cache"}},
		{name: "hub unreachable", endpoint: "http://127.0.0.1:1", want: []string{"could not download", "127.0.0.1:1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			endpoint := tt.endpoint
			if endpoint == "" {
				endpoint = srv.URL
			}
			cache := hubEnv(t, endpoint)
			t.Setenv("HF_HUB_OFFLINE", tt.offline)
			srv.Reset()
			_, err := hfhub.Resolve("gpt2", tt.opts)
			if err == nil {
				t.Fatal("resolved with an empty cache")
			}
			msg := err.Error()
			want := append([]string{"--model", "local folder", "config.json", "model.safetensors", "tokenizer.json",
				"HF_ENDPOINT", "mirror", "run once online", "HF_HOME", cache, "openai-community/gpt2@main"}, tt.want...)
			for _, w := range want {
				if !strings.Contains(msg, w) {
					t.Errorf("error lacks %q:\n%s", w, msg)
				}
			}
			if n := len(srv.Requests()); n != 0 {
				t.Errorf("made %d requests to the hub", n)
			}
		})
	}
}

func TestResolveModelBadID(t *testing.T) {
	hubEnv(t, "")
	tests := []struct {
		ref  string
		want string // besides the list of supported ids
	}{
		{"gpt3", `unknown model "gpt3"`},
		{"gpt2-huge", `unknown model "gpt2-huge"`},
		{"gpt2-huge@main", `unknown model "gpt2-huge@main"`},
		{"a/b/c", `unknown model "a/b/c"`},
		{"org/", `unknown model "org/"`},
		{"@main", `unknown model "@main"`},
		{"", "empty model reference"},
		{"gpt2@", "empty revision"},
		{"gpt2@../../etc", "invalid revision"},
		{"gpt2@a b", "invalid revision"},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			dir, err := hfhub.Resolve(tt.ref, hfhub.Options{})
			if err == nil {
				t.Fatalf("resolved to %s", dir)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error lacks %q: %v", tt.want, err)
			}
			if strings.HasPrefix(tt.want, "unknown") || tt.ref == "" {
				for _, id := range []string{"gpt2", "gpt2-medium", "gpt2-large", "gpt2-xl", "distilgpt2", "openai-community/gpt2", "local folder"} {
					if !strings.Contains(err.Error(), id) {
						t.Errorf("error does not list %q: %v", id, err)
					}
				}
			}
		})
	}
}

func TestResolveModelLocalFolder(t *testing.T) {
	hubEnv(t, "")
	files := hubFakeRepo("local")
	mk := func(t *testing.T, names ...string) string {
		dir := t.TempDir()
		for _, n := range names {
			if err := os.WriteFile(filepath.Join(dir, n), files[n], 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	tests := []struct {
		name  string
		files []string
		want  string // error substring; "" = success
	}{
		{"complete", []string{"config.json", "model.safetensors", "tokenizer.json"}, ""},
		{"vocab and merges", []string{"config.json", "model.safetensors", "vocab.json", "merges.txt"}, ""},
		{"no weights", []string{"config.json", "tokenizer.json", "pytorch_model.bin"}, "missing model.safetensors"},
		{"no config", []string{"model.safetensors", "tokenizer.json"}, "missing config.json"},
		{"no tokenizer", []string{"config.json", "model.safetensors"}, "tokenizer.json"},
		{"vocab without merges", []string{"config.json", "model.safetensors", "vocab.json"}, "merges.txt"},
		{"empty", nil, "missing config.json and model.safetensors"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := mk(t, tt.files...)
			got, err := hfhub.Resolve(dir, hfhub.Options{Offline: true})
			if tt.want == "" {
				if err != nil || got != dir {
					t.Fatalf("= %q, %v; want %q", got, err, dir)
				}
				return
			}
			if err == nil {
				t.Fatalf("incomplete folder resolved to %s", got)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), dir) {
				t.Errorf("error lacks %q or the folder: %v", tt.want, err)
			}
		})
	}

	t.Run("relative and home paths", func(t *testing.T) {
		root := t.TempDir()
		t.Setenv("HOME", root)
		model := filepath.Join(root, "models", "small")
		if err := os.MkdirAll(model, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, n := range hubModelFiles {
			if err := os.WriteFile(filepath.Join(model, n), files[n], 0o644); err != nil {
				t.Fatal(err)
			}
		}
		t.Chdir(root)
		for _, ref := range []string{"./models/small", "models/small", "~/models/small", "models/../models/small"} {
			got, err := hfhub.Resolve(ref, hfhub.Options{Offline: true})
			if err != nil || got != model {
				t.Errorf("%s = %q, %v; want %q", ref, got, err, model)
			}
		}
		if _, err := hfhub.Resolve("./models/missing", hfhub.Options{}); err == nil || !strings.Contains(err.Error(), "does not exist") {
			t.Errorf("missing folder: %v", err)
		}
		// A folder named like a short id but holding no model (this package's own
		// source folder is called gpt2) does not shadow the hub id.
		if err := os.Mkdir(filepath.Join(root, "gpt2"), 0o755); err != nil {
			t.Fatal(err)
		}
		if _, err := hfhub.Resolve("gpt2", hfhub.Options{Offline: true}); err == nil || !strings.Contains(err.Error(), "not in the Hugging Face cache") {
			t.Errorf("gpt2 with an empty ./gpt2 folder: %v", err)
		}
	})
}

func TestResolveModelVocabMerges(t *testing.T) {
	srv := hubtest.NewServer()
	defer srv.Close()
	files := hubFakeRepo("distil")
	delete(files, "tokenizer.json")
	srv.AddRevision("distilbert/distilgpt2", files, "main")
	hubEnv(t, srv.URL)

	dir, err := hfhub.Resolve("distilgpt2", hfhub.Options{})
	if err != nil {
		t.Fatal(err)
	}
	hubCheckFiles(t, dir, files, "config.json", "model.safetensors", "vocab.json", "merges.txt")
	srv.Close()
	if again, err := hfhub.Resolve("distilgpt2", hfhub.Options{Offline: true}); err != nil || again != dir {
		t.Errorf("offline: %q, %v; want %q", again, err, dir)
	}
}

func TestResolveModelRepoLacksFiles(t *testing.T) {
	srv := hubtest.NewServer()
	defer srv.Close()
	files := hubFakeRepo("old")
	delete(files, "model.safetensors")
	srv.AddRevision("someone/old-gpt2", files, "main")
	files = hubFakeRepo("notok")
	delete(files, "tokenizer.json")
	delete(files, "merges.txt")
	srv.AddRevision("someone/no-tokenizer", files, "main")

	srv.AddRevision("someone/gated-gpt2", hubFakeRepo("gated"), "main")
	srv.SetGated("someone/gated-gpt2", "hf_granted")
	cache := hubEnv(t, srv.URL)

	for _, c := range []struct {
		ref, token string
		wants      []string
	}{
		{"someone/old-gpt2", "", []string{"has no model.safetensors", "Check the model id", "HF_TOKEN"}},
		{"someone/no-tokenizer", "", []string{"has no tokenizer.json", "Check the model id"}},
		{"someone/missing", "", []string{"401 RepoNotFound", "Repository not found", "check the model id", "private", "HF_TOKEN"}},
		{"gpt2", "", []string{"Repository not found", "check the model id"}},
		{"someone/old-gpt2@v9", "", []string{"404 RevisionNotFound", "Invalid rev id: v9", "check the revision after @"}},
		{"someone/gated-gpt2", "", []string{"401 GatedRepo", "request access", "HF_TOKEN"}},
		{"someone/gated-gpt2", "hf_other", []string{"403 GatedRepo", "request access", "HF_TOKEN"}},
	} {
		t.Setenv("HF_TOKEN", c.token)
		_, err := hfhub.Resolve(c.ref, hfhub.Options{})
		if err == nil {
			t.Errorf("%s: resolved, want an error", c.ref)
			continue
		}
		for _, want := range append(c.wants, "--model") {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s (token %q): error lacks %q: %v", c.ref, c.token, want, err)
			}
		}
		if strings.Contains(err.Error(), "retry") {
			t.Errorf("%s: the hub said no, but the error suggests a retry: %v", c.ref, err)
		}
	}
	// A failed lookup leaves nothing in the shared cache (huggingface_hub's
	// scan_cache_dir would report a half-made repo folder as corrupted).
	for _, name := range []string{"models--someone--missing", "models--someone--gated-gpt2", "models--openai-community--gpt2"} {
		if _, err := os.Stat(filepath.Join(cache, name)); err == nil {
			t.Errorf("a failed lookup left %s in the cache", name)
		}
	}
	t.Setenv("HF_TOKEN", "hf_granted")
	if _, err := hfhub.Resolve("someone/gated-gpt2", hfhub.Options{}); err != nil {
		t.Errorf("gated repo with the granted token: %v", err)
	}
}

func TestResolveModelToken(t *testing.T) {
	srv := hubtest.NewServer()
	defer srv.Close()
	srv.AddRevision("openai-community/gpt2", hubFakeRepo("main"), "main")

	tests := []struct {
		name, env, file, want string
	}{
		{"no token", "", "", ""},
		{"HF_TOKEN", "hf_env", "", "Bearer hf_env"},
		{"token file", "", "hf_file\n", "Bearer hf_file"},
		{"HF_TOKEN wins", "hf_env", "hf_file", "Bearer hf_env"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cache := hubEnv(t, srv.URL)
			t.Setenv("HF_TOKEN", tt.env)
			if tt.file != "" {
				if err := os.WriteFile(filepath.Join(filepath.Dir(cache), "token"), []byte(tt.file), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			srv.Reset()
			if _, err := hfhub.Resolve("gpt2", hfhub.Options{}); err != nil {
				t.Fatal(err)
			}
			reqs := srv.Requests()
			cdn := 0
			for _, r := range reqs {
				want := tt.want
				if r.CDN { // the token never leaves the hub's host and port
					want = ""
					cdn++
				}
				if r.Authorization != want {
					t.Errorf("%s %s (CDN %t): Authorization %q, want %q", r.Method, r.Path, r.CDN, r.Authorization, want)
				}
			}
			if cdn == 0 || cdn == len(reqs) {
				t.Errorf("%d of %d requests went to the CDN, want the weights only", cdn, len(reqs))
			}
		})
	}
}

func TestResolveModelConcurrent(t *testing.T) {
	srv := hubtest.NewServer()
	defer srv.Close()
	files := hubFakeRepo("main")
	srv.AddRevision("openai-community/gpt2", files, "main")
	cache := hubEnv(t, srv.URL)

	const n = 4
	dirs := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { dirs[i], errs[i] = hfhub.Resolve("gpt2", hfhub.Options{}) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("call %d: %v", i, errs[i])
		}
		if dirs[i] != dirs[0] {
			t.Errorf("call %d: %s, want %s", i, dirs[i], dirs[0])
		}
	}
	hubCheckFiles(t, dirs[0], files, hubModelFiles...)
	if left := hubLeftovers(t, cache); len(left) > 0 {
		t.Errorf("temporary files left behind: %v", left)
	}
}

// TestResolveModelPythonCache reads a cache laid out by Python's huggingface_hub
// (refs/<rev>, snapshots/<commit> linking into blobs/) without any server.
func TestResolveModelPythonCache(t *testing.T) {
	cache := hubEnv(t, "")
	files := hubFakeRepo("py")
	commit := strings.Repeat("ab12", 10)
	repoDir := filepath.Join(cache, "models--openai-community--gpt2-medium")
	snap := filepath.Join(repoDir, "snapshots", commit)
	for _, d := range []string{filepath.Join(repoDir, "blobs"), filepath.Join(repoDir, "refs"), snap} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for i, n := range hubModelFiles {
		blob := fmt.Sprintf("blob%d", i)
		if err := os.WriteFile(filepath.Join(repoDir, "blobs", blob), files[n], 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(filepath.Join("..", "..", "blobs", blob), filepath.Join(snap, n)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(repoDir, "refs", "main"), []byte(commit), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"gpt2-medium", "openai-community/gpt2-medium@" + commit} {
		dir, err := hfhub.Resolve(ref, hfhub.Options{Offline: true})
		if err != nil || dir != snap {
			t.Fatalf("%s = %q, %v; want %q", ref, dir, err, snap)
		}
		hubCheckFiles(t, dir, files, hubModelFiles...)
	}

	// HF_HUB_CACHE overrides $HF_HOME/hub.
	t.Setenv("HF_HUB_CACHE", cache)
	t.Setenv("HF_HOME", t.TempDir())
	if dir, err := hfhub.Resolve("gpt2-medium", hfhub.Options{Offline: true}); err != nil || dir != snap {
		t.Errorf("with HF_HUB_CACHE: %q, %v; want %q", dir, err, snap)
	}
	t.Setenv("HF_HUB_CACHE", "")

	// A dangling link (blob deleted) makes the snapshot incomplete.
	t.Setenv("HF_HOME", filepath.Dir(cache))
	if err := os.Remove(filepath.Join(repoDir, "blobs", "blob1")); err != nil {
		t.Fatal(err)
	}
	if _, err := hfhub.Resolve("gpt2-medium", hfhub.Options{Offline: true}); err == nil {
		t.Error("resolved a snapshot whose model.safetensors blob is gone")
	}
}

// TestResolveModelWithoutBlobInfo: a mirror that ignores ?blobs=true. What each file
// must be comes from HEAD on the hub itself (the 302's X-Linked-Etag for the LFS
// file, not the CDN's md5 ETag), every download is checked against it, and the
// blobs get the names Python's cache gives them (sha256 / git blob id).
func TestResolveModelWithoutBlobInfo(t *testing.T) {
	srv := hubtest.NewServer()
	defer srv.Close()
	srv.SetListBlobs(false)
	files := hubFakeRepo("mirror")
	srv.AddRevision("openai-community/gpt2", files, "main")
	cache := hubEnv(t, srv.URL)

	// The CDN flips a byte of the weights: the download must fail, nothing cached.
	srv.FailNext("model.safetensors", hubtest.Corrupt)
	if _, err := hfhub.Resolve("gpt2", hfhub.Options{}); err == nil || !strings.Contains(err.Error(), "corrupt") {
		t.Fatalf("a corrupted CDN body: got %v, want an error saying so", err)
	}
	repoDir := filepath.Join(cache, "models--openai-community--gpt2")
	sum := sha256.Sum256(files["model.safetensors"])
	weightsBlob := filepath.Join(repoDir, "blobs", hex.EncodeToString(sum[:]))
	if _, err := os.Stat(weightsBlob); err == nil {
		t.Fatal("the corrupted weights were kept as a blob")
	}
	if left := hubLeftovers(t, cache); len(left) > 0 {
		t.Errorf("temporary files left behind: %v", left)
	}

	dir, err := hfhub.Resolve("gpt2", hfhub.Options{})
	if err != nil {
		t.Fatal(err)
	}
	hubCheckFiles(t, dir, files, hubModelFiles...)
	if _, err := os.Stat(weightsBlob); err != nil {
		t.Errorf("the weights blob is not named by its sha256: %v", err)
	}
	if _, err := os.Stat(filepath.Join(repoDir, "blobs", hubtest.GitBlobID(files["config.json"]))); err != nil {
		t.Errorf("config.json's blob is not named by its git blob id: %v", err)
	}
	heads := srv.Count("HEAD", "/resolve/")
	if heads < len(hubModelFiles) {
		t.Errorf("%d HEAD requests to the hub, want one per file", heads)
	}
	for _, r := range srv.Requests() {
		if r.CDN && r.Method == "HEAD" {
			t.Errorf("HEAD %s went to the CDN: the file's identity must come from the hub's own answer", r.Path)
		}
	}
}

// TestResolveModelGzipText: text files come gzip-compressed and chunked, as the hub
// sends them; they arrive decoded and verified.
func TestResolveModelGzipText(t *testing.T) {
	srv := hubtest.NewServer()
	defer srv.Close()
	files := hubFakeRepo("gz")
	srv.AddRevision("openai-community/gpt2", files, "main")
	hubEnv(t, srv.URL)

	req, _ := http.NewRequest("GET", srv.URL+"/openai-community/gpt2/resolve/main/config.json", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("Content-Encoding") != "gzip" || resp.ContentLength != -1 {
		t.Fatalf("the fake hub sent config.json with Content-Encoding %q, length %d: want gzip, chunked", resp.Header.Get("Content-Encoding"), resp.ContentLength)
	}
	dir, err := hfhub.Resolve("gpt2", hfhub.Options{})
	if err != nil {
		t.Fatal(err)
	}
	hubCheckFiles(t, dir, files, hubModelFiles...)
}

// TestResolveModelShortIDPythonCache: Python's from_pretrained("gpt2") caches under
// models--gpt2; "gpt2" finds it offline and says which entry it used.
func TestResolveModelShortIDPythonCache(t *testing.T) {
	cache := hubEnv(t, "")
	files := hubFakeRepo("short")
	commit := strings.Repeat("cd34", 10)
	snap := filepath.Join(cache, "models--gpt2", "snapshots", commit)
	if err := os.MkdirAll(snap, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, n := range hubModelFiles {
		if err := os.WriteFile(filepath.Join(snap, n), files[n], 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(cache, "models--gpt2", "refs"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cache, "models--gpt2", "refs", "main"), []byte(commit), 0o644); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	dir, err := hfhub.Resolve("gpt2", hfhub.Options{Offline: true, Progress: &log})
	if err != nil || dir != snap {
		t.Fatalf("gpt2 = %q, %v; want %q", dir, err, snap)
	}
	if !strings.Contains(log.String(), "models--gpt2") {
		t.Errorf("the cache entry used is not named: %q", log.String())
	}
	// The canonical entry wins when both exist; an org/name id never uses the alias.
	if _, err := hfhub.Resolve("openai-community/gpt2", hfhub.Options{Offline: true}); err == nil {
		t.Error("openai-community/gpt2 resolved from models--gpt2")
	}
}

// TestResolveModelProgress: a large file's progress lines show the speed and the
// time left; HF_HUB_DISABLE_PROGRESS_BARS silences them.
func TestResolveModelProgress(t *testing.T) {
	srv := hubtest.NewServer()
	defer srv.Close()
	files := hubFakeRepo("big")
	files["model.safetensors"] = bytes.Repeat([]byte("0123456789abcdef"), 200_000) // 3.2 MB
	srv.AddRevision("openai-community/gpt2", files, "main")

	hubEnv(t, srv.URL)
	var log bytes.Buffer
	if _, err := hfhub.Resolve("gpt2", hfhub.Options{Progress: &log}); err != nil {
		t.Fatal(err)
	}
	out := log.String()
	if !strings.Contains(out, "model.safetensors: done, 3.2 MB") || !strings.Contains(out, "/s") {
		t.Errorf("progress lacks the final line with size and speed:\n%s", out)
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "model.safetensors: ") && strings.Contains(line, "%") && !strings.Contains(line, "left") {
			t.Errorf("progress line without the time left: %q", line)
		}
	}

	hubEnv(t, srv.URL)
	t.Setenv("HF_HUB_DISABLE_PROGRESS_BARS", "1")
	log.Reset()
	if _, err := hfhub.Resolve("gpt2", hfhub.Options{Progress: &log}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(log.String(), "model.safetensors") {
		t.Errorf("HF_HUB_DISABLE_PROGRESS_BARS=1, but progress was shown:\n%s", log.String())
	}
}

func TestIsLocalFolder(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if err := os.MkdirAll(filepath.Join(dir, "gpt2"), 0o755); err != nil { // a folder named like a hub id, without a model
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "org", "name"), 0o755); err != nil {
		t.Fatal(err)
	}
	for ref, want := range map[string]bool{
		"./model": true, "../x": true, "/abs/path": true, "~/models/gpt2": true, ".": true,
		"gpt2": false, "gpt2-xl": false, "openai-community/gpt2": false,
		"org/name": true, // an existing folder wins over the hub id of the same spelling
	} {
		if got := hfhub.IsLocalFolder(ref); got != want {
			t.Errorf("IsLocalFolder(%q) = %t, want %t", ref, got, want)
		}
	}
}

// A sharded checkpoint (as Qwen/Qwen2.5-0.5B's bigger siblings and Llama ship):
// the index and every shard are fetched, and the snapshot checks complete; a repo
// with an index but without shards is refused with what it lacks.
func TestResolveModelSharded(t *testing.T) {
	srv := hubtest.NewServer()
	defer srv.Close()
	files := map[string][]byte{
		"config.json":                      []byte(`{"model_type":"qwen2"}`),
		"model.safetensors.index.json":     []byte(`{"metadata":{},"weight_map":{"a":"model-00001-of-00002.safetensors","b":"model-00002-of-00002.safetensors"}}`),
		"model-00001-of-00002.safetensors": bytes.Repeat([]byte("shard-1|"), 9000),
		"model-00002-of-00002.safetensors": bytes.Repeat([]byte("shard-2|"), 9000),
		"tokenizer.json":                   []byte(`{"model":{"type":"BPE"}}`),
		"README.md":                        []byte("# not fetched"),
	}
	srv.AddRevision("Qwen/Qwen2.5-0.5B", files, "main")
	hubEnv(t, srv.URL)
	dir, err := hfhub.Resolve("Qwen/Qwen2.5-0.5B", hfhub.Options{})
	if err != nil {
		t.Fatal(err)
	}
	hubCheckFiles(t, dir, files, "config.json", "model.safetensors.index.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", "tokenizer.json")
	if _, err := os.Lstat(filepath.Join(dir, "README.md")); err == nil {
		t.Error("README.md was downloaded")
	}

	noShards := map[string][]byte{"config.json": files["config.json"], "model.safetensors.index.json": files["model.safetensors.index.json"], "tokenizer.json": files["tokenizer.json"]}
	srv.AddRevision("org/index-only", noShards, "main")
	if _, err := hfhub.Resolve("org/index-only", hfhub.Options{}); err == nil || !strings.Contains(err.Error(), "its shards") {
		t.Errorf("an index without shards: %v, want a clear refusal", err)
	}
}
