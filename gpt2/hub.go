package gpt2

// Resolving a model reference (a Hugging Face Hub id or a local folder) to a local
// folder holding config.json, model.safetensors and the tokenizer files.
//
// Built on github.com/gomlx/go-huggingface/hub, which provides the endpoint
// (HF_ENDPOINT), the repo-info request and its cache, file URLs, and an HTTP
// download manager that writes <file>.part and renames it when the body ended
// without a transport error. On top of it this file adds what that package lacks:
//
//   - the cache location of huggingface_hub (HF_HUB_CACHE, HF_HOME; the package only
//     knows XDG_CACHE_HOME) and the token (HF_TOKEN, HF_TOKEN_PATH / $HF_HOME/token);
//   - refs/<revision> files, so that a cached branch or tag resolves without the
//     network (the package only keeps its own info/<revision> JSON, which is read
//     here too), and offline mode (HubOptions.Offline, HF_HUB_OFFLINE);
//   - verified, atomic downloads: a file is downloaded to a unique temporary name,
//     checked against the size and hash the hub lists for it (sha256 for LFS files,
//     the git blob id otherwise), and only then renamed to blobs/<etag> and linked
//     into snapshots/<commit>/ (the link itself is created under a temporary name
//     and renamed). go-huggingface's DownloadFiles does not check the size, so a
//     body cut short without an HTTP-level error (no Content-Length, connection
//     closed) would be kept as complete; it also prints to stdout and updates its
//     counters from several goroutines without a lock;
//   - progress reporting to an io.Writer.

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
	"strconv"
	"strings"
	"time"

	"github.com/gomlx/go-huggingface/hub"
)

// HubOptions configures ResolveModel.
type HubOptions struct {
	Progress io.Writer // where a progress bar / lines go; nil = quiet
	Offline  bool      // never contact the hub; use the cache only (also when env HF_HUB_OFFLINE=1)
}

// hubKnownModels maps the short GPT-2 ids to their canonical Hugging Face repos.
var hubKnownModels = []struct{ id, repo string }{
	{"gpt2", "openai-community/gpt2"},
	{"gpt2-medium", "openai-community/gpt2-medium"},
	{"gpt2-large", "openai-community/gpt2-large"},
	{"gpt2-xl", "openai-community/gpt2-xl"},
	{"distilgpt2", "distilbert/distilgpt2"},
}

const hubDefaultEndpoint = "https://huggingface.co"

// ResolveModel returns a local folder holding config.json, model.safetensors and
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
func ResolveModel(ref string, opts HubOptions) (dir string, err error) {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return "", fmt.Errorf("gpt2: empty model reference: %s", hubSupportedText())
	}
	if local, ok := hubLocalFolder(ref); ok {
		abs, err := filepath.Abs(local)
		if err != nil {
			abs = local
		}
		if err := hubCheckFolder(abs, "model folder"); err != nil {
			return "", err
		}
		return abs, nil
	}
	repoID, rev, err := hubParseRef(ref)
	if err != nil {
		return "", err
	}
	cacheDir := hubCacheDir()
	if snap, ok := hubCachedSnapshot(cacheDir, repoID, rev); ok {
		return snap, nil
	}
	if opts.Offline || hubEnvTrue(os.Getenv("HF_HUB_OFFLINE")) {
		return "", hubUnavailableError(ref, repoID, rev, cacheDir, nil)
	}
	snap, err := hubDownload(context.Background(), cacheDir, repoID, rev, opts.Progress)
	if err != nil {
		return "", hubUnavailableError(ref, repoID, rev, cacheDir, err)
	}
	return snap, nil
}

// hubSupportedText lists the accepted model references, for error messages.
func hubSupportedText() string {
	ids := make([]string, len(hubKnownModels))
	for i, m := range hubKnownModels {
		ids[i] = m.id
	}
	return "use one of " + strings.Join(ids, ", ") +
		` (optionally with "@revision": a branch, tag or commit), a Hugging Face repo id "org/name" such as openai-community/gpt2, or a local folder`
}

// hubLocalFolder reports whether ref names a local folder, and returns its path
// with "~" expanded.
func hubLocalFolder(ref string) (string, bool) {
	explicit := ref == "." || ref == ".." || ref == "~" ||
		strings.HasPrefix(ref, "./") || strings.HasPrefix(ref, "../") ||
		strings.HasPrefix(ref, "/") || strings.HasPrefix(ref, "~/") ||
		strings.HasPrefix(ref, `.\`) || strings.HasPrefix(ref, `..\`) || filepath.IsAbs(ref)
	p := hubExpandHome(ref)
	if explicit {
		return p, true
	}
	st, err := os.Stat(p)
	if err != nil || !st.IsDir() {
		return "", false
	}
	// "gpt2" is also the name of this package's folder: a bare known id naming a
	// directory that holds no model is still a hub id.
	if hubKnownRepo(ref) != "" && !hubIsFile(filepath.Join(p, "config.json")) {
		return "", false
	}
	return p, true
}

// hubKnownRepo returns the canonical repo of a short id, or "".
func hubKnownRepo(id string) string {
	for _, m := range hubKnownModels {
		if strings.EqualFold(id, m.id) {
			return m.repo
		}
	}
	return ""
}

// hubParseRef splits "id[@rev]" into a repo id and a revision (default "main").
func hubParseRef(ref string) (repoID, rev string, err error) {
	id, rev, hasRev := strings.Cut(ref, "@")
	if !hasRev {
		rev = "main"
	} else if err := hubCheckRevision(rev); err != nil {
		return "", "", fmt.Errorf("gpt2: model %q: %w", ref, err)
	}
	if repo := hubKnownRepo(id); repo != "" {
		return repo, rev, nil
	}
	if org, name, ok := strings.Cut(id, "/"); ok && hubValidRepoPart(org) && hubValidRepoPart(name) {
		return id, rev, nil
	}
	return "", "", fmt.Errorf("gpt2: unknown model %q: %s", ref, hubSupportedText())
}

// hubValidRepoPart checks one half of "org/name" (letters, digits, '-', '_', '.').
func hubValidRepoPart(s string) bool {
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

// hubCheckRevision rejects revisions that are empty or could escape the cache
// folder when used as refs/<rev>.
func hubCheckRevision(rev string) error {
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

// hubIsCommit reports whether rev is a full (40 hex digits) commit hash.
func hubIsCommit(rev string) bool {
	if len(rev) != 40 {
		return false
	}
	_, err := hex.DecodeString(rev)
	return err == nil
}

// hubCheckFolder checks that dir holds config.json, model.safetensors and a tokenizer.
// what names the folder in the error ("model folder", "cache snapshot").
func hubCheckFolder(dir, what string) error {
	st, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("gpt2: %s %q does not exist", what, dir)
	}
	if !st.IsDir() {
		return fmt.Errorf("gpt2: %s %q is not a directory", what, dir)
	}
	var missing []string
	for _, f := range []string{"config.json", "model.safetensors"} {
		if !hubIsFile(filepath.Join(dir, f)) {
			missing = append(missing, f)
		}
	}
	if !hubIsFile(filepath.Join(dir, "tokenizer.json")) {
		vocab := hubIsFile(filepath.Join(dir, "vocab.json"))
		merges := hubIsFile(filepath.Join(dir, "merges.txt"))
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
		return fmt.Errorf("gpt2: %s %q is missing %s (it needs config.json, model.safetensors and tokenizer.json)",
			what, dir, strings.Join(missing, " and "))
	}
	return nil
}

// hubIsFile reports whether p is (or links to) a regular file.
func hubIsFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

func hubExpandHome(p string) string {
	if p == "~" || strings.HasPrefix(p, "~/") || strings.HasPrefix(p, `~\`) {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, p[1:])
		}
	}
	return p
}

// hubEnvTrue follows huggingface_hub: "1", "ON", "YES", "TRUE" (any case) are true.
func hubEnvTrue(v string) bool {
	switch strings.ToUpper(strings.TrimSpace(v)) {
	case "1", "ON", "YES", "TRUE":
		return true
	}
	return false
}

// hubHome is $HF_HOME, else $XDG_CACHE_HOME/huggingface, else ~/.cache/huggingface.
func hubHome() string {
	if d := os.Getenv("HF_HOME"); d != "" {
		return hubExpandHome(d)
	}
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			home = "."
		}
		cache = filepath.Join(home, ".cache")
	}
	return filepath.Join(hubExpandHome(cache), "huggingface")
}

// hubCacheDir is the hub cache of huggingface_hub: $HF_HUB_CACHE, else $HF_HOME/hub.
func hubCacheDir() string {
	for _, k := range []string{"HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"} {
		if d := os.Getenv(k); d != "" {
			return hubExpandHome(d)
		}
	}
	return filepath.Join(hubHome(), "hub")
}

// hubToken is $HF_TOKEN (or the legacy $HUGGING_FACE_HUB_TOKEN), else the token saved
// by `huggingface-cli login` ($HF_TOKEN_PATH, default $HF_HOME/token), else "".
func hubToken() string {
	for _, k := range []string{"HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"} {
		if v := strings.TrimSpace(os.Getenv(k)); v != "" {
			return v
		}
	}
	p := os.Getenv("HF_TOKEN_PATH")
	if p == "" {
		p = filepath.Join(hubHome(), "token")
	}
	if b, err := os.ReadFile(hubExpandHome(p)); err == nil {
		return strings.TrimSpace(string(b))
	}
	return ""
}

func hubEndpoint() string {
	if e := strings.TrimRight(os.Getenv("HF_ENDPOINT"), "/"); e != "" {
		return e
	}
	return hubDefaultEndpoint
}

// hubRepoDir is the cache folder of a model repo: <cache>/models--org--name.
func hubRepoDir(cacheDir, repoID string) string {
	return filepath.Join(cacheDir, "models--"+strings.ReplaceAll(repoID, "/", "--"))
}

// hubCachedSnapshot returns the snapshot folder of repoID@rev if it is complete in
// the cache. A commit is looked up directly; a branch or tag through refs/<rev>
// (written by huggingface_hub and by hubDownload) or go-huggingface's info/<rev>.
func hubCachedSnapshot(cacheDir, repoID, rev string) (string, bool) {
	repoDir := hubRepoDir(cacheDir, repoID)
	var commits []string
	if hubIsCommit(rev) {
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
		if !hubIsCommit(c) {
			continue
		}
		snap := filepath.Join(repoDir, "snapshots", c)
		if hubCheckFolder(snap, "cache snapshot") == nil {
			return snap, true
		}
	}
	return "", false
}

// hubUnavailableError explains how to get a model that is neither cached nor
// downloadable. cause is the download error, nil when offline.
func hubUnavailableError(ref, repoID, rev, cacheDir string, cause error) error {
	var b strings.Builder
	localHint := "point --model at a local folder containing config.json, model.safetensors and tokenizer.json (or vocab.json + merges.txt)"
	if cause != nil && hubIsNotFound(cause) {
		// The hub answered, but has no such repo, revision or files: mirrors and
		// retries will not help.
		fmt.Fprintf(&b, "gpt2: could not download model %q (%s@%s) from %s: %v\n", ref, repoID, rev, hubEndpoint(), cause)
		fmt.Fprintf(&b, "Check the model id and revision, or %s. For a private or gated repo, set HF_TOKEN to an access token that can read it.", localHint)
		return &hubError{msg: b.String(), cause: cause}
	}
	if cause == nil {
		fmt.Fprintf(&b, "gpt2: model %q (%s@%s) is not in the Hugging Face cache %s, and downloads are off (offline mode: HubOptions.Offline or HF_HUB_OFFLINE=1).\n",
			ref, repoID, rev, cacheDir)
	} else {
		fmt.Fprintf(&b, "gpt2: could not download model %q (%s@%s) from %s: %v\n", ref, repoID, rev, hubEndpoint(), cause)
	}
	b.WriteString("To fix it, do one of:\n")
	fmt.Fprintf(&b, "  - %s;\n", localHint)
	fmt.Fprintf(&b, "  - set HF_ENDPOINT to a reachable Hugging Face hub mirror (now %s)", hubEndpoint())
	if cause == nil {
		b.WriteString(" and run without offline mode")
	}
	b.WriteString(";\n")
	fmt.Fprintf(&b, "  - run once online to fill the cache (it lives in $HF_HOME/hub, now %s; set HF_HOME to move it), after which offline runs work", cacheDir)
	if cause != nil {
		b.WriteString(";\n  - or just retry: a broken download is discarded and fetched again")
	}
	b.WriteString(".")
	return &hubError{msg: b.String(), cause: cause}
}

// errHubRepoLacks marks a repo that exists but lacks the model files.
var errHubRepoLacks = errors.New("the repo has no")

var hubStatusRE = regexp.MustCompile(`status code (\d{3})`)

// hubIsNotFound reports whether err says the hub has no such repo, revision or
// file (HTTP 401, 403 or 404, as go-huggingface reports them), or lacks the files.
func hubIsNotFound(err error) bool {
	if errors.Is(err, errHubRepoLacks) {
		return true
	}
	if m := hubStatusRE.FindStringSubmatch(err.Error()); m != nil {
		return m[1] == "401" || m[1] == "403" || m[1] == "404"
	}
	return false
}

type hubError struct {
	msg   string
	cause error
}

func (e *hubError) Error() string { return e.msg }
func (e *hubError) Unwrap() error { return e.cause }

// hubDownload fetches the model files of repoID@rev into the cache and returns the
// snapshot folder.
func hubDownload(ctx context.Context, cacheDir, repoID, rev string, progress io.Writer) (string, error) {
	repo := hub.New(repoID).
		WithEndpoint(hubEndpoint()).
		WithCacheDir(cacheDir).
		WithRevision(url.PathEscape(rev)).
		WithAuth(hubToken()).
		WithProgressBar(false)
	repo.Verbosity = 0
	if err := repo.DownloadInfo(true); err != nil {
		return "", err
	}
	info := repo.Info()
	if info == nil || !hubIsCommit(info.CommitHash) {
		return "", fmt.Errorf("the hub returned no valid commit hash for %s@%s", repoID, rev)
	}
	commit := strings.ToLower(info.CommitHash)
	listed := map[string]*hub.FileInfo{}
	for _, fi := range info.Siblings {
		if fi != nil {
			listed[fi.Name] = fi
		}
	}
	names, err := hubFilesToFetch(listed)
	if err != nil {
		return "", fmt.Errorf("repo %s@%s (commit %s): %w", repoID, rev, commit, err)
	}

	repoDir := hubRepoDir(cacheDir, repoID)
	snap := filepath.Join(repoDir, "snapshots", commit)
	if err := os.MkdirAll(snap, 0o755); err != nil {
		return "", err
	}
	announced := false
	for _, name := range names {
		dst := filepath.Join(snap, name)
		if hubIsFile(dst) {
			continue
		}
		if progress != nil && !announced {
			fmt.Fprintf(progress, "Downloading %s@%s (commit %s) from %s into %s\n", repoID, rev, commit[:10], hubEndpoint(), repoDir)
			announced = true
		}
		if err := hubFetchFile(ctx, repo, repoDir, dst, name, listed[name], progress); err != nil {
			return "", fmt.Errorf("%s: %w", name, err)
		}
	}
	if !hubIsCommit(rev) {
		if err := hubWriteAtomic(filepath.Join(repoDir, "refs", filepath.FromSlash(rev)), []byte(commit)); err != nil {
			return "", err
		}
	}
	if err := hubCheckFolder(snap, "cache snapshot"); err != nil {
		return "", err
	}
	return snap, nil
}

// hubFilesToFetch picks the files to download from the repo listing.
func hubFilesToFetch(listed map[string]*hub.FileInfo) ([]string, error) {
	names := []string{"config.json", "model.safetensors"}
	var missing []string
	for _, n := range names {
		if listed[n] == nil {
			missing = append(missing, n)
		}
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
		return nil, fmt.Errorf("%w %s", errHubRepoLacks, strings.Join(missing, " and "))
	}
	return names, nil
}

// hubFetchFile makes dst (snapshots/<commit>/<name>) a link to a complete, verified
// blob, downloading the blob if needed.
func hubFetchFile(ctx context.Context, repo *hub.Repo, repoDir, dst, name string, fi *hub.FileInfo, progress io.Writer) error {
	fileURL, err := repo.FileURL(name) // .../resolve/<commit>/<name>
	if err != nil {
		return err
	}
	// What the blob must be: its etag (blob name in the cache), size and hash. The
	// repo listing (?blobs=true) gives them without a request; else ask with HEAD.
	var etag, wantSHA256, wantGitID string
	size := int64(-1)
	if fi != nil {
		switch {
		case fi.LFS != nil && len(fi.LFS.SHA256) == 64:
			etag, wantSHA256, size = strings.ToLower(fi.LFS.SHA256), strings.ToLower(fi.LFS.SHA256), fi.LFS.Size
		case hubIsCommit(fi.BlobID): // a git blob id is 40 hex digits, too
			etag, wantGitID, size = strings.ToLower(fi.BlobID), strings.ToLower(fi.BlobID), fi.Size
		}
		if size <= 0 { // 0 may mean "not listed"; the hash still pins the size
			size = -1
		}
	}
	if etag == "" {
		header, contentLength, err := repo.GetDownloadManager().FetchHeader(ctx, fileURL)
		if err != nil {
			return err
		}
		etag = header.Get(hub.HeaderXLinkedETag)
		if etag == "" {
			etag = header.Get("ETag")
		}
		etag = strings.Trim(strings.TrimPrefix(etag, "W/"), `"`)
		if etag == "" {
			return fmt.Errorf("%s has no ETag", fileURL)
		}
		size = contentLength
		if s, err := strconv.ParseInt(header.Get(hub.HeaderXLinkedSize), 10, 64); err == nil && s > 0 {
			size = s
		}
	}
	blob := filepath.Join(repoDir, "blobs", hubBlobName(etag))

	if st, err := os.Stat(blob); err != nil || !st.Mode().IsRegular() || (size >= 0 && st.Size() != size) {
		if err := os.MkdirAll(filepath.Dir(blob), 0o755); err != nil {
			return err
		}
		hubRemoveStale(blob)
		// The download manager writes <tmp>.part and renames it to <tmp> when the body
		// ends without an error; <tmp> becomes the blob only once verified.
		tmp := blob + "." + hubRandomSuffix() + ".incomplete"
		defer os.Remove(tmp)
		bar := newHubProgress(progress, name, size)
		var onProgress func(got, total int64)
		if bar != nil {
			onProgress = bar.update
		}
		if err := repo.GetDownloadManager().Download(ctx, fileURL, tmp, onProgress); err != nil {
			bar.fail()
			return err
		}
		if err := hubVerify(tmp, size, wantSHA256, wantGitID); err != nil {
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
	return hubLinkAtomic(blob, dst)
}

// hubBlobName is the etag when it is a safe file name (the hub's are hex digests),
// else a digest of it.
func hubBlobName(etag string) string {
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

// hubStaleAge is how long an untouched partial download may sit in blobs/ before it
// is taken for the leftover of a killed process.
const hubStaleAge = time.Hour

// hubRemoveStale deletes partial downloads of blob (<blob>.<pid>-<rand>.incomplete
// and its .part) left by killed processes. A live download keeps its file's
// modification time fresh, so only files untouched for hubStaleAge go.
func hubRemoveStale(blob string) {
	matches, _ := filepath.Glob(blob + ".*.incomplete*")
	for _, m := range matches {
		if st, err := os.Stat(m); err == nil && time.Since(st.ModTime()) > hubStaleAge {
			_ = os.Remove(m)
		}
	}
}

func hubRandomSuffix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return strconv.Itoa(os.Getpid()) + "-" + hex.EncodeToString(b[:])
}

// hubVerify checks the size (if known, >= 0) and the hash (sha256 or git blob id,
// if given) of the file at p.
func hubVerify(p string, size int64, wantSHA256, wantGitID string) error {
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

// hubLinkAtomic makes dst a relative symlink to blob (a copy where symlinks are not
// available), replacing dst atomically.
func hubLinkAtomic(blob, dst string) error {
	tmp := dst + "." + hubRandomSuffix() + ".tmp"
	target, err := filepath.Rel(filepath.Dir(dst), blob)
	if err != nil {
		target = blob
	}
	if err := os.Symlink(target, tmp); err != nil {
		data, rerr := os.ReadFile(blob)
		if rerr != nil {
			return rerr
		}
		return hubWriteAtomic(dst, data)
	}
	if err := os.Rename(tmp, dst); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return nil
}

// hubWriteAtomic writes data to a temporary file next to p and renames it to p.
func hubWriteAtomic(p string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	tmp := p + "." + hubRandomSuffix() + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, p); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return nil
}

// hubProgress reports the download of one file: a redrawn bar on a terminal, a line
// per 10% elsewhere. A nil *hubProgress is quiet.
type hubProgress struct {
	w       io.Writer
	name    string
	size    int64
	tty     bool
	start   time.Time
	last    time.Time
	lastPct int64
	got     int64
}

func newHubProgress(w io.Writer, name string, size int64) *hubProgress {
	if w == nil {
		return nil
	}
	p := &hubProgress{w: w, name: name, size: size, start: time.Now(), lastPct: -1}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
		}
	}
	return p
}

func (p *hubProgress) update(got, total int64) {
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
			fmt.Fprintf(p.w, "\r  %-18s [%s%s] %3d%%  %s / %s ", p.name,
				strings.Repeat("#", n), strings.Repeat(".", width-n), got*100/total, hubBytes(got), hubBytes(total))
		} else {
			fmt.Fprintf(p.w, "\r  %-18s %s ", p.name, hubBytes(got))
		}
		return
	}
	if total < 1<<20 { // small files: just the final line
		return
	}
	if pct := got * 100 / total / 10 * 10; pct > p.lastPct && pct < 100 {
		p.lastPct = pct
		fmt.Fprintf(p.w, "  %s: %d%% (%s / %s)\n", p.name, pct, hubBytes(got), hubBytes(total))
	}
}

func (p *hubProgress) done() {
	if p == nil {
		return
	}
	secs := time.Since(p.start).Seconds()
	size := p.size
	if size < 0 {
		size = p.got
	}
	rate := ""
	if secs > 0.05 {
		rate = fmt.Sprintf(", %s/s", hubBytes(int64(float64(size)/secs)))
	}
	prefix := ""
	if p.tty {
		prefix = "\r\033[K"
	}
	fmt.Fprintf(p.w, "%s  %s: done, %s in %.1fs%s\n", prefix, p.name, hubBytes(size), secs, rate)
}

func (p *hubProgress) fail() {
	if p == nil {
		return
	}
	if p.tty {
		fmt.Fprint(p.w, "\r\033[K")
	}
	fmt.Fprintf(p.w, "  %s: failed after %s\n", p.name, hubBytes(p.got))
}

// hubBytes formats a byte count in decimal units.
func hubBytes(n int64) string {
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
