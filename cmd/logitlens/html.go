package main

import (
	"errors"
	"io"

	"github.com/logitlens-go/logitlens/lensnb"
)

// writeHTML writes the interactive heatmap page.
func writeHTML(w io.Writer, r *lensnb.Result) error {
	return errors.New("--html: the heatmap renderer is not built yet")
}
