#!/usr/bin/env bash
# Catalog pages at scale: for each backend and catalog size, a fresh database filled by
# `kassa import` from scripts/gen-catalog.py (import wall time and peak memory measured), then
# requests per second and p50/p99 latency of every kind of catalog page with the page cache off
# (what rendering from the database costs; each after a second of warm-up, measured REPEATS
# times, default 3, and reported from the run of median p99: on a shared machine one run's p99
# moved by half from one run to the next), and a mix of 600+ distinct pages with the page
# cache on. Ends with how each page's p99 grows from the smallest size to the largest.
#
#   scripts/bench-scale.sh [sizes, default "1000 100000"] [backends, default "sqlite postgres"] \
#                          [seconds per run, default 10]
#
# PostgreSQL is one throwaway cluster for the whole run (fsync on, as in bench-checkout.sh; set
# PG_EXTRA_OPTIONS to change), a new database per size, vacuumed and analyzed after the import
# as autovacuum would within a minute. Load comes from wrk on loopback, 2 threads, 16
# connections; every wait is bounded. KASSA_BIN runs another build of the server instead of
# target/release/kassa.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=postgres.sh
source "$(dirname "$0")/postgres.sh"

SIZES="${1:-1000 100000}"
BACKENDS="${2:-sqlite postgres}"
DURATION="${3:-10}"
REPEATS="${REPEATS:-3}"
CONNECTIONS=16
COLLECTIONS=20
# The collection every page kind is measured on (one of line-a … line-t).
COLLECTION=line-c
# Hops through next-page links for the deep page.
DEEP_HOPS=40
# Uncached (KASSA_PAGE_CACHE_MS=0 and KASSA_CATALOG_MEMORY_MB=0: every page rendered from the
# database, as the long tail of a large catalog is) and cached (the defaults) servers.
COLD_PORT=3311
CACHED_PORT=3312
# Tenths of a second to wait for /healthz.
HEALTH_TRIES=600

usage() { sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
for size in $SIZES; do [[ "$size" =~ ^[1-9][0-9]*$ ]] || usage; done
for backend in $BACKENDS; do [[ "$backend" =~ ^(sqlite|postgres)$ ]] || usage; done
[[ "$DURATION" =~ ^[1-9][0-9]*$ ]] || usage
[[ "$REPEATS" =~ ^[1-9][0-9]*$ ]] || usage
if [ -z "${SIZES// /}" ] || [ -z "${BACKENDS// /}" ]; then usage; fi

missing=()
command -v wrk >/dev/null || missing+=(wrk)
[ -x /usr/bin/time ] || missing+=(time)
command -v curl >/dev/null || missing+=(curl)
if [ "${#missing[@]}" -gt 0 ]; then
  step "Installing ${missing[*]} from Debian"
  as_root apt-get update -q && DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -q "${missing[@]}"
fi
KASSA_BIN="${KASSA_BIN:-target/release/kassa}"
[ -x "$KASSA_BIN" ] || build_release

WORK="$(mktemp -d /tmp/kassa-scale.XXXXXX)"
RESULTS="$WORK/results.tsv"
REPORT="$WORK/report.txt"
: >"$RESULTS"
: >"$REPORT"
SERVER_PID=""

stop_server() {
  [ -n "$SERVER_PID" ] || return 0
  kill "$SERVER_PID" 2>/dev/null || true
  for _ in $(seq 50); do
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  kill -9 "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}
cleanup() {
  stop_server
  stop_throwaway_postgres
  rm -rf "$WORK"
}
trap cleanup EXIT

# Starts the release server on port $1 with a page cache of $2 ms (on the DATABASE_URL and
# KASSA_DATA_DIR of the run) and waits, at most HEALTH_TRIES tenths of a second, for /healthz.
start_server() {
  local port="$1" cache_ms="$2" memory_mb="${3:-}" log="$WORK/server-$1.log"
  if curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$port/"; then
    echo "port $port is already in use" >&2
    exit 1
  fi
  RUST_LOG=warn KASSA_NO_DEMO=true KASSA_PAGE_CACHE_MS="$cache_ms" \
    KASSA_CATALOG_MEMORY_MB="$memory_mb" KASSA_ADDR="127.0.0.1:$port" \
    "$KASSA_BIN" serve >"$log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq "$HEALTH_TRIES"); do
    if curl -fs -o /dev/null --max-time 2 "http://127.0.0.1:$port/healthz"; then
      # Healthy, but still compressing its WASM: measured pages would share a core with it.
      wait_until_idle "$SERVER_PID"
      return 0
    fi
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "the server on port $port did not become healthy:" >&2
  tail -n 20 "$log" >&2
  exit 1
}

server_rss_mb() {
  awk '/^VmRSS:/ { printf "%.0f", $2 / 1024 }' "/proc/$SERVER_PID/status"
}

# wrk against one URL (or, with -s, a script's paths); prints "req/s p50_ms p99_ms errors",
# errors being non-2xx/3xx responses plus socket errors and timeouts.
measure() {
  wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --timeout 30s --latency "$@" | awk '
    function ms(v) {
      if (v ~ /us$/) return v / 1000
      if (v ~ /ms$/) return v + 0
      if (v ~ /m$/) return v * 60000
      if (v ~ /s$/) return v * 1000
      return v + 0
    }
    /^Requests\/sec:/ { rps = $2 }
    $1 == "50%" { p50 = ms($2) }
    $1 == "99%" { p99 = ms($2) }
    /Non-2xx or 3xx responses:/ { errors += $NF }
    /Socket errors:/ { for (i = 3; i <= NF; i++) { gsub(",", "", $i); if ($i ~ /^[0-9]+$/) errors += $i } }
    END { printf "%.1f %.2f %.2f %d\n", rps, p50, p99, errors }'
}

# One GET of a path on the uncached server: prints "status product-cards" (for the product
# API, the products in its list).
page_check() {
  local code cards
  code="$(curl -s -o "$WORK/page.html" -w '%{http_code}' --max-time 120 "http://127.0.0.1:$COLD_PORT$1")" || code=000
  if [[ "$1" == /api/* ]]; then
    cards="$(python3 -c 'import json, sys; print(len(json.load(sys.stdin).get("items", [])))' <"$WORK/page.html" 2>/dev/null || echo 0)"
  else
    cards="$({ grep -o 'data-testid="product-card"' "$WORK/page.html" || true; } | wc -l)"
  fi
  echo "$code $cards"
}

# Follows the next-page link from path $1 up to $2 times; prints "hops path".
follow_next() {
  local path="$1" hops=0 next
  while [ "$hops" -lt "$2" ]; do
    next="$(curl -fs --max-time 120 "http://127.0.0.1:$COLD_PORT$path" \
      | grep -o '<a [^>]*data-testid="next-page"[^>]*>' | grep -o 'href="[^"]*"' | head -n 1 \
      | sed -e 's/^href="//' -e 's/"$//' -e 's/&amp;/\&/g')" || true
    [ -n "$next" ] || break
    path="$next"
    hops=$((hops + 1))
  done
  echo "$hops $path"
}

# An active product's number at or below $1: the generator makes every n ending in 99 a draft.
active_n() {
  local n="$1"
  [ "$n" -ge 1 ] || n=1
  [ $((n % 100)) -ne 99 ] || n=$((n - 1))
  echo "$n"
}

# The distinct catalog paths of the mix for a catalog of $1 products, shuffled (the same order
# every run), one a line.
mix_paths() {
  python3 - "$1" "$COLLECTIONS" <<'EOF'
import random, sys
size, count = int(sys.argv[1]), int(sys.argv[2])

def collection(index):  # as scripts/gen-catalog.py names them
    letters, index = "", index + 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("a") + rest) + letters
    return "line-" + letters

colours = ["Black", "Charcoal", "Cream", "Forest", "Mustard", "Navy", "Olive", "Rust", "Sage", "Sky"]
materials = ["merino", "cotton", "linen", "cashmere", "alpaca", "lambswool", "hemp", "fleece",
             "canvas", "denim", "corduroy", "bamboo"]
garments = ["beanie", "scarf", "sweater", "hoodie", "tee", "socks", "tote", "backpack"]
paths = ["/"]
for i in range(count):
    base = "/collections/" + collection(i)
    paths += [base] + [f"{base}?sort={s}" for s in ("newest", "price-asc", "price-desc", "name")]
    paths += [f"{base}?in_stock=1", f"{base}?sort=price-asc&in_stock=1"]
    paths += [f"{base}?min={lo}&max={hi}" for lo, hi in ((10, 30), (20, 60), (100, 300))]
    paths += [f"{base}?option=Size:M", f"{base}?option=Size:XL", f"{base}?option=Size:L&sort=price-desc"]
    paths += [f"{base}?option=Colour:{colours[(i + k) % len(colours)]}" for k in range(4)]
for k in range(200):
    n = 1 + k * (size - 1) // 199
    if n % 100 == 99:
        n -= 1
    paths.append(f"/products/p-{n}")
    if k % 5 == 0:
        paths.append(f"/search?q=P{n}-M")
for m in materials:
    paths += [f"/search?q={m}", f"/search?q={m}&sort=price-asc", f"/search?q={m}&sort=newest"]
    paths += [f"/search?q={m}+{g}" for g in garments]
paths = list(dict.fromkeys(paths))
random.Random(1).shuffle(paths)
print("\n".join(paths))
EOF
}

# One measured page kind: label, path. Appends to the report and to the results.
run_page() {
  local label="$1" path="$2" code cards rps p50 p99 errors
  read -r code cards < <(page_check "$path")
  if [ "$code" != 200 ]; then
    printf '%-34s %4s  (not measured: %s)\n' "$label" "$code" "$path" | tee -a "$REPORT"
    return 0
  fi
  # A second of the same load first, not counted: every connection prepares and plans the
  # page's statements once (on Postgres five custom plans per statement and connection), which
  # in a 5-second run was the whole p99.
  wrk -t2 -c"$CONNECTIONS" -d1s "http://127.0.0.1:$COLD_PORT$path" >/dev/null 2>&1 || true
  local runs=() run
  for run in $(seq "$REPEATS"); do
    runs[run]="$(measure "http://127.0.0.1:$COLD_PORT$path")"
  done
  # The run of median p99 (the lower middle one of an even number), with every run's errors.
  read -r rps p50 p99 _ < <(printf '%s\n' "${runs[@]}" | sort -g -k3,3 | sed -n "$(((REPEATS + 1) / 2))p")
  errors="$(printf '%s\n' "${runs[@]}" | awk '{ sum += $4 } END { print sum + 0 }')"
  printf '%-34s %4s %5s %10s %9s %9s %7s\n' "$label" "$code" "$cards" "$rps" "$p50" "$p99" "$errors" | tee -a "$REPORT"
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$BACKEND" "$SIZE" "$label" "$rps" "$p50" "$p99" >>"$RESULTS"
}

if [[ " $BACKENDS " == *" postgres "* ]]; then
  step "Starting a throwaway PostgreSQL (fsync on)"
  PG_EXTRA_OPTIONS="${PG_EXTRA_OPTIONS:--c fsync=on -c synchronous_commit=on}" start_throwaway_postgres
fi
pg() { "$PG_BIN/psql" -X -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -v ON_ERROR_STOP=1 "$@"; }

for BACKEND in $BACKENDS; do
  for SIZE in $SIZES; do
    csv="$WORK/catalog-$SIZE.csv"
    if [ ! -f "$csv" ]; then
      step "Generating $SIZE products"
      python3 scripts/gen-catalog.py "$SIZE" --collections "$COLLECTIONS" --out "$csv"
    fi

    step "$BACKEND, $SIZE products: migrate and import"
    KASSA_DATA_DIR="$(mktemp -d "$WORK/data-$BACKEND-$SIZE.XXXXXX")"
    if [ "$BACKEND" = sqlite ]; then
      # Named even though it is the default, so a DATABASE_URL in .env cannot redirect it.
      DATABASE_URL="sqlite://$KASSA_DATA_DIR/kassa.db"
    else
      database="kassa_scale_$SIZE"
      pg -d postgres -c "CREATE DATABASE $database"
      DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/$database"
    fi
    export KASSA_DATA_DIR DATABASE_URL
    RUST_LOG=warn timeout 600 "$KASSA_BIN" migrate >"$WORK/migrate.log" 2>&1 || { cat "$WORK/migrate.log"; exit 1; }
    # An hour at most: a stuck import fails the run instead of holding it.
    if ! RUST_LOG=warn timeout 3600 /usr/bin/time -v -o "$WORK/import.time" "$KASSA_BIN" import "$csv" >"$WORK/import.log" 2>&1; then
      tail -n 30 "$WORK/import.log"
      exit 1
    fi
    tail -n 1 "$WORK/import.log"
    import_s="$(awk '/Elapsed \(wall clock\)/ { n = split($NF, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]; printf "%.1f", s }' "$WORK/import.time")"
    import_mb="$(awk '/Maximum resident set size/ { printf "%.0f", $NF / 1024 }' "$WORK/import.time")"
    if [ "$BACKEND" = sqlite ]; then
      db_mb="$(du -sm "$KASSA_DATA_DIR" | cut -f1)"
    else
      pg -d "$database" -c "VACUUM ANALYZE"
      db_mb="$(pg -d postgres -At -c "SELECT pg_database_size('$database') / 1048576")"
    fi

    product_n="$(active_n $((SIZE < 777 ? SIZE : 777)))"
    rare_n="$(active_n $((SIZE * 9 / 10 + 7 < SIZE ? SIZE * 9 / 10 + 7 : SIZE)))"
    coll="/collections/$COLLECTION"

    {
      printf '\n== %s, %s products (%s variants) ==\n' "$BACKEND" "$SIZE" "$((SIZE * 4))"
      printf 'import: %s s wall, %s MB max RSS; database %s MB\n' "$import_s" "$import_mb" "$db_mb"
      printf 'page cache off, %s s per run, %s connections:\n' "$DURATION" "$CONNECTIONS"
      printf '%-34s %4s %5s %10s %9s %9s %7s\n' "page" "HTTP" "cards" "req/s" "p50 ms" "p99 ms" "errors"
    } | tee -a "$REPORT"

    start_server "$COLD_PORT" 0 0
    run_page "home" "/"
    run_page "collection, featured" "$coll"
    for sort in newest price-asc price-desc name; do
      run_page "collection, $sort" "$coll?sort=$sort"
    done
    run_page "collection, price-asc, in stock" "$coll?sort=price-asc&in_stock=1"
    run_page "collection, 20 to 60" "$coll?min=20&max=60"
    run_page "collection, Size:M" "$coll?option=Size:M"
    run_page "collection, Colour:Forest" "$coll?option=Colour:Forest"
    # The same filter over the whole catalog, where it fills a page at every size (in line-c of
    # 1,000 products only 4 products are Forest, against a page of 24 at 100,000): the listing's
    # cost for a rare option value, page for page.
    run_page "API, Colour:Forest, 24" "/api/v1/products?option=Colour:Forest&limit=24"
    read -r hops deep < <(follow_next "$coll" "$DEEP_HOPS")
    if [ "$hops" -gt 0 ]; then
      run_page "collection, deep page" "$deep"
      printf '%-34s (page %s, after %s next-page links)\n' "" "$((hops + 1))" "$hops" | tee -a "$REPORT"
    else
      printf '%-34s (no next-page link on %s)\n' "collection, deep page" "$coll" | tee -a "$REPORT"
    fi
    run_page "search merino" "/search?q=merino"
    run_page "search SKU (rare)" "/search?q=P$rare_n-M"
    run_page "search merino, price-asc" "/search?q=merino&sort=price-asc"
    # A SKU sorted by price: one match, found from the matches, not by walking the listing.
    run_page "search SKU, price-asc" "/search?q=P$rare_n-M&sort=price-asc"
    # A common word sorted by name: its products' titles begin with it, far along the sort.
    run_page "search merino, name" "/search?q=merino&sort=name"
    run_page "product page" "/products/p-$product_n"
    cold_rss="$(server_rss_mb)"
    stop_server

    mix_paths "$SIZE" >"$WORK/mix.txt"
    mix_count="$(wc -l <"$WORK/mix.txt")"
    [ "$mix_count" -ge 600 ] || { echo "only $mix_count mix paths" >&2; exit 1; }
    # Empty KASSA_PAGE_CACHE_MS and KASSA_CATALOG_MEMORY_MB are the defaults.
    start_server "$CACHED_PORT" ""
    read -r rps p50 p99 errors < <(measure -s scripts/bench-scale.lua "http://127.0.0.1:$CACHED_PORT" -- "$WORK/mix.txt")
    cached_rss="$(server_rss_mb)"
    stop_server
    {
      printf '%-34s %4s %5s %10s %9s %9s %7s\n' "mix, page cache on ($mix_count paths)" "" "" "$rps" "$p50" "$p99" "$errors"
      printf 'server VmRSS: %s MB after the uncached runs, %s MB after the mix\n' "$cold_rss" "$cached_rss"
    } | tee -a "$REPORT"
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$BACKEND" "$SIZE" "mix, page cache on" "$rps" "$p50" "$p99" >>"$RESULTS"

    if [ "$BACKEND" = postgres ]; then
      pg -d postgres -c "DROP DATABASE $database"
    fi
    rm -rf "$KASSA_DATA_DIR"
  done
done

step "Results"
cat "$REPORT"

# Each page's p99 at the largest size against the smallest, per backend.
smallest="$(tr ' ' '\n' <<<"$SIZES" | grep . | sort -n | head -n 1)"
largest="$(tr ' ' '\n' <<<"$SIZES" | grep . | sort -n | tail -n 1)"
if [ "$smallest" != "$largest" ]; then
  printf '\n== p99 at %s products against %s ==\n' "$largest" "$smallest"
  awk -F'\t' -v small="$smallest" -v large="$largest" '
    !(($1 SUBSEP $3) in seen) { seen[$1, $3] = 1; order[++n] = $1 SUBSEP $3 }
    $2 == small { a[$1, $3] = $6 }
    $2 == large { b[$1, $3] = $6 }
    END {
      printf "%-10s %-34s %12s %12s %8s\n", "backend", "page", "p99 ms " small, "p99 ms " large, "ratio"
      for (i = 1; i <= n; i++) {
        split(order[i], key, SUBSEP)
        k = order[i]
        if (!(k in a) || !(k in b)) continue
        ratio = a[k] > 0 ? sprintf("%.1fx", b[k] / a[k]) : "-"
        printf "%-10s %-34s %12s %12s %8s\n", key[1], key[2], a[k], b[k], ratio
      }
    }' "$RESULTS"
fi
