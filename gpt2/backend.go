package gpt2

import (
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/gomlx/compute"
	_ "github.com/gomlx/compute/gobackend" // the pure-Go backend, "go"
	"github.com/gomlx/go-xla/compute/xla"  // XLA through PJRT plugins already installed (no auto-install)
)

var (
	backendOnce   sync.Once
	sharedBackend compute.Backend
	sharedName    string
	backendErr    error
)

// Backend returns the process-wide GoMLX backend and a description of why it was chosen:
// $GOMLX_BACKEND if set; else XLA if a PJRT plugin is already installed; else the
// pure-Go backend. It never tries to download XLA (that needs the network).
func Backend() (compute.Backend, string, error) {
	backendOnce.Do(func() {
		sharedBackend, sharedName, backendErr = chooseBackend()
	})
	return sharedBackend, sharedName, backendErr
}

func chooseBackend() (compute.Backend, string, error) {
	xla.EnableAutoInstall(false)
	if cfg := strings.TrimSpace(os.Getenv(compute.ConfigEnvVar)); cfg != "" {
		if cfg == "go" {
			cfg = goBackend // the plain "go" backend would use one core (see below)
		}
		b, err := newBackend(cfg)
		if err != nil {
			return nil, "", fmt.Errorf("backend from GOMLX_BACKEND=%q: %w (unset it to use the pure-Go backend)", cfg, err)
		}
		return b, fmt.Sprintf("%s (from GOMLX_BACKEND)", cfg), nil
	}
	if plugins := xla.GetAvailablePlugins(); len(plugins) > 0 {
		cfg := "xla:" + plugins[0]
		if b, err := newBackend(cfg); err == nil {
			return b, fmt.Sprintf("%s (installed XLA plugin)", cfg), nil
		}
	}
	b, err := newBackend(goBackend)
	if err != nil {
		return nil, "", err
	}
	return b, goBackend + " (pure Go; no XLA plugin installed)", nil
}

// goBackend is the pure-Go backend with ops_sequential: its default (parallel op
// scheduling) parks up to 3 idle executor goroutines in the worker pool for the
// whole call, so each matmul gets one worker and the model runs on one core; run
// ops one by one and let each matmul use every core instead.
const goBackend = "go:ops_sequential"

// newBackend wraps compute.NewWithConfig, which panics on unknown names.
func newBackend(cfg string) (b compute.Backend, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v (known backends: %s)", r, strings.Join(compute.List(), ", "))
		}
	}()
	return compute.NewWithConfig(cfg)
}
