#!/usr/bin/env bash
# Lighthouse mobile performance (npm lighthouse driving Debian's Chromium) for the home,
# collection and product pages of the release server. Prints score, FCP, LCP, TBT and CLS.
#
#   scripts/lighthouse.sh        (after scripts/test.sh or cargo leptos build --release)
source "$(dirname "$0")/lib.sh"

install_tools
[ -x target/release/kassa ] || build_release
PORT=3401
DATA="$(mktemp -d)"
RUST_LOG=warn KASSA_ADDR="127.0.0.1:$PORT" KASSA_DATA_DIR="$DATA" target/release/kassa serve >/dev/null 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; rm -rf "$DATA"' EXIT
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done

printf '%-34s %6s %8s %8s %8s %6s\n' page score FCP LCP TBT CLS
for page in / /collections/home /products/ridge-fleece-hoodie; do
  report="$(mktemp)"
  CHROME_PATH=/usr/bin/chromium lighthouse "http://127.0.0.1:$PORT$page" --quiet \
    --only-categories=performance --form-factor=mobile --output=json --output-path="$report" \
    --chrome-flags="--headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage --disable-background-networking"
  python3 - "$page" "$report" <<'PY'
import json, sys
page, path = sys.argv[1], sys.argv[2]
r = json.load(open(path)); a = r["audits"]
v = lambda k: a[k]["displayValue"]
print(f"{page:34} {round(r['categories']['performance']['score'] * 100):6} {v('first-contentful-paint'):>8} "
      f"{v('largest-contentful-paint'):>8} {v('total-blocking-time'):>8} {v('cumulative-layout-shift'):>6}")
PY
  rm -f "$report"
done
