package computepatch

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPatchFileInSync: every line that third_party/compute/compute.patch adds is in
// the file it names, so the patch offered upstream is the code this repository
// runs (regenerate it as PATCH.md says after changing the patched files).
func TestPatchFileInSync(t *testing.T) {
	root := filepath.Join("..", "..", "third_party", "compute")
	patch, err := os.ReadFile(filepath.Join(root, "compute.patch"))
	if err != nil {
		t.Fatal(err)
	}
	files := 0
	var body string
	for _, line := range strings.Split(string(patch), "\n") {
		switch {
		case strings.HasPrefix(line, "+++ b/"):
			b, err := os.ReadFile(filepath.Join(root, strings.TrimPrefix(line, "+++ b/")))
			if err != nil {
				t.Fatal(err)
			}
			body, files = string(b), files+1
		case strings.HasPrefix(line, "+") && !strings.HasPrefix(line, "+++"):
			if !strings.Contains(body, line[1:]) {
				t.Errorf("compute.patch adds %q, not in the patched file: regenerate compute.patch", line[1:])
			}
		}
	}
	if files < 5 {
		t.Errorf("compute.patch names %d files, want the router, thin and assembly files", files)
	}
}
