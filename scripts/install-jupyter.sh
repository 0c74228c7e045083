#!/usr/bin/env bash
# Installs what the Go notebooks need, on a Debian machine; safe to run again
# (each step checks first and does nothing when already done):
#   - Jupyter from Debian: nbconvert (headless runs and HTML export), the classic
#     notebook server (python3-notebook, and jupyter-notebook for the
#     `jupyter notebook` command), jupyter-client and ipykernel;
#   - GoNB (the Go kernel), goimports and gopls, built with the project's toolchain;
#   - the "gonb" kernelspec, whose env carries GOTOOLCHAIN, GOEXPERIMENT and PATH so
#     that every cell is compiled exactly as `make test` compiles the packages.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

GONB_VERSION=v0.11.5
GOPLS_VERSION=v0.24.0
XTOOLS_VERSION=v0.51.0 # goimports, from the x/tools release gopls v0.24 builds on

gobin="$(go env GOPATH)/bin"
export PATH="$gobin:$PATH"

# 1. Debian packages.
debs=(jupyter-nbconvert jupyter-notebook python3-notebook jupyter-client python3-ipykernel)
missing=()
for p in "${debs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
	echo "install-jupyter: apt-get install ${missing[*]}"
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	$sudo apt-get update -qq
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# 2. Go tools. `go version -m` reads the module version a binary was built from.
built_from() { # binary module → version or empty
	[ -x "$gobin/$1" ] && go version -m "$gobin/$1" 2>/dev/null | awk -v m="$2" '$1 == "mod" && $2 == m { print $3 }'
}
# `go install pkg@version` also asks the proxy for the module's version list (to
# warn about deprecation), and some proxies refuse that list (403) while serving the
# version itself. So: download the exact version, then install with the module
# cache as the first proxy; anything missing there still comes from $GOPROXY.
install_tool() { # binary module version package
	if [ "$(built_from "$1" "$2")" != "$3" ]; then
		echo "install-jupyter: go install $4@$3"
		(cd / && go mod download "$2@$3" &&
			GOPROXY="file://$(go env GOMODCACHE)/cache/download,$(go env GOPROXY)" go install "$4@$3")
	fi
}
install_tool gonb github.com/janpfeifer/gonb "$GONB_VERSION" github.com/janpfeifer/gonb
install_tool goimports golang.org/x/tools "$XTOOLS_VERSION" golang.org/x/tools/cmd/goimports
install_tool gopls golang.org/x/tools/gopls "$GOPLS_VERSION" golang.org/x/tools/gopls

# 3. The kernelspec. `gonb --install` writes kernel.json (argv, display name); we
# then add the environment. jupyter-client expands ${PATH} in kernelspec env values
# against the server's own environment.
kernel_dir="${JUPYTER_DATA_DIR:-$HOME/.local/share/jupyter}/kernels/gonb"
go_dir="$(dirname "$(command -v go)")"
want_path="$gobin:$go_dir:\${PATH}"
if ! [ -f "$kernel_dir/kernel.json" ] ||
	! grep -q "\"GOEXPERIMENT\": *\"$GOEXPERIMENT\"" "$kernel_dir/kernel.json" ||
	! grep -q "\"GOTOOLCHAIN\": *\"$GOTOOLCHAIN\"" "$kernel_dir/kernel.json" ||
	! grep -qF "\"$gobin/gonb\"" "$kernel_dir/kernel.json"; then
	"$gobin/gonb" --install >/dev/null 2>&1 || "$gobin/gonb" --install
	/usr/bin/python3 - "$kernel_dir/kernel.json" "$GOTOOLCHAIN" "$GOEXPERIMENT" "$want_path" <<'EOF'
import json, sys
path, toolchain, experiment, search = sys.argv[1:]
with open(path) as f:
    spec = json.load(f)
spec.setdefault("env", {}).update({"GOTOOLCHAIN": toolchain, "GOEXPERIMENT": experiment, "PATH": search})
with open(path, "w") as f:
    json.dump(spec, f, indent=1, sort_keys=True)
    f.write("\n")
EOF
	echo "install-jupyter: registered the gonb kernel in $kernel_dir"
fi
echo "install-jupyter: ok ($(jupyter nbconvert --version 2>/dev/null | sed 's/^/nbconvert /'), gonb $GONB_VERSION)"
