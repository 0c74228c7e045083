// Package hfhub resolves a model reference — a Hugging Face Hub id or a local
// folder — to a local folder holding config.json, model.safetensors and the
// tokenizer files, sharing Python's huggingface_hub cache.
//
// It speaks to the hub itself (client.go: the repo listing, HEAD without following
// redirects, GET) rather than through go-huggingface's hub package, whose
// downloader keeps a body cut short as complete, forwards the token to CDNs, reads a
// file's identity from the CDN's answer and writes into the cache before a lookup
// succeeds. What it does:
//
//   - the cache of huggingface_hub (HF_HUB_CACHE, else $HF_HOME/hub), its layout
//     (models--org--name/{blobs,snapshots,refs}) and blob names (sha256 for LFS
//     files, the git blob id otherwise), also Python's models--gpt2 for the short
//     ids; the token (HF_TOKEN, HF_TOKEN_PATH / $HF_HOME/token), sent to the hub only:
//     a redirect to another host or port loses it;
//   - refs/<revision> files, so that a cached branch or tag resolves without the
//     network, and offline mode (Options.Offline, HF_HUB_OFFLINE);
//   - verified, atomic downloads: a file is downloaded to a unique temporary name,
//     checked against the size and hash the hub gives for it (from the listing, or
//     from the hub's own answer to HEAD when a mirror lists no blobs), and only then
//     renamed to blobs/<etag> and linked into snapshots/<commit>/ (the link itself
//     is created under a temporary name and renamed);
//   - errors that say what to do, from the hub's X-Error-Code (RepoNotFound,
//     RevisionNotFound, GatedRepo, …);
//   - progress with speed and time left (HF_HUB_DISABLE_PROGRESS_BARS silences it).
package hfhub

import (
	"context"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/logitlens-go/logitlens/internal/atomicfile"
)

// Options configures Resolve.
type Options struct {
	Progress io.Writer // where a progress bar / lines go; nil = quiet
	Offline  bool      // never contact the hub; use the cache only (also when env HF_HUB_OFFLINE=1)
}

// knownModels maps the short GPT-2 ids to their canonical Hugging Face repos.
var knownModels = []struct{ id, repo string }{
	{"gpt2", "openai-community/gpt2"},
	{"gpt2-medium", "openai-community/gpt2-medium"},
	{"gpt2-large", "openai-community/gpt2-large"},
	{"gpt2-xl", "openai-community/gpt2-xl"},
	{"distilgpt2", "distilbert/distilgpt2"},
}

const DefaultEndpoint = "https://huggingface.co"

// Resolve returns a local folder holding config.json, model.safetensors and
// tokenizer.json (tokenizer may be vocab.json+merges.txt) for ref.
//
// ref is what Load accepts (a ModelRef): a hub id ("gpt2", "openai-community/gpt2",
// "gpt2-medium", "gpt2-large", "gpt2-xl", "distilgpt2", optional "@revision") or a
// local folder. A ref starting with "./", "../", "/" or "~", or naming an existing directory, is a
// local folder; it is checked for the required files. (A bare short id such as "gpt2"
// that happens to name a directory without a config.json, like this package's source
// folder, is still taken as a hub id.)
//
// Otherwise ref is "id[@revision]": a short id from the list above or a repo
// "org/name", and a branch, tag or commit (default "main"). Files are cached in the
// layout of Python's huggingface_hub (models--org--name/{blobs,snapshots,refs}) under
// HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub. A revision whose
// snapshot is complete in the cache is used without contacting the hub (so a cached
// "main" is not refreshed: pin a commit, or empty the cache, to move it). Otherwise,
// unless offline, the files are fetched from HF_ENDPOINT (default
// https://huggingface.co) with the token from HF_TOKEN if set. The returned folder is
// the snapshot folder in the cache.
func Resolve(ref string, opts Options) (dir string, err error) {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return "", fmt.Errorf("empty model reference: %s", supportedText())
	}
	if local, ok := localFolder(ref); ok {
		abs, err := filepath.Abs(local)
		if err != nil {
			abs = local
		}
		if err := CheckFolder(abs, "model folder"); err != nil {
			return "", err
		}
		return abs, nil
	}
	repoID, rev, err := parseRef(ref)
	if err != nil {
		return "", err
	}
	cacheDir := CacheDir()
	if snap, ok := cachedSnapshot(cacheDir, repoID, rev); ok {
		return snap, nil
	}
	// Python's from_pretrained("gpt2") caches under the short id (models--gpt2),
	// which the hub redirects to openai-community/gpt2: the same files.
	if short := shortID(ref); short != "" {
		if snap, ok := cachedSnapshot(cacheDir, short, rev); ok {
			if opts.Progress != nil {
				fmt.Fprintf(opts.Progress, "Using %s from the cache entry %s (as Python's from_pretrained(%q) stored it)\n",
					repoID, filepath.Base(repoCacheDir(cacheDir, short)), short)
			}
			return snap, nil
		}
	}
	if opts.Offline || envTrue(os.Getenv("HF_HUB_OFFLINE")) {
		return "", unavailableError(ref, repoID, rev, cacheDir, nil)
	}
	snap, err := download(context.Background(), cacheDir, repoID, rev, opts.Progress)
	if err != nil {
		return "", unavailableError(ref, repoID, rev, cacheDir, err)
	}
	return snap, nil
}

// supportedText lists the accepted model references, for error messages.
func supportedText() string {
	ids := make([]string, len(knownModels))
	for i, m := range knownModels {
		ids[i] = m.id
	}
	return "use one of " + strings.Join(ids, ", ") +
		` (optionally with "@revision": a branch, tag or commit), a Hugging Face repo id "org/name" such as openai-community/gpt2, or a local folder`
}

// IsLocalFolder reports whether Resolve takes ref for a local folder rather than a
// hub id: the one rule for every caller that must tell them apart.
func IsLocalFolder(ref string) bool {
	_, ok := localFolder(strings.TrimSpace(ref))
	return ok
}

// localFolder reports whether ref names a local folder, and returns its path
// with "~" expanded.
func localFolder(ref string) (string, bool) {
	explicit := ref == "." || ref == ".." || ref == "~" ||
		strings.HasPrefix(ref, "./") || strings.HasPrefix(ref, "../") ||
		strings.HasPrefix(ref, "/") || strings.HasPrefix(ref, "~/") ||
		strings.HasPrefix(ref, `.\`) || strings.HasPrefix(ref, `..\`) || filepath.IsAbs(ref)
	p := expandHome(ref)
	if explicit {
		return p, true
	}
	st, err := os.Stat(p)
	if err != nil || !st.IsDir() {
		return "", false
	}
	// "gpt2" is also the name of this package's folder: a bare known id naming a
	// directory that holds no model is still a hub id.
	if knownRepo(ref) != "" && !isFile(filepath.Join(p, "config.json")) {
		return "", false
	}
	return p, true
}

// knownRepo returns the canonical repo of a short id, or "".
func knownRepo(id string) string {
	for _, m := range knownModels {
		if strings.EqualFold(id, m.id) {
			return m.repo
		}
	}
	return ""
}

// shortID returns the short id of ref ("gpt2" for "gpt2@main") when it is one of
// knownModels, else "".
func shortID(ref string) string {
	id, _, _ := strings.Cut(ref, "@")
	if knownRepo(id) != "" && !strings.Contains(id, "/") {
		return strings.ToLower(id)
	}
	return ""
}

// parseRef splits "id[@rev]" into a repo id and a revision (default "main").
func parseRef(ref string) (repoID, rev string, err error) {
	id, rev, hasRev := strings.Cut(ref, "@")
	if !hasRev {
		rev = "main"
	} else if err := checkRevision(rev); err != nil {
		return "", "", fmt.Errorf("model %q: %w", ref, err)
	}
	if repo := knownRepo(id); repo != "" {
		return repo, rev, nil
	}
	if org, name, ok := strings.Cut(id, "/"); ok && validRepoPart(org) && validRepoPart(name) {
		return id, rev, nil
	}
	return "", "", fmt.Errorf("unknown model %q: %s", ref, supportedText())
}

// validRepoPart checks one half of "org/name" (letters, digits, '-', '_', '.').
func validRepoPart(s string) bool {
	if s == "" || s == "." || s == ".." || len(s) > 96 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// checkRevision rejects revisions that are empty or could escape the cache
// folder when used as refs/<rev>.
func checkRevision(rev string) error {
	if rev == "" {
		return errors.New(`empty revision after "@"`)
	}
	for _, part := range strings.Split(rev, "/") {
		if part == "" || part == "." || part == ".." {
			return fmt.Errorf("invalid revision %q", rev)
		}
	}
	for _, c := range rev {
		if c <= ' ' || c == '\\' || c == 0x7f || c == ':' {
			return fmt.Errorf("invalid revision %q", rev)
		}
	}
	return nil
}

// isCommit reports whether rev is a full (40 hex digits) commit hash.
func isCommit(rev string) bool {
	if len(rev) != 40 {
		return false
	}
	_, err := hex.DecodeString(rev)
	return err == nil
}

// CheckFolder checks that dir holds config.json, model.safetensors and a tokenizer.
// what names the folder in the error ("model folder", "cache snapshot").
func CheckFolder(dir, what string) error {
	st, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("%s %q does not exist", what, dir)
	}
	if !st.IsDir() {
		return fmt.Errorf("%s %q is not a directory", what, dir)
	}
	var missing []string
	if !isFile(filepath.Join(dir, "config.json")) {
		missing = append(missing, "config.json")
	}
	if !isFile(filepath.Join(dir, "model.safetensors")) {
		if err := checkShards(dir); err != nil {
			missing = append(missing, err.Error())
		}
	}
	if !isFile(filepath.Join(dir, "tokenizer.json")) {
		vocab := isFile(filepath.Join(dir, "vocab.json"))
		merges := isFile(filepath.Join(dir, "merges.txt"))
		switch {
		case vocab && !merges:
			missing = append(missing, "tokenizer.json (or merges.txt next to vocab.json)")
		case !vocab && merges:
			missing = append(missing, "tokenizer.json (or vocab.json next to merges.txt)")
		case !vocab && !merges:
			missing = append(missing, "tokenizer.json (or vocab.json + merges.txt)")
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%s %q is missing %s (it needs config.json, model.safetensors and tokenizer.json)",
			what, dir, strings.Join(missing, " and "))
	}
	return nil
}

// checkShards says which file of a sharded checkpoint is missing, if any.
func checkShards(dir string) error {
	data, err := os.ReadFile(filepath.Join(dir, indexFile))
	if err != nil {
		return errors.New("model.safetensors (or model.safetensors.index.json and its shards)")
	}
	var index struct {
		WeightMap map[string]string `json:"weight_map"`
	}
	if json.Unmarshal(data, &index) != nil || len(index.WeightMap) == 0 {
		return errors.New("a readable model.safetensors.index.json")
	}
	for _, f := range index.WeightMap {
		if !isFile(filepath.Join(dir, filepath.Base(f))) {
			return fmt.Errorf("the shard %s", f)
		}
	}
	return nil
}

// isFile reports whether p is (or links to) a regular file.
func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

func expandHome(p string) string {
	if p == "~" || strings.HasPrefix(p, "~/") || strings.HasPrefix(p, `~\`) {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, p[1:])
		}
	}
	return p
}

// envTrue follows huggingface_hub: "1", "ON", "YES", "TRUE" (any case) are true.
func envTrue(v string) bool {
	switch strings.ToUpper(strings.TrimSpace(v)) {
	case "1", "ON", "YES", "TRUE":
		return true
	}
	return false
}

// hfHome is $HF_HOME, else $XDG_CACHE_HOME/huggingface, else ~/.cache/huggingface.
func hfHome() string {
	if d := os.Getenv("HF_HOME"); d != "" {
		return expandHome(d)
	}
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			home = "."
		}
		cache = filepath.Join(home, ".cache")
	}
	return filepath.Join(expandHome(cache), "huggingface")
}

// CacheDir is the hub cache of huggingface_hub: $HF_HUB_CACHE, else $HF_HOME/hub.
func CacheDir() string {
	for _, k := range []string{"HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"} {
		if d := os.Getenv(k); d != "" {
			return expandHome(d)
		}
	}
	return filepath.Join(hfHome(), "hub")
}

// Token is $HF_TOKEN (or the legacy $HUGGING_FACE_HUB_TOKEN), else the token saved
// by `huggingface-cli login` ($HF_TOKEN_PATH, default $HF_HOME/token), else "".
func Token() string {
	for _, k := range []string{"HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"} {
		if v := strings.TrimSpace(os.Getenv(k)); v != "" {
			return v
		}
	}
	p := os.Getenv("HF_TOKEN_PATH")
	if p == "" {
		p = filepath.Join(hfHome(), "token")
	}
	if b, err := os.ReadFile(expandHome(p)); err == nil {
		return strings.TrimSpace(string(b))
	}
	return ""
}

func Endpoint() string {
	if e := strings.TrimRight(os.Getenv("HF_ENDPOINT"), "/"); e != "" {
		return e
	}
	return DefaultEndpoint
}

// repoCacheDir is the cache folder of a model repo: <cache>/models--org--name.
func repoCacheDir(cacheDir, repoID string) string {
	return filepath.Join(cacheDir, "models--"+strings.ReplaceAll(repoID, "/", "--"))
}

// cachedSnapshot returns the snapshot folder of repoID@rev if it is complete in
// the cache. A commit is looked up directly; a branch or tag through refs/<rev>
// (written by huggingface_hub and by download) or go-huggingface's info/<rev>.
func cachedSnapshot(cacheDir, repoID, rev string) (string, bool) {
	repoDir := repoCacheDir(cacheDir, repoID)
	var commits []string
	if isCommit(rev) {
		commits = append(commits, strings.ToLower(rev))
	} else {
		if b, err := os.ReadFile(filepath.Join(repoDir, "refs", filepath.FromSlash(rev))); err == nil {
			commits = append(commits, strings.TrimSpace(string(b)))
		}
		if b, err := os.ReadFile(filepath.Join(repoDir, "info", url.PathEscape(rev))); err == nil {
			var info struct {
				SHA string `json:"sha"`
			}
			if json.Unmarshal(b, &info) == nil {
				commits = append(commits, info.SHA)
			}
		}
	}
	for _, c := range commits {
		if !isCommit(c) {
			continue
		}
		snap := filepath.Join(repoDir, "snapshots", c)
		if CheckFolder(snap, "cache snapshot") == nil {
			return snap, true
		}
	}
	return "", false
}

// unavailableError explains how to get a model that is neither cached nor
// downloadable. cause is the download error, nil when offline.
func unavailableError(ref, repoID, rev, cacheDir string, cause error) error {
	var b strings.Builder
	localHint := "point --model at a local folder containing config.json, model.safetensors and tokenizer.json (or vocab.json + merges.txt)"
	if cause != nil && isNotFound(cause) {
		// The hub answered, but has no such repo, revision or files: mirrors and
		// retries will not help.
		fmt.Fprintf(&b, "could not download model %q (%s@%s) from %s: %v\n", ref, repoID, rev, Endpoint(), cause)
		var api *APIError
		if errors.As(cause, &api) && api.Hint() != "" {
			fmt.Fprintf(&b, "What to do: %s; or %s.", api.Hint(), localHint)
		} else {
			fmt.Fprintf(&b, "Check the model id and revision, or %s. For a private or gated repo, set HF_TOKEN to an access token that can read it.", localHint)
		}
		return &UnavailableError{msg: b.String(), cause: cause}
	}
	if cause == nil {
		fmt.Fprintf(&b, "model %q (%s@%s) is not in the Hugging Face cache %s, and downloads are off (offline mode: Options.Offline or HF_HUB_OFFLINE=1).\n",
			ref, repoID, rev, cacheDir)
	} else {
		fmt.Fprintf(&b, "could not download model %q (%s@%s) from %s: %v\n", ref, repoID, rev, Endpoint(), cause)
	}
	b.WriteString("To fix it, do one of:\n")
	fmt.Fprintf(&b, "  - %s;\n", localHint)
	fmt.Fprintf(&b, "  - set HF_ENDPOINT to a reachable Hugging Face hub mirror (now %s)", Endpoint())
	if cause == nil {
		b.WriteString(" and run without offline mode")
	}
	b.WriteString(";\n")
	fmt.Fprintf(&b, "  - run once online to fill the cache (it lives in $HF_HOME/hub, now %s; set HF_HOME to move it), after which offline runs work", cacheDir)
	if cause != nil {
		b.WriteString(";\n  - or just retry: a broken download is discarded and fetched again")
	}
	b.WriteString(".")
	return &UnavailableError{msg: b.String(), cause: cause}
}

// errRepoLacks marks a repo that exists but lacks the model files.
var errRepoLacks = errors.New("the repo has no")

// isNotFound reports whether err is an answer of the hub that a retry will not
// change (no such repo, revision or file, no access, a bad request), or a repo
// that lacks the files.
func isNotFound(err error) bool {
	if errors.Is(err, errRepoLacks) {
		return true
	}
	var api *APIError
	return errors.As(err, &api) && api.permanent()
}

// UnavailableError says a hub model is neither cached nor downloadable, and what
// to do about it (a local folder, a mirror, a token, going online).
type UnavailableError struct {
	msg   string
	cause error
}

func (e *UnavailableError) Error() string { return e.msg }
func (e *UnavailableError) Unwrap() error { return e.cause }

// download fetches the model files of repoID@rev into the cache and returns the
// snapshot folder. Nothing is written into the cache before the hub has listed the
// revision.
func download(ctx context.Context, cacheDir, repoID, rev string, progress io.Writer) (string, error) {
	c := newClient(Endpoint(), Token())
	info, err := c.info(ctx, repoID, rev)
	if err != nil {
		return "", err
	}
	if !isCommit(info.SHA) {
		return "", fmt.Errorf("the hub returned no valid commit hash for %s@%s", repoID, rev)
	}
	commit := strings.ToLower(info.SHA)
	listed := map[string]*sibling{}
	for i := range info.Siblings {
		listed[info.Siblings[i].Name] = &info.Siblings[i]
	}
	names, err := filesToFetch(listed)
	if err != nil {
		return "", fmt.Errorf("repo %s@%s (commit %s): %w", repoID, rev, commit, err)
	}

	repoDir := repoCacheDir(cacheDir, repoID)
	snap := filepath.Join(repoDir, "snapshots", commit)
	if err := os.MkdirAll(snap, 0o755); err != nil {
		return "", err
	}
	announced := false
	for _, name := range names {
		dst := filepath.Join(snap, name)
		if isFile(dst) {
			continue
		}
		if progress != nil && !announced {
			fmt.Fprintf(progress, "Downloading %s@%s (commit %s) from %s into %s\n", repoID, rev, commit[:10], Endpoint(), repoDir)
			announced = true
		}
		if err := fetchFile(ctx, c, c.fileURL(repoID, commit, name), commit, repoDir, dst, name, listed[name], progress); err != nil {
			return "", fmt.Errorf("%s: %w", name, err)
		}
	}
	if !isCommit(rev) {
		if err := writeAtomic(filepath.Join(repoDir, "refs", filepath.FromSlash(rev)), []byte(commit)); err != nil {
			return "", err
		}
	}
	if err := CheckFolder(snap, "cache snapshot"); err != nil {
		return "", err
	}
	return snap, nil
}

// filesToFetch picks the files to download from the repo listing.
func filesToFetch(listed map[string]*sibling) ([]string, error) {
	names := []string{"config.json"}
	var missing []string
	if listed["config.json"] == nil {
		missing = append(missing, "config.json")
	}
	switch shards := shardNames(listed); {
	case listed["model.safetensors"] != nil:
		names = append(names, "model.safetensors")
	case listed[indexFile] != nil && len(shards) > 0:
		names = append(append(names, indexFile), shards...)
	default:
		missing = append(missing, "model.safetensors (or model.safetensors.index.json and its shards)")
	}
	switch {
	case listed["tokenizer.json"] != nil:
		names = append(names, "tokenizer.json")
	case listed["vocab.json"] != nil && listed["merges.txt"] != nil:
		names = append(names, "vocab.json", "merges.txt")
	default:
		missing = append(missing, "tokenizer.json (or vocab.json + merges.txt)")
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%w %s", errRepoLacks, strings.Join(missing, " and "))
	}
	return names, nil
}

// indexFile names a sharded checkpoint's index.
const indexFile = "model.safetensors.index.json"

// shardPattern is the name of a checkpoint's shard: model-00001-of-00004.safetensors.
var shardPattern = regexp.MustCompile(`^model-\d+-of-\d+\.safetensors$`)

// shardNames lists the shards of a sharded checkpoint in the repo listing, sorted.
func shardNames(listed map[string]*sibling) []string {
	var out []string
	for n := range listed {
		if shardPattern.MatchString(n) {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// fetchFile makes dst (snapshots/<commit>/<name>) a link to a complete, verified
// blob, downloading the blob if needed.
//
// What the blob must be — its etag (its name in the cache, as huggingface_hub
// names it), its size and its hash — comes from the repo listing when the hub
// honours ?blobs=true, else from a HEAD of the file whose redirect is not followed
// (X-Linked-Etag / X-Linked-Size on the hub's own answer). Every download is
// checked against it: the sha256 of an LFS file, the git blob id of the others.
func fetchFile(ctx context.Context, c *client, fileURL, commit, repoDir, dst, name string, fi *sibling, progress io.Writer) error {
	var etag, wantSHA256, wantGitID string
	size := int64(-1)
	if fi != nil {
		switch {
		case fi.LFS != nil && len(fi.LFS.SHA256) == 64:
			etag, wantSHA256, size = strings.ToLower(fi.LFS.SHA256), strings.ToLower(fi.LFS.SHA256), fi.LFS.Size
		case isCommit(fi.BlobID): // a git blob id is 40 hex digits, too
			etag, wantGitID, size = strings.ToLower(fi.BlobID), strings.ToLower(fi.BlobID), fi.Size
		}
		if size <= 0 { // 0 may mean "not listed"; the hash still pins the size
			size = -1
		}
	}
	if etag == "" {
		m, err := c.head(ctx, fileURL)
		if err != nil {
			return err
		}
		if m.commit != "" && !strings.EqualFold(m.commit, commit) {
			return fmt.Errorf("%s: the hub answered for commit %s, but the listing is of commit %s: the mirror serves another revision", fileURL, m.commit, commit)
		}
		switch {
		case m.lfs && len(m.etag) == 64 && isHex(m.etag):
			etag, wantSHA256 = m.etag, m.etag
		case isCommit(m.etag):
			etag, wantGitID = m.etag, m.etag
		default:
			return fmt.Errorf("%s: the hub names this file %q, neither a sha256 nor a git blob id: it cannot be verified, so it is not downloaded (is HF_ENDPOINT a Hugging Face hub or a mirror of one?)", fileURL, m.etag)
		}
		size = m.size
	}
	blob := filepath.Join(repoDir, "blobs", blobName(etag))

	if st, err := os.Stat(blob); err != nil || !st.Mode().IsRegular() || (size >= 0 && st.Size() != size) {
		if err := os.MkdirAll(filepath.Dir(blob), 0o755); err != nil {
			return err
		}
		removeStale(blob)
		// The body goes to a unique temporary name, which becomes the blob only once
		// it is complete and verified.
		tmp := blob + "." + randomSuffix() + ".incomplete"
		defer os.Remove(tmp)
		bar := newProgressBar(progress, name, size)
		var onProgress func(got, total int64)
		if bar != nil {
			onProgress = bar.update
		}
		if err := getToFile(ctx, c, fileURL, tmp, onProgress); err != nil {
			bar.fail()
			return err
		}
		if err := verify(tmp, size, wantSHA256, wantGitID); err != nil {
			bar.fail()
			return fmt.Errorf("download from %s is incomplete or corrupt: %w", fileURL, err)
		}
		if err := os.Chmod(tmp, 0o644); err != nil {
			return err
		}
		if err := os.Rename(tmp, blob); err != nil {
			return err
		}
		bar.done()
	}
	return linkAtomic(blob, dst)
}

// getToFile downloads u into a new file at p.
func getToFile(ctx context.Context, c *client, u, p string, onProgress func(got, total int64)) error {
	f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if err := c.get(ctx, u, f, onProgress); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func isHex(s string) bool {
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return s != ""
}

// blobName is the etag when it is a safe file name (the hub's are hex digests),
// else a digest of it.
func blobName(etag string) string {
	ok := etag != "" && etag != "." && etag != ".." && len(etag) <= 128
	for _, c := range etag {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			ok = false
		}
	}
	if ok {
		return etag
	}
	sum := sha256.Sum256([]byte(etag))
	return "etag-" + hex.EncodeToString(sum[:])
}

// staleAge is how long an untouched partial download may sit in blobs/ before it
// is taken for the leftover of a killed process.
const staleAge = time.Hour

// removeStale deletes partial downloads of blob (<blob>.<pid>-<rand>.incomplete
// and its .part) left by killed processes. A live download keeps its file's
// modification time fresh, so only files untouched for staleAge go.
func removeStale(blob string) {
	matches, _ := filepath.Glob(blob + ".*.incomplete*")
	for _, m := range matches {
		if st, err := os.Stat(m); err == nil && time.Since(st.ModTime()) > staleAge {
			_ = os.Remove(m)
		}
	}
}

func randomSuffix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return strconv.Itoa(os.Getpid()) + "-" + hex.EncodeToString(b[:])
}

// verify checks the size (if known, >= 0) and the hash (sha256 or git blob id,
// if given) of the file at p.
func verify(p string, size int64, wantSHA256, wantGitID string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if size >= 0 && st.Size() != size {
		return fmt.Errorf("got %d bytes, want %d", st.Size(), size)
	}
	var h hash.Hash
	want := ""
	switch {
	case wantSHA256 != "":
		h, want = sha256.New(), wantSHA256
	case wantGitID != "":
		h, want = sha1.New(), wantGitID
		fmt.Fprintf(h, "blob %d\x00", st.Size())
	default:
		return nil
	}
	if _, err := io.Copy(h, f); err != nil {
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return fmt.Errorf("content hash %s, want %s", got, want)
	}
	return nil
}

// linkAtomic makes dst a relative symlink to blob (a copy where symlinks are not
// available), replacing dst atomically.
func linkAtomic(blob, dst string) error {
	tmp := dst + "." + randomSuffix() + ".tmp"
	target, err := filepath.Rel(filepath.Dir(dst), blob)
	if err != nil {
		target = blob
	}
	if err := os.Symlink(target, tmp); err != nil {
		data, rerr := os.ReadFile(blob)
		if rerr != nil {
			return rerr
		}
		return writeAtomic(dst, data)
	}
	if err := os.Rename(tmp, dst); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return nil
}

// writeAtomic writes data to p atomically (see internal/atomicfile).
func writeAtomic(p string, data []byte) error { return atomicfile.WriteBytes(p, data) }

// progressBar reports the download of one file: a redrawn bar on a terminal, a line
// per 10% elsewhere (files of 1 MB and more), each with the speed and the time
// left, and a last line with the size, time and speed. A nil *progressBar is
// quiet; so is every bar when HF_HUB_DISABLE_PROGRESS_BARS is set, as in
// huggingface_hub.
type progressBar struct {
	w       io.Writer
	name    string
	size    int64
	tty     bool
	start   time.Time
	last    time.Time
	lastPct int64
	got     int64
}

func newProgressBar(w io.Writer, name string, size int64) *progressBar {
	if w == nil || envTrue(os.Getenv("HF_HUB_DISABLE_PROGRESS_BARS")) {
		return nil
	}
	p := &progressBar{w: w, name: name, size: size, start: time.Now(), lastPct: -1}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
		}
	}
	return p
}

func (p *progressBar) update(got, total int64) {
	if p == nil {
		return
	}
	p.got = got
	if total <= 0 {
		total = p.size
	}
	now := time.Now()
	if p.tty {
		if now.Sub(p.last) < 200*time.Millisecond {
			return
		}
		p.last = now
		if total > 0 {
			const width = 30
			n := int(got * width / total)
			n = min(max(n, 0), width)
			fmt.Fprintf(p.w, "\r  %-18s [%s%s] %3d%%  %s / %s%s ", p.name,
				strings.Repeat("#", n), strings.Repeat(".", width-n), got*100/total, formatBytes(got), formatBytes(total), p.speed(got, total))
		} else {
			fmt.Fprintf(p.w, "\r  %-18s %s ", p.name, formatBytes(got))
		}
		return
	}
	if total < 1<<20 { // small files: just the final line
		return
	}
	if pct := got * 100 / total / 10 * 10; pct > p.lastPct && pct < 100 {
		p.lastPct = pct
		fmt.Fprintf(p.w, "  %s: %d%% (%s / %s%s)\n", p.name, pct, formatBytes(got), formatBytes(total), p.speed(got, total))
	}
}

// speed is ", 12.3 MB/s, 40s left" once enough has arrived to tell.
func (p *progressBar) speed(got, total int64) string {
	secs := time.Since(p.start).Seconds()
	if secs <= 0 || got <= 0 {
		return ""
	}
	rate := float64(got) / secs
	left := ""
	if total > got {
		left = fmt.Sprintf(", %s left", time.Duration(float64(total-got)/rate*float64(time.Second)).Round(time.Second))
	}
	return fmt.Sprintf(", %s/s%s", formatBytes(int64(rate)), left)
}

func (p *progressBar) done() {
	if p == nil {
		return
	}
	secs := time.Since(p.start).Seconds()
	size := p.size
	if size < 0 {
		size = p.got
	}
	rate := ""
	if secs > 0 {
		rate = fmt.Sprintf(", %s/s", formatBytes(int64(float64(size)/secs)))
	}
	prefix := ""
	if p.tty {
		prefix = "\r\033[K"
	}
	fmt.Fprintf(p.w, "%s  %s: done, %s in %.1fs%s\n", prefix, p.name, formatBytes(size), secs, rate)
}

func (p *progressBar) fail() {
	if p == nil {
		return
	}
	if p.tty {
		fmt.Fprint(p.w, "\r\033[K")
	}
	fmt.Fprintf(p.w, "  %s: failed after %s\n", p.name, formatBytes(p.got))
}

// formatBytes formats a byte count in decimal units.
func formatBytes(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %cB", float64(n)/float64(div), "kMGTP"[exp])
}
