#!/usr/bin/env bash
# Installs what the display/ browser tests need; idempotent, safe to rerun:
#   - Debian's chromium and chromium-driver (apt), when /usr/bin/chromium is missing;
#   - the npm package playwright-core (Apache-2.0) into the repo's git-ignored
#     node_modules/, which scripts/browsercheck/check.js uses to drive that
#     chromium (no browser download: playwright-core ships none).
# No package.json or lock file is written (--no-save, --no-package-lock).
# Needs root for apt (or sudo), and node + npm (Debian: apt-get install -y nodejs npm).
set -euo pipefail

PW_VERSION=1.65.1
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo "$@"; else
    echo "install-browser: need root (or sudo) to run: $*" >&2
    return 1
  fi
}

if [ -x /usr/bin/chromium ] && command -v chromedriver >/dev/null 2>&1; then
  echo "install-browser: chromium already installed: $(/usr/bin/chromium --version 2>/dev/null || echo '?')"
else
  echo "install-browser: installing chromium and chromium-driver with apt"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -q
  as_root apt-get install -y -q --no-install-recommends chromium chromium-driver fonts-dejavu-core
fi

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "install-browser: node and npm are needed (Debian: apt-get install -y nodejs npm)" >&2
  exit 1
fi

have_pw() {
  node -e 'process.exit(require(process.argv[1]).version === process.argv[2] ? 0 : 1)' \
    "$ROOT/node_modules/playwright-core/package.json" "$PW_VERSION" 2>/dev/null
}

if have_pw; then
  echo "install-browser: playwright-core@$PW_VERSION already in $ROOT/node_modules"
else
  echo "install-browser: installing playwright-core@$PW_VERSION into $ROOT/node_modules"
  # --prefix pins the install to the repo root; playwright-core downloads no browser.
  npm install --prefix "$ROOT" --no-save --no-audit --no-fund --no-package-lock "playwright-core@$PW_VERSION"
  have_pw || { echo "install-browser: playwright-core did not install" >&2; exit 1; }
fi
echo "install-browser: ok"
