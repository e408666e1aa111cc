#!/usr/bin/env bash
# Browser end-to-end tests: installs the test's npm packages when missing,
# builds the server and runs the walk-through in headless Chromium.
#   CHROMIUM=/path/to/chromium   browser to drive (default /usr/bin/chromium)
#   THINX_BIN=/path/to/thinx     test this binary instead of building one
#   E2E_SCREENSHOTS=dir          where the screenshots go (default screenshots/ beside this script)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"

if [ ! -d "$here/node_modules/playwright-core" ]; then
  (cd "$here" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
fi

if [ -z "${THINX_BIN:-}" ]; then
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  (cd "$root" && CGO_ENABLED=0 go build -o "$tmp/thinx" .)
  export THINX_BIN="$tmp/thinx"
fi

cd "$here"
node --test *.test.mjs
