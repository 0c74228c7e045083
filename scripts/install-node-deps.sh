#!/usr/bin/env bash
# Installs the npm package gpt-3-encoder (MIT), an independent JavaScript GPT-2
# BPE that gpt2/tokenizer_test.go checks our tokenizer against through
# scripts/gpt2-encoder-ref.js. It goes into the repo's node_modules/ (git-ignored);
# no package.json or lock file is written.
# Idempotent: does nothing when the pinned version is already there.
# Needs node and npm (Debian: apt-get install nodejs npm).
set -euo pipefail

PKG=gpt-3-encoder
VERSION=1.1.4
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="$ROOT/node_modules/$PKG"

have_version() {
  [ -f "$DEST/package.json" ] && [ -f "$DEST/Encoder.js" ] &&
    node -e 'process.exit(require(process.argv[1]).version === process.argv[2] ? 0 : 1)' \
      "$DEST/package.json" "$VERSION" 2>/dev/null
}

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "install-node-deps: node and npm are needed (Debian: apt-get install -y nodejs npm)" >&2
  exit 1
fi

if have_version; then
  echo "install-node-deps: $PKG@$VERSION already in $ROOT/node_modules; nothing to do"
  exit 0
fi

echo "install-node-deps: installing $PKG@$VERSION into $ROOT/node_modules"
# --prefix pins the install to the repo root (npm would otherwise look upwards
# for a package.json); --no-save writes no package.json / package-lock.json.
npm install --prefix "$ROOT" --no-save --no-audit --no-fund --no-package-lock "$PKG@$VERSION"

if ! have_version; then
  echo "install-node-deps: $PKG@$VERSION did not install into $DEST" >&2
  exit 1
fi
echo "install-node-deps: ok, $PKG@$VERSION"
