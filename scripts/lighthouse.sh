#!/usr/bin/env bash
# Lighthouse mobile performance (npm lighthouse driving Debian's Chromium) for the home,
# collection, product, cart and checkout pages of the release server, and for a product whose
# picture is a large photo-like PNG imported through the media pipeline (JPEG and WebP copies,
# `<picture>`). Prints score, FCP, LCP, TBT and CLS.
#
#   scripts/lighthouse.sh        (after scripts/test.sh or cargo leptos build --release --split)
source "$(dirname "$0")/lib.sh"

install_tools
[ -x target/release/kassa ] || build_release
PORT=3401
DATA="$(mktemp -d)"
RUST_LOG=warn KASSA_ADDR="127.0.0.1:$PORT" KASSA_DATA_DIR="$DATA" target/release/kassa serve >/dev/null 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; rm -rf "$DATA"' EXIT
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done

# A product with a 1600 × 1200 photo-like picture (smooth shapes and grain, as a camera's), imported
# beside the running server as a shop owner would.
python3 - "$DATA/photo.png" <<'PY'
import math, random, struct, sys, zlib
w, h = 1600, 1200
rng = random.Random(7)
rows = bytearray()
for y in range(h):
    rows.append(0)
    for x in range(w):
        r = 128 + 90 * math.sin(x / 170.0) * math.cos(y / 230.0)
        g = 120 + 80 * math.sin((x + y) / 260.0)
        b = 110 + 70 * math.cos(math.hypot(x - 900, y - 500) / 90.0)
        n = rng.randint(-12, 12)
        rows += bytes(max(0, min(255, int(c) + n)) for c in (r, g, b))
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
png += chunk(b"IDAT", zlib.compress(bytes(rows), 6)) + chunk(b"IEND", b"")
open(sys.argv[1], "wb").write(png)
PY
printf 'Handle,Title,Variant SKU,Variant Price,Variant Inventory Qty,Image Src,Image Alt Text\nlighthouse-photo,Lighthouse photo,LH-1,25,10,photo.png,A photo\n' >"$DATA/photo.csv"
RUST_LOG=warn KASSA_DATA_DIR="$DATA" target/release/kassa import "$DATA/photo.csv" >/dev/null

printf '%-34s %6s %8s %8s %8s %6s\n' page score FCP LCP TBT CLS
for page in / /collections/home /products/ridge-fleece-hoodie /products/lighthouse-photo /cart /checkout; do
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
