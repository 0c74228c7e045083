# Every target runs with the toolchain and flags the project needs:
# Go 1.27.3 from the module proxy (the machine's Go is 1.26 with GOTOOLCHAIN=local)
# and GOEXPERIMENT=simd (the pure-Go backend's matmuls are ~40x faster with it).
export GOTOOLCHAIN := go1.27.3
export GOEXPERIMENT := simd
SHELL := /bin/bash

MODEL ?= demo
PROMPT ?= Are cats good?

.PHONY: deps lens test vet bench notebook

# deps installs what tests need on a fresh Debian machine: PyTorch (the
# independent reference), Node packages (the independent tokenizer), Chromium.
deps:
	bash scripts/install-deps.sh

# lens runs the main job: the logit lens CLI on MODEL (a hub id, a folder, or
# "demo": the small GPT-2 trained here on public-domain text, shipped in demo/) and PROMPT.
lens:
	go run ./cmd/logitlens --model "$(MODEL)" --prompt "$(PROMPT)" --html out/lens.html --json out/lens.json

vet:
	test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	go vet ./...

# test installs the test dependencies, then runs vet and every test.
test: deps vet
	go test -count=1 -timeout 45m ./...

# bench times this project against PyTorch (reference/bench_torch.py, installed by
# scripts/install-reference.sh) on a GPT-2-small-shaped model, then the scale table
# on gpt2-medium, -large and -xl shapes (written once into the user cache: 10.7 GB
# of disk; a size that does not fit the disk or memory is skipped), then training
# (GoMLX vs PyTorch on the same batches), a tuned-lens step, and notebook 01 as it
# was when cells linked GoMLX and as it is now (thin clients): see BENCHMARKS.md.
bench:
	bash scripts/install-reference.sh
	go run ./cmd/bench
	go run ./cmd/bench -genstep
	go run ./cmd/bench -scale
	go run ./cmd/train -bench 40
	go test ./engine -run XXX -bench TuneStep -benchtime 1x
	go test ./notebooks -run XXX -bench NotebookThinClient -benchtime 1x -timeout 60m
	go test ./notebooks -run XXX -bench 'NotebookCell$$' -benchtime 1x -timeout 20m

# notebook installs Jupyter and the GoNB kernel (scripts/install-jupyter.sh), builds
# the model server the notebooks' cells talk to (once per source tree, into the user
# cache; a cell would otherwise build it on first use), then opens the practicum's
# notebooks. The model comes from LOGITLENS_MODEL (default gpt2 when it is cached
# or downloadable, else demo, with a line that says so; LOGITLENS_MODEL=tiny make
# notebook runs on random weights).
notebook:
	bash scripts/install-jupyter.sh
	go run ./cmd/logitlens-server -install
	jupyter notebook --notebook-dir=notebooks $$([ "$$(id -u)" = 0 ] && echo --allow-root)
