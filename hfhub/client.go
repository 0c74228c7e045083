package hfhub

// The three requests the hub is asked: the repo listing at a revision, a file's
// metadata (HEAD, redirects not followed) and a file's bytes (GET, redirects
// followed). Written here rather than through go-huggingface's hub package
// because that package forwards Authorization to whatever host a redirect names,
// reads a HEAD's metadata from the CDN it was redirected to (whose ETag is an md5,
// not the blob's sha256), writes an info/ folder into the shared cache even when the
// lookup fails, and reduces the hub's errors to a status code.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// client talks to one hub endpoint with one token.
type client struct {
	endpoint string
	token    string
	http     *http.Client
}

func newClient(endpoint, token string) *client {
	c := &client{endpoint: strings.TrimRight(endpoint, "/"), token: token}
	c.http = &http.Client{CheckRedirect: dropAuthOnNewHost}
	return c
}

// dropAuthOnNewHost follows up to 10 redirects and drops the Authorization header
// whenever a redirect leaves the original host or port, as huggingface_hub does: a
// presigned CDN URL refuses a second credential, and a mirror's CDN must never see
// the user's token. (Go's client keeps the header for the same host or a subdomain,
// whatever the port.)
func dropAuthOnNewHost(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return errors.New("stopped after 10 redirects")
	}
	if req.URL.Host != via[0].URL.Host {
		req.Header.Del("Authorization")
	}
	return nil
}

func (c *client) newRequest(ctx context.Context, method, u string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", "logitlens-go/hfhub")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	return req, nil
}

// APIError is an error answer of the hub: its status, X-Error-Code (RepoNotFound,
// RevisionNotFound, EntryNotFound, GatedRepo, …) and message.
type APIError struct {
	Status  int
	Code    string
	Message string
	URL     string
}

func (e *APIError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	code := ""
	if e.Code != "" {
		code = " " + e.Code
	}
	return fmt.Sprintf("%s: HTTP %d%s: %s", e.URL, e.Status, code, msg)
}

// Hint says what fixes the error, for the answers a retry will not fix.
func (e *APIError) Hint() string {
	switch {
	case e.Code == "GatedRepo" || e.Status == http.StatusForbidden:
		return "the repo is gated or your token may not read it: request access on the model's page on the hub, and set HF_TOKEN to a token of the account that has it"
	case e.Code == "RevisionNotFound":
		return "no such branch, tag or commit: check the revision after @ (e.g. @main, or a full 40-digit commit hash)"
	case e.Code == "EntryNotFound":
		return "the repo has no such file at that revision"
	case e.Status == http.StatusUnauthorized || e.Code == "RepoNotFound":
		return "no such repo, or it is private: check the model id; for a private repo set HF_TOKEN to an access token that can read it"
	case e.Status == http.StatusBadRequest:
		return "the hub rejected the request: check the model id and revision"
	}
	return ""
}

// permanent says whether a retry cannot help (the hub answered, and said no).
func (e *APIError) permanent() bool {
	return e.Status >= 400 && e.Status < 500 && e.Status != http.StatusTooManyRequests
}

// apiError reads an error answer: X-Error-Code and X-Error-Message, else the JSON
// body's "error", else the body's first line.
func apiError(resp *http.Response) error {
	e := &APIError{Status: resp.StatusCode, Code: resp.Header.Get("X-Error-Code"), Message: resp.Header.Get("X-Error-Message"), URL: resp.Request.URL.String()}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if e.Message == "" {
		var j struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(body, &j) == nil && j.Error != "" {
			e.Message = j.Error
		} else {
			e.Message, _, _ = strings.Cut(strings.TrimSpace(string(body)), "\n")
		}
	}
	return e
}

// sibling is one file of a repo listing. Size, BlobID and LFS are present only
// when the hub honours ?blobs=true.
type sibling struct {
	Name   string `json:"rfilename"`
	Size   int64  `json:"size"`
	BlobID string `json:"blobId"`
	LFS    *struct {
		SHA256 string `json:"sha256"`
		Size   int64  `json:"size"`
	} `json:"lfs"`
}

// repoInfo is the listing of a repo at a revision.
type repoInfo struct {
	SHA      string    `json:"sha"`
	Siblings []sibling `json:"siblings"`
}

// info asks for repoID's listing at rev, with blob sizes and hashes.
func (c *client) info(ctx context.Context, repoID, rev string) (*repoInfo, error) {
	u := fmt.Sprintf("%s/api/models/%s/revision/%s?blobs=true", c.endpoint, repoID, url.PathEscape(rev))
	req, err := c.newRequest(ctx, http.MethodGet, u)
	if err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, apiError(resp)
	}
	var info repoInfo
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&info); err != nil {
		return nil, fmt.Errorf("%s: the repo listing is not valid JSON: %w", u, err)
	}
	return &info, nil
}

// fileURL is the resolve URL of name at commit.
func (c *client) fileURL(repoID, commit, name string) string {
	return fmt.Sprintf("%s/%s/resolve/%s/%s", c.endpoint, repoID, commit, name)
}

// fileMeta is what the hub says a file is: its etag (the blob's sha256 for an LFS
// file, its git blob id otherwise), its size (-1 if unknown) and the commit.
type fileMeta struct {
	etag   string
	size   int64
	commit string
	lfs    bool // etag is a sha256 (X-Linked-Etag)
}

// head asks for a file's metadata without following a redirect: for an LFS file the
// hub answers 302 to its CDN with X-Linked-Etag (the sha256) and X-Linked-Size,
// which the CDN's own answer would not have.
func (c *client) head(ctx context.Context, u string) (*fileMeta, error) {
	req, err := c.newRequest(ctx, http.MethodHead, u)
	if err != nil {
		return nil, err
	}
	noFollow := *c.http
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := noFollow.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 400 {
		return nil, apiError(resp)
	}
	m := &fileMeta{size: -1, commit: resp.Header.Get("X-Repo-Commit")}
	if e := cleanETag(resp.Header.Get("X-Linked-Etag")); e != "" {
		m.etag, m.lfs = e, true
		if s, err := strconv.ParseInt(resp.Header.Get("X-Linked-Size"), 10, 64); err == nil && s >= 0 {
			m.size = s
		}
		return m, nil
	}
	if resp.StatusCode >= 300 {
		return nil, fmt.Errorf("%s: redirected (%d) without X-Linked-Etag: cannot tell what the file must be", u, resp.StatusCode)
	}
	m.etag = cleanETag(resp.Header.Get("ETag"))
	if s, err := strconv.ParseInt(resp.Header.Get("X-Linked-Size"), 10, 64); err == nil && s >= 0 {
		m.size = s
	} else if resp.ContentLength >= 0 && resp.Header.Get("Content-Encoding") == "" {
		m.size = resp.ContentLength
	}
	return m, nil
}

// cleanETag strips the weak prefix and quotes: W/"abc" → abc.
func cleanETag(e string) string {
	return strings.ToLower(strings.Trim(strings.TrimPrefix(strings.TrimSpace(e), "W/"), `"`))
}

// get downloads u into w (following redirects; a gzip-encoded answer is decoded by
// the transport), calling onProgress with the bytes so far.
func (c *client) get(ctx context.Context, u string, w io.Writer, onProgress func(got, total int64)) error {
	req, err := c.newRequest(ctx, http.MethodGet, u)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return apiError(resp)
	}
	total := resp.ContentLength
	buf := make([]byte, 1<<20)
	var got int64
	last := time.Time{}
	for {
		n, rerr := resp.Body.Read(buf)
		if n > 0 {
			if _, err := w.Write(buf[:n]); err != nil {
				return err
			}
			got += int64(n)
			if onProgress != nil && time.Since(last) > 100*time.Millisecond {
				onProgress(got, total)
				last = time.Now()
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return rerr
		}
	}
	if onProgress != nil {
		onProgress(got, total)
	}
	return nil
}
