#!/usr/bin/env bash
# Installs what the display/ browser tests need; idempotent, safe to rerun:
#   - Debian's chromium and chromium-driver (apt), when /usr/bin/chromium is missing;
#   - the npm packages playwright-core (Apache-2.0), which
#     scripts/browsercheck/check.js uses to drive that chromium (it downloads no
#     browser), and requirejs (MIT), whose require.js the tests load to play
#     Jupyter Notebook classic, into the repo's git-ignored node_modules/.
# No package.json or lock file is written (--no-save, --no-package-lock).
# Needs root for apt (or sudo), and node + npm (Debian: apt-get install -y nodejs npm).
set -euo pipefail

PW_VERSION=1.65.1
RJS_VERSION=2.3.8
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

have() { # have NAME VERSION
  node -e 'process.exit(require(process.argv[1]).version === process.argv[2] ? 0 : 1)' \
    "$ROOT/node_modules/$1/package.json" "$2" 2>/dev/null
}
have_all() { have playwright-core "$PW_VERSION" && have requirejs "$RJS_VERSION"; }

if have_all; then
  echo "install-browser: playwright-core@$PW_VERSION and requirejs@$RJS_VERSION already in $ROOT/node_modules"
else
  echo "install-browser: installing playwright-core@$PW_VERSION and requirejs@$RJS_VERSION into $ROOT/node_modules"
  # Without a package.json, `npm install --no-save X` prunes every other package
  # from node_modules/ (e.g. gpt-3-encoder from install-node-deps.sh), so the
  # packages already there are named again, at their installed versions.
  keep=()
  if [ -d "$ROOT/node_modules" ]; then
    while IFS= read -r spec; do
      [ -n "$spec" ] && keep+=("$spec")
    done < <(node -e '
      const fs = require("fs"), path = require("path");
      const nm = process.argv[1];
      const dirs = [];
      for (const d of fs.readdirSync(nm)) {
        if (d.startsWith(".")) continue;
        if (d.startsWith("@")) { for (const s of fs.readdirSync(path.join(nm, d))) dirs.push(d + "/" + s); }
        else dirs.push(d);
      }
      for (const d of dirs) {
        try {
          const p = JSON.parse(fs.readFileSync(path.join(nm, d, "package.json"), "utf8"));
          if (p.name && p.version && p.name !== "playwright-core" && p.name !== "requirejs") console.log(p.name + "@" + p.version);
        } catch (e) {}
      }' "$ROOT/node_modules")
  fi
  # --prefix pins the install to the repo root; playwright-core downloads no browser.
  npm install --prefix "$ROOT" --no-save --no-audit --no-fund --no-package-lock \
    "${keep[@]}" "playwright-core@$PW_VERSION" "requirejs@$RJS_VERSION"
  have_all || { echo "install-browser: playwright-core or requirejs did not install" >&2; exit 1; }
fi
echo "install-browser: ok"
