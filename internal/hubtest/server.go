// Package hubtest is a fake Hugging Face Hub for tests. It listens on 127.0.0.1 only
// and behaves like huggingface.co where hfhub.Resolve meets it:
//
//   - GET /api/models/{org}/{name}/revision/{rev}[?blobs=true]: repo info JSON with the
//     commit "sha" and "siblings" (rfilename, and with blobs=true: size, blobId, lfs);
//     SetListBlobs(false) plays a mirror that ignores ?blobs=true.
//   - HEAD and GET /{org}/{name}/resolve/{rev}/{file}: the file, with ETag (git blob id,
//     or the sha256 for LFS files), X-Repo-Commit, Content-Length, and for LFS files
//     X-Linked-Etag / X-Linked-Size. Text files asked for with Accept-Encoding: gzip
//     come gzip-compressed and chunked (no Content-Length), as the hub sends them.
//   - LFS files answer 302 to a CDN on another port (CDNURL), like the hub's
//     presigned CDN URLs: the CDN refuses any request that carries Authorization
//     (400, as S3 does for a second credential) and names the file by an md5 ETag,
//     not the sha256, so only the hub's own 302 tells what the file must be.
//   - Errors as the hub sends them: X-Error-Code (RepoNotFound with 401,
//     RevisionNotFound and EntryNotFound with 404, GatedRepo with 401/403) and
//     X-Error-Message, and a JSON body {"error": …}.
//
// {rev} may be a branch, a tag or a full commit hash. Files live in memory; a repo holds
// any number of commits, each reachable by its hash and by the refs given to
// AddRevision. Files ending in .safetensors or .bin are served as LFS files.
//
// The server records every request (see Requests / Count) and can be told to break
// the next body of a file (see FailNext).
package hubtest

import (
	"compress/gzip"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Fault is a way to break a file download.
type Fault int

const (
	// CutShort announces the full Content-Length, sends half the body and drops the
	// connection: the client sees an unexpected EOF.
	CutShort Fault = iota + 1
	// CutCloseDelimited sends no Content-Length, half the body, and closes the
	// connection: to an HTTP client this looks like a complete (shorter) body.
	CutCloseDelimited
	// Corrupt sends a body of the right length with its first byte changed.
	Corrupt
)

func (f Fault) String() string {
	switch f {
	case CutShort:
		return "CutShort"
	case CutCloseDelimited:
		return "CutCloseDelimited"
	case Corrupt:
		return "Corrupt"
	}
	return "Fault(" + strconv.Itoa(int(f)) + ")"
}

// Request is one request the server received.
type Request struct {
	Method        string
	Path          string // URL path, unescaped
	Query         string
	Authorization string // the Authorization header, e.g. "Bearer hf_xxx"
	CDN           bool   // the request went to the CDN (CDNURL)
}

type file struct {
	name   string
	data   []byte
	lfs    bool
	blobID string // git blob id: of the data, or of the LFS pointer file for LFS files
	sha256 string // hex sha256 of data
	ptrLen int    // size of the LFS pointer file
}

type commit struct {
	sha   string
	files map[string]*file
}

type repo struct {
	commits map[string]*commit // by sha
	refs    map[string]string  // branch/tag -> sha
}

// Server is a fake hub. Create it with NewServer; it is safe for concurrent use.
type Server struct {
	// URL is the base URL, e.g. "http://127.0.0.1:41234": use it as HF_ENDPOINT.
	URL string
	// CDNURL is the CDN's base URL: the same host, another port.
	CDNURL string

	srv, cdn *httptest.Server

	mu          sync.Mutex
	repos       map[string]*repo
	faults      map[string][]Fault // by file name, consumed one per GET of the body
	requests    []Request
	redirectLFS bool
	noBlobs     bool
	gated       map[string]string // repo id -> the token that may read it
}

// NewServer starts a fake hub on 127.0.0.1. Close it when done.
func NewServer() *Server {
	s := &Server{repos: map[string]*repo{}, faults: map[string][]Fault{}, redirectLFS: true, gated: map[string]string{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	s.cdn = httptest.NewServer(http.HandlerFunc(s.serveCDNHTTP))
	s.URL, s.CDNURL = s.srv.URL, s.cdn.URL
	return s
}

// Close stops the server and its CDN: later connections are refused.
func (s *Server) Close() {
	for _, srv := range []*httptest.Server{s.srv, s.cdn} {
		srv.CloseClientConnections()
		srv.Close()
	}
}

// SetGated makes repoID gated: a request without a token answers 401 GatedRepo, one
// with another token than token 403 GatedRepo.
func (s *Server) SetGated(repoID, token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gated[repoID] = token
}

// SetRedirectLFS sets whether LFS files answer /resolve/ with a 302 to /cdn/{sha256}
// (the default, like the real hub) or are served directly.
func (s *Server) SetRedirectLFS(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.redirectLFS = on
}

// SetListBlobs sets whether the repo info honours ?blobs=true by listing each file's
// size, blobId and lfs (the default, like the real hub). Off, it lists names only,
// like a minimal mirror, so clients must learn etags and sizes from HEAD requests.
func (s *Server) SetListBlobs(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.noBlobs = !on
}

// AddRevision adds a commit with the given files to repoID (e.g. "openai-community/gpt2")
// and points the given refs (branches or tags, e.g. "main", "v1") at it. It returns the
// commit hash, a deterministic function of the repo id and the files.
func (s *Server) AddRevision(repoID string, files map[string][]byte, refs ...string) string {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	h := sha1.New()
	fmt.Fprintf(h, "repo %s\n", repoID)
	c := &commit{files: map[string]*file{}}
	for _, n := range names {
		f := newFile(n, files[n])
		c.files[n] = f
		fmt.Fprintf(h, "%s %s\n", n, f.blobID)
	}
	c.sha = hex.EncodeToString(h.Sum(nil))

	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repos[repoID]
	if r == nil {
		r = &repo{commits: map[string]*commit{}, refs: map[string]string{}}
		s.repos[repoID] = r
	}
	r.commits[c.sha] = c
	for _, ref := range refs {
		r.refs[ref] = c.sha
	}
	return c.sha
}

func newFile(name string, data []byte) *file {
	f := &file{name: name, data: append([]byte(nil), data...)}
	sum := sha256.Sum256(data)
	f.sha256 = hex.EncodeToString(sum[:])
	f.lfs = strings.HasSuffix(name, ".safetensors") || strings.HasSuffix(name, ".bin")
	if f.lfs {
		ptr := fmt.Sprintf("version https://git-lfs.github.com/spec/v1\noid sha256:%s\nsize %d\n", f.sha256, len(data))
		f.blobID = GitBlobID([]byte(ptr))
		f.ptrLen = len(ptr)
	} else {
		f.blobID = GitBlobID(data)
	}
	return f
}

// GitBlobID is git's object id of a blob with the given content: sha1("blob <len>\x00" + data).
func GitBlobID(data []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(data))
	h.Write(data)
	return hex.EncodeToString(h.Sum(nil))
}

// FailNext makes the next GET of the body of any file called name fail with f.
// Calls queue up: FailNext(n, a); FailNext(n, b) breaks the next two downloads.
func (s *Server) FailNext(name string, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[name] = append(s.faults[name], f)
}

// Requests returns a copy of all requests received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Count returns how many requests with the given method (any method if "") had a
// path containing substr.
func (s *Server) Count(method, substr string) int {
	n := 0
	for _, r := range s.Requests() {
		if (method == "" || r.Method == method) && strings.Contains(r.Path, substr) {
			n++
		}
	}
	return n
}

// Reset forgets the recorded requests.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = nil
}

func (s *Server) record(r *http.Request, cdn bool) {
	s.mu.Lock()
	s.requests = append(s.requests, Request{
		Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Authorization: r.Header.Get("Authorization"), CDN: cdn,
	})
	s.mu.Unlock()
}

// serveCDNHTTP is the CDN: /cdn/{sha256}, refusing credentials.
func (s *Server) serveCDNHTTP(w http.ResponseWriter, r *http.Request) {
	s.record(r, true)
	if r.Header.Get("Authorization") != "" {
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, "<Error><Code>InvalidArgument</Code><Message>Only one auth mechanism allowed</Message></Error>")
		return
	}
	if !strings.HasPrefix(r.URL.Path, "/cdn/") {
		http.Error(w, "no such object", http.StatusNotFound)
		return
	}
	s.serveCDN(w, r, strings.TrimPrefix(r.URL.Path, "/cdn/"))
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	s.record(r, false)

	p := r.URL.Path
	switch {
	case r.Method != http.MethodGet && r.Method != http.MethodHead:
		jsonError(w, http.StatusMethodNotAllowed, "method not allowed")
	case strings.HasPrefix(p, "/api/models/"):
		s.serveInfo(w, r, strings.TrimPrefix(p, "/api/models/"))
	case strings.Contains(p, "/resolve/"):
		s.serveResolve(w, r)
	default:
		jsonError(w, http.StatusNotFound, "not found")
	}
}

// hubErr is an error answer: status, X-Error-Code and message.
type hubErr struct {
	status    int
	code, msg string
}

// lookup finds repoID at rev (a ref or a commit hash) for a request with the given
// Authorization header.
func (s *Server) lookup(repoID, rev, auth string) (*commit, *hubErr) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.repos[repoID]
	if rp == nil {
		// The real hub answers 401 for unknown (or private) repos.
		return nil, &hubErr{http.StatusUnauthorized, "RepoNotFound", "Repository not found"}
	}
	if tok, ok := s.gated[repoID]; ok {
		switch auth {
		case "Bearer " + tok:
		case "":
			return nil, &hubErr{http.StatusUnauthorized, "GatedRepo", "Access to model " + repoID + " is restricted. You must have access to it and be authenticated to access it. Please log in."}
		default:
			return nil, &hubErr{http.StatusForbidden, "GatedRepo", "Access to model " + repoID + " is restricted and you are not in the authorized list. Visit https://huggingface.co/" + repoID + " to ask for access."}
		}
	}
	if sha, ok := rp.refs[rev]; ok {
		return rp.commits[sha], nil
	}
	if c, ok := rp.commits[strings.ToLower(rev)]; ok {
		return c, nil
	}
	return nil, &hubErr{http.StatusNotFound, "RevisionNotFound", "Invalid rev id: " + rev}
}

type lfsJSON struct {
	SHA256      string `json:"sha256"`
	Size        int64  `json:"size"`
	PointerSize int    `json:"pointerSize"`
}

type siblingJSON struct {
	RFilename string   `json:"rfilename"`
	Size      *int64   `json:"size,omitempty"`
	BlobID    string   `json:"blobId,omitempty"`
	LFS       *lfsJSON `json:"lfs,omitempty"`
}

// serveInfo answers /api/models/{org}/{name}/revision/{rev}.
func (s *Server) serveInfo(w http.ResponseWriter, r *http.Request, rest string) {
	repoID, rev, ok := strings.Cut(rest, "/revision/")
	if !ok || rev == "" {
		jsonError(w, http.StatusNotFound, "not found")
		return
	}
	c, herr := s.lookup(repoID, rev, r.Header.Get("Authorization"))
	if herr != nil {
		herr.write(w)
		return
	}
	s.mu.Lock()
	blobs := r.URL.Query().Get("blobs") == "true" && !s.noBlobs
	s.mu.Unlock()
	names := make([]string, 0, len(c.files))
	for n := range c.files {
		names = append(names, n)
	}
	sort.Strings(names)
	sib := make([]siblingJSON, 0, len(names))
	for _, n := range names {
		f := c.files[n]
		sj := siblingJSON{RFilename: n}
		if blobs {
			size := int64(len(f.data))
			sj.Size = &size
			sj.BlobID = f.blobID
			if f.lfs {
				sj.LFS = &lfsJSON{SHA256: f.sha256, Size: size, PointerSize: f.ptrLen}
			}
		}
		sib = append(sib, sj)
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"_id":      "fake-" + c.sha[:12],
		"id":       repoID,
		"modelId":  repoID,
		"sha":      c.sha,
		"private":  false,
		"siblings": sib,
	})
}

// serveResolve answers /{org}/{name}/resolve/{rev}/{file}.
func (s *Server) serveResolve(w http.ResponseWriter, r *http.Request) {
	repoID, rest, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/resolve/")
	rev, name, ok := strings.Cut(rest, "/")
	if !ok || name == "" {
		jsonError(w, http.StatusNotFound, "not found")
		return
	}
	c, herr := s.lookup(repoID, rev, r.Header.Get("Authorization"))
	if herr != nil {
		herr.write(w)
		return
	}
	f := c.files[path.Clean(name)]
	if f == nil {
		(&hubErr{http.StatusNotFound, "EntryNotFound", "Entry not found"}).write(w)
		return
	}
	h := w.Header()
	h.Set("X-Repo-Commit", c.sha)
	if f.lfs {
		h.Set("X-Linked-Etag", `"`+f.sha256+`"`)
		h.Set("X-Linked-Size", strconv.Itoa(len(f.data)))
		s.mu.Lock()
		redirect := s.redirectLFS
		s.mu.Unlock()
		if redirect {
			h.Set("ETag", `"`+f.blobID+`"`)
			h.Set("Location", s.CDNURL+"/cdn/"+f.sha256+"?X-Amz-Signature=fake")
			w.WriteHeader(http.StatusFound)
			return
		}
		h.Set("ETag", `"`+f.sha256+`"`)
	} else {
		h.Set("ETag", `"`+f.blobID+`"`)
	}
	s.serveBody(w, r, f)
}

// serveCDN answers /cdn/{sha256} for LFS files.
func (s *Server) serveCDN(w http.ResponseWriter, r *http.Request, sha string) {
	var f *file
	s.mu.Lock()
	for _, rp := range s.repos {
		for _, c := range rp.commits {
			for _, cf := range c.files {
				if cf.lfs && cf.sha256 == sha {
					f = cf
				}
			}
		}
	}
	s.mu.Unlock()
	if f == nil {
		http.Error(w, "no such object", http.StatusNotFound)
		return
	}
	sum := md5.Sum(f.data) // like S3: the CDN's ETag is an md5, not the blob's sha256
	w.Header().Set("ETag", `"`+hex.EncodeToString(sum[:])+`"`)
	s.serveBody(w, r, f)
}

// serveBody writes f's content, applying a queued fault on GET.
func (s *Server) serveBody(w http.ResponseWriter, r *http.Request, f *file) {
	w.Header().Set("Content-Type", "application/octet-stream")
	if r.Method == http.MethodHead {
		w.Header().Set("Content-Length", strconv.Itoa(len(f.data)))
		w.WriteHeader(http.StatusOK)
		return
	}
	var fault Fault
	s.mu.Lock()
	if q := s.faults[f.name]; len(q) > 0 {
		fault, s.faults[f.name] = q[0], q[1:]
	}
	s.mu.Unlock()

	half := f.data[:len(f.data)/2]
	switch fault {
	case CutShort:
		w.Header().Set("Content-Length", strconv.Itoa(len(f.data)))
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(half)
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler) // drops the connection mid-body, without a log line
	case CutCloseDelimited:
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			panic(http.ErrAbortHandler)
		}
		defer conn.Close()
		fmt.Fprintf(buf, "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nETag: %s\r\nConnection: close\r\n\r\n", w.Header().Get("ETag"))
		_, _ = buf.Write(half)
		_ = buf.Flush()
		return
	case Corrupt:
		bad := append([]byte(nil), f.data...)
		if len(bad) > 0 {
			bad[0] ^= 0xff
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(bad)))
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(bad)
		return
	}
	if !f.lfs && strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		// Text files come compressed and chunked, with no Content-Length.
		w.Header().Set("Content-Encoding", "gzip")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush() // the headers go out now: the body is chunked
		gz := gzip.NewWriter(w)
		_, _ = gz.Write(f.data)
		_ = gz.Close()
		return
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(f.data)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(f.data)
}

// write sends the error as the hub does: X-Error-Code, X-Error-Message, JSON body.
func (e *hubErr) write(w http.ResponseWriter) {
	if e.code != "" {
		w.Header().Set("X-Error-Code", e.code)
	}
	jsonError(w, e.status, e.msg)
}

func jsonError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Error-Message", msg)
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}
