#!/usr/bin/env bash
# Regenerates docs/images/sample-page.png: the sample's page after "Race it", in headless Chromium (Debian's
# /usr/bin/chromium, driven by Playwright), against the sample on real Kestrel with the payment call gated so that
# the picture always shows the race (two unsafe checkouts charged twice, two safe ones charged once).
#
#   scripts/screenshot.sh            (installs Debian's chromium when missing, as root)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = "0" ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium;
  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; fi
fi
mkdir -p docs/images
out="$ROOT/docs/images/sample-page.png"
rm -f "$out"
CI=true CHECKOUTAPI_SCREENSHOT="$out" dotnet test tests/CheckoutApi.Tests -c Release -nologo \
  --filter "FullyQualifiedName~CheckoutApi.Tests.Browser.RaceItTests.RaceIt_"
[ -s "$out" ] || { echo "no screenshot was written" >&2; exit 1; }
echo "wrote $out"
