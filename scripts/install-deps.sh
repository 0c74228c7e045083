#!/usr/bin/env bash
# Installs everything the tests need on a fresh Debian machine; idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
go version
[ -x scripts/install-reference.sh ] && bash scripts/install-reference.sh
[ -f scripts/install-node-deps.sh ] && bash scripts/install-node-deps.sh
for extra in scripts/install-browser.sh scripts/install-jupyter.sh; do
	[ -f "$extra" ] && bash "$extra"
done
echo "deps: ok"
