package static_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/logitlens-go/logitlens/display"
	"github.com/logitlens-go/logitlens/display/static"
	"github.com/logitlens-go/logitlens/internal/lenssample"
)

// A static, annotated heatmap: shown in GoNB and saved as PNG and SVG.
func ExampleHeatmap() {
	r := lenssample.Result(4, 6, false, 1)
	im, err := static.Heatmap(r, display.StaticOptions{Cells: display.CellTokenValue}, static.PNG)
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = display.Show(im) // an <img> in GoNB
	dir, _ := os.MkdirTemp("", "lens")
	defer os.RemoveAll(dir)
	fmt.Println(im.Save(filepath.Join(dir, "lens.png")))
	fmt.Println(static.Save(filepath.Join(dir, "lens.svg"), r, display.StaticOptions{}))
	// Output:
	// <nil>
	// <nil>
}
