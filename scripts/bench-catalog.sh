#!/usr/bin/env bash
# Catalog benchmark: requests per second and p50/p99 latency for the collection page (24
# products) and the product page, against the release server (with its default one-second page
# cache; with the cache off, rendering every page from the page data kept in memory; and with
# that off too, reading every page from the database), with two baselines measured in the same
# run: a bare axum handler (the ceiling of the HTTP stack) and the smallest leptos_axum app
# rendering a 50-row list (what Leptos itself renders; server/examples/bare_leptos.rs), to which
# the uncached pages are compared. Load comes from wrk on loopback; every run is bounded in time.
#
#   scripts/bench-catalog.sh [seconds per run, default 10] [connections, default 50]
source "$(dirname "$0")/lib.sh"

DURATION="${1:-10}"
CONNECTIONS="${2:-50}"
KASSA_PORT=3301
BARE_PORT=3302
# The same server with the page cache off: what rendering a page costs (its data kept in memory).
COLD_PORT=3303
# And with the catalog's memory off too: what reading a page from the database and rendering costs.
DB_PORT=3304
# Leptos's own speed: a 50-row list, rendered by leptos_axum with nothing else around it.
LEPTOS_PORT=3305

if ! command -v wrk >/dev/null; then
  step "Installing wrk from Debian"
  as_root apt-get update -q && DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -q wrk
fi
[ -x target/release/kassa ] || build_release
step "Building the baselines (bare axum, bare Leptos)"
cargo build --release -p kassa --example bare_axum --example bare_leptos -q

DATA="$(mktemp -d)"
cleanup() { kill "${PIDS[@]}" 2>/dev/null || true; rm -rf "$DATA"; }
PIDS=()
trap cleanup EXIT
RUST_LOG=warn KASSA_ADDR="127.0.0.1:$KASSA_PORT" KASSA_DATA_DIR="$DATA" target/release/kassa serve >/dev/null 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$KASSA_PORT/healthz" >/dev/null && break; sleep 0.1; done
RUST_LOG=warn KASSA_PAGE_CACHE_MS=0 KASSA_ADDR="127.0.0.1:$COLD_PORT" KASSA_DATA_DIR="$DATA" target/release/kassa serve >/dev/null 2>&1 &
PIDS+=($!)
RUST_LOG=warn KASSA_PAGE_CACHE_MS=0 KASSA_CATALOG_MEMORY_MB=0 KASSA_ADDR="127.0.0.1:$DB_PORT" KASSA_DATA_DIR="$DATA" target/release/kassa serve >/dev/null 2>&1 &
PIDS+=($!)
target/release/examples/bare_axum "127.0.0.1:$BARE_PORT" &
PIDS+=($!)
target/release/examples/bare_leptos "127.0.0.1:$LEPTOS_PORT" &
PIDS+=($!)
for _ in $(seq 100); do
  curl -fs "http://127.0.0.1:$COLD_PORT/healthz" >/dev/null && curl -fs "http://127.0.0.1:$DB_PORT/healthz" >/dev/null \
    && curl -fs "http://127.0.0.1:$BARE_PORT/" >/dev/null && curl -fs "http://127.0.0.1:$LEPTOS_PORT/" >/dev/null \
    && break
  sleep 0.1
done

# A browser's user agent: wrk sends none, and a request without one is a robot, which the
# analytics do not count. With it, every page view is recorded.
BROWSER="Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
# The islands' beacon, as `navigator.sendBeacon` sends it.
BEACON="$DATA/beacon.lua"
cat >"$BEACON" <<LUA
wrk.method = "POST"
wrk.body = '{"type":"add_to_cart","path":"/products/ridge-fleece-hoodie","variant_id":1}'
wrk.headers["Content-Type"] = "text/plain;charset=UTF-8"
wrk.headers["User-Agent"] = "$BROWSER"
LUA

# Prints "rps p50_ms p99_ms" for one URL, asked for as a browser does (compressed); with a
# second argument "identity", uncompressed; "browser", with a browser's user agent (counted
# by the analytics); "beacon", the islands' analytics event.
measure() {
  local out encoding="gzip, deflate, br" extra=()
  [ "${2:-}" = identity ] && encoding=identity
  [ "${2:-}" = browser ] && extra=(-H "User-Agent: $BROWSER")
  [ "${2:-}" = beacon ] && extra=(-s "$BEACON")
  out="$(wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -H "Accept-Encoding: $encoding" "${extra[@]}" "$1")"
  local rps p50 p99
  rps="$(awk '/Requests\/sec/ { print $2 }' <<<"$out")"
  p50="$(awk '$1 == "50%" { print $2 }' <<<"$out")"
  p99="$(awk '$1 == "99%" { print $2 }' <<<"$out")"
  echo "$rps $(to_ms "$p50") $(to_ms "$p99")"
}
to_ms() {
  python3 -c "import sys; v=sys.argv[1]; u=v.lstrip('0123456789.'); n=float(v[:len(v)-len(u)]); print(round(n*{'us':0.001,'ms':1,'s':1000}[u],2))" "$1"
}

# Each server compresses its WASM once at startup (two seconds of a core): not measured.
for pid in "${PIDS[@]}"; do wait_until_idle "$pid"; done

step "Measuring (${DURATION}s each, $CONNECTIONS connections, 2 wrk threads)"
read -r bare_rps bare_p50 bare_p99 < <(measure "http://127.0.0.1:$BARE_PORT/")
read -r leptos_rps leptos_p50 leptos_p99 < <(measure "http://127.0.0.1:$LEPTOS_PORT/" identity)
read -r coll_rps coll_p50 coll_p99 < <(measure "http://127.0.0.1:$KASSA_PORT/collections/home")
read -r prod_rps prod_p50 prod_p99 < <(measure "http://127.0.0.1:$KASSA_PORT/products/ridge-fleece-hoodie")
read -r plain_rps plain_p50 plain_p99 < <(measure "http://127.0.0.1:$KASSA_PORT/collections/home" identity)
read -r cold_coll_rps cold_coll_p50 cold_coll_p99 < <(measure "http://127.0.0.1:$COLD_PORT/collections/home" identity)
read -r cold_prod_rps cold_prod_p50 cold_prod_p99 < <(measure "http://127.0.0.1:$COLD_PORT/products/ridge-fleece-hoodie" identity)
read -r db_coll_rps db_coll_p50 db_coll_p99 < <(measure "http://127.0.0.1:$DB_PORT/collections/home" identity)
read -r db_prod_rps db_prod_p50 db_prod_p99 < <(measure "http://127.0.0.1:$DB_PORT/products/ridge-fleece-hoodie" identity)
read -r seen_rps seen_p50 seen_p99 < <(measure "http://127.0.0.1:$KASSA_PORT/collections/home" browser)
read -r beacon_rps beacon_p50 beacon_p99 < <(measure "http://127.0.0.1:$KASSA_PORT/api/v1/events" beacon)
products="$(curl -fs "http://127.0.0.1:$KASSA_PORT/collections/home" | grep -o 'data-testid="product-card"' | wc -l)"

ratio() { python3 -c "print(f'{$1/$2:.2f}')"; }
row() { # label rps p50 p99 [compared with Leptos]
  local vs_leptos="-"
  [ "${5:-}" = leptos ] && vs_leptos="$(ratio "$2" "$leptos_rps")"
  printf '%-40s %10s %9s %9s %8s %9s\n' "$1" "$2" "$3" "$4" "$(ratio "$2" "$bare_rps")" "$vs_leptos"
}
printf '\n%-40s %10s %9s %9s %8s %9s\n' "page" "req/s" "p50 ms" "p99 ms" "vs bare" "vs Leptos"
row "bare axum handler (ceiling)" "$bare_rps" "$bare_p50" "$bare_p99"
row "bare Leptos, 50-row list, uncompr." "$leptos_rps" "$leptos_p50" "$leptos_p99" leptos
row "collection page ($products products)" "$coll_rps" "$coll_p50" "$coll_p99"
row "product page (15 variants)" "$prod_rps" "$prod_p50" "$prod_p99"
row "collection page, uncompressed" "$plain_rps" "$plain_p50" "$plain_p99"
row "collection page, cache off, uncompr." "$cold_coll_rps" "$cold_coll_p50" "$cold_coll_p99" leptos
row "product page, cache off, uncompr." "$cold_prod_rps" "$cold_prod_p50" "$cold_prod_p99" leptos
row "collection, cache+memory off, uncompr." "$db_coll_rps" "$db_coll_p50" "$db_coll_p99" leptos
row "product, cache+memory off, uncompr." "$db_prod_rps" "$db_prod_p50" "$db_prod_p99" leptos
row "collection page, counted (browser UA)" "$seen_rps" "$seen_p50" "$seen_p99"
row "analytics beacon (POST /api/v1/events)" "$beacon_rps" "$beacon_p50" "$beacon_p99"
