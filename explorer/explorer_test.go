package explorer

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/logitlens-go/logitlens/engine"
	"github.com/logitlens-go/logitlens/internal/fixture"
	"github.com/logitlens-go/logitlens/lensnb"
)

func tinyServer(t *testing.T) *Server {
	t.Helper()
	s := New("tiny", func() (*lensnb.Model, error) { return engine.LoadModel("tiny", lensnb.LoadModelOptions{}) })
	if err := s.Wait(); err != nil {
		t.Fatal(err)
	}
	return s
}

func post(t *testing.T, h http.Handler, path string, req any) (int, reply) {
	t.Helper()
	body, _ := json.Marshal(req)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body)))
	var rep reply
	if err := json.Unmarshal(rec.Body.Bytes(), &rep); err != nil {
		t.Fatalf("%s: not JSON: %q", path, rec.Body.String())
	}
	return rec.Code, rep
}

func TestLensAndPin(t *testing.T) {
	h := tinyServer(t).Handler()
	_, rep := post(t, h, "/api/lens", Request{Prompt: "Are cats good?", Prompt2: "Are dogs good?", Metric: "kl_to_final"})
	if rep.Error != "" || len(rep.Parts) != 2 {
		t.Fatalf("lens of two prompts: %+v", rep)
	}
	m, _ := engine.LoadModel("tiny", lensnb.LoadModelOptions{})
	want, _ := lensnb.Prompt(m, "Are cats good?", lensnb.Options{TopK: 10})
	for s, row := range want.Cells {
		for c, cell := range row {
			if rep.Parts[0].Top1[s][c] != cell.Top[0].ID {
				t.Fatalf("top1[%d][%d] = %d, the lens says %d", s, c, rep.Parts[0].Top1[s][c], cell.Top[0].ID)
			}
		}
	}
	if !strings.Contains(rep.Parts[0].HTML, "KL(final") || !strings.Contains(rep.Parts[0].HTML, "logitlens-chart") {
		t.Error("the heatmap fragment lacks its chart or its title")
	}
	_, pin := post(t, h, "/api/pin", Request{Prompt: "Are cats good?", Column: 1, Token: 922})
	if pin.Error != "" || len(pin.Parts) != 1 || !strings.Contains(pin.Parts[0].Label, "P(") {
		t.Errorf("pin: %+v", pin)
	}
	_, gen := post(t, h, "/api/lens", Request{Prompt: "Are cats good?", Mode: "generate", Tokens: 3, Decoder: "raw"})
	if gen.Error != "" || len(gen.Parts[0].Top1[0]) != 3 {
		t.Errorf("generation lens of 3 tokens: %+v", gen.Error)
	}
}

func TestBadRequests(t *testing.T) {
	h := tinyServer(t).Handler()
	for _, c := range []struct {
		path string
		req  Request
		want string
	}{
		{"/api/lens", Request{Prompt: "  "}, "type a prompt"},
		{"/api/lens", Request{Prompt: "x", Metric: "nope"}, "unknown metric"},
		{"/api/lens", Request{Prompt: "x", Decoder: "nope"}, "unknown decoder"},
		{"/api/lens", Request{Prompt: "x", Mode: "generate", Tokens: 1000}, "generate 1 to 64"},
		{"/api/lens", Request{Prompt: strings.Repeat("cat ", 300)}, "n_positions"},
		{"/api/pin", Request{Prompt: "x", Token: -1}, "outside the vocabulary"},
		{"/api/pin", Request{Prompt: "x", Column: 9, Token: 5}, "column 9"},
		{"/api/pin", Request{Prompt: "x", Side: 1, Token: 5}, "no prompt 2"},
	} {
		if _, rep := post(t, h, c.path, c.req); !strings.Contains(rep.Error, c.want) {
			t.Errorf("%s %+v: error %q, want %q", c.path, c.req, rep.Error, c.want)
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/lens", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET /api/lens: %d", rec.Code)
	}
}

func TestLoadingAndLoadError(t *testing.T) {
	release := make(chan struct{})
	s := New("slow", func() (*lensnb.Model, error) {
		<-release
		return nil, errors.New("cannot load model \"slow\": no such folder")
	})
	h := s.Handler()
	if code, rep := post(t, h, "/api/lens", Request{Prompt: "x"}); code != http.StatusServiceUnavailable || !strings.Contains(rep.Error, "loading") {
		t.Errorf("while loading: %d %+v", code, rep)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/status", nil))
	if !strings.Contains(rec.Body.String(), `"ready":false`) {
		t.Errorf("status while loading: %s", rec.Body.String())
	}
	close(release)
	s.Wait()
	if _, rep := post(t, h, "/api/lens", Request{Prompt: "x"}); !strings.Contains(rep.Error, "no such folder") {
		t.Errorf("after a failed load: %+v", rep)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if !strings.Contains(rec.Body.String(), "__logitlensECharts") || !strings.Contains(rec.Body.String(), "Logit lens explorer") {
		t.Error("the page lacks the embedded ECharts or its heading")
	}
}

// The explorer serves every family: its lens is lensnb's on that model.
func TestExplorerOnEveryFamily(t *testing.T) {
	for name, spec := range fixture.Families() {
		dir, err := fixture.Cached(spec)
		if err != nil {
			t.Fatal(err)
		}
		s := New(dir, func() (*lensnb.Model, error) { return engine.LoadModel(dir, lensnb.LoadModelOptions{}) })
		if err := s.Wait(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		_, rep := post(t, s.Handler(), "/api/lens", Request{Prompt: "Are cats good?", Metric: "prob"})
		_, gen := post(t, s.Handler(), "/api/lens", Request{Prompt: "Are cats good?", Mode: "generate", Tokens: 2})
		if rep.Error != "" || len(rep.Parts) != 1 || len(rep.Parts[0].Top1) != spec.NLayer+1 || gen.Error != "" {
			t.Errorf("%s: %+v / %s", name, rep.Error, gen.Error)
		}
	}
}
