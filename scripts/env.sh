# Sourced by every script, the Makefile and .ci/run.
# The stack needs Go >= 1.27; the machine's Go is 1.26 with GOTOOLCHAIN=local,
# so the go command fetches go1.27.3 from the module proxy.
export GOTOOLCHAIN=go1.27.3
# GoMLX's pure-Go backend is ~40x faster with SIMD kernels (GOEXPERIMENT=simd).
export GOEXPERIMENT=simd
export PATH="$(go env GOPATH 2>/dev/null || echo $HOME/go)/bin:$PATH"
