#!/usr/bin/env bash
# Refreshes the copy of Apache ECharts that display/ embeds (go:embed) and inlines
# into every chart, so charts work offline and users need no npm:
#   display/assets/echarts.min.js, LICENSE, NOTICE, LICENSE-d3 (Apache-2.0; the
#   bundle includes d3 code under its BSD licence).
# Only maintainers run this (the files are committed); it needs npm and the registry.
# Bump ECHARTS_VERSION here and echartsVersion in display/echarts.go together.
set -euo pipefail
ECHARTS_VERSION=5.6.0
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="$ROOT/display/assets"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
(cd "$TMP" && npm pack --silent "echarts@$ECHARTS_VERSION" >/dev/null && tar xzf "echarts-$ECHARTS_VERSION.tgz")
mkdir -p "$DEST"
cp "$TMP/package/dist/echarts.min.js" "$DEST/echarts.min.js"
cp "$TMP/package/LICENSE" "$DEST/LICENSE"
cp "$TMP/package/NOTICE" "$DEST/NOTICE"
cp "$TMP/package/licenses/LICENSE-d3" "$DEST/LICENSE-d3"
sha256sum "$DEST/echarts.min.js"
echo "vendor-echarts: echarts@$ECHARTS_VERSION -> $DEST"
