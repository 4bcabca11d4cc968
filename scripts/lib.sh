# Shared by scripts/run.sh and scripts/test.sh: install what is missing, skip what is present.
# Sourced, not run. Every step is idempotent, so a second run costs seconds.

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

CARGO_LEPTOS_VERSION="0.3.10"
export PATH="$HOME/.cargo/bin:$ROOT/end2end/node_modules/.bin:$PATH"
# Playwright drives the system Chromium; it never downloads a browser of its own.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

# The wasm-bindgen CLI must be exactly the version of the crate in Cargo.lock.
wasm_bindgen_version() {
  awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock
}

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

install_tools() {
  step "Checking tools"
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    step "Adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
  fi

  if ! cargo leptos --version 2>/dev/null | grep -q "$CARGO_LEPTOS_VERSION"; then
    step "Installing cargo-leptos $CARGO_LEPTOS_VERSION (a one-off build of about 20 minutes)"
    cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked --features no_downloads
  fi

  local wbg
  wbg="$(wasm_bindgen_version)"
  if ! wasm-bindgen --version 2>/dev/null | grep -q " $wbg\$\| $wbg "; then
    step "Installing wasm-bindgen-cli $wbg (to match Cargo.lock)"
    cargo install wasm-bindgen-cli --version "$wbg"
  fi

  if [ ! -x /usr/bin/chromium ]; then
    step "Installing Chromium from Debian"
    as_root apt-get update -q
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -q chromium
  fi

  # Playwright and binaryen's wasm-opt (the release WASM optimiser) come from npm.
  if [ ! -x end2end/node_modules/.bin/wasm-opt ] || [ ! -x end2end/node_modules/.bin/playwright ] \
     || [ end2end/package-lock.json -nt end2end/node_modules/.package-lock.json ]; then
    step "Installing end2end npm packages"
    (cd end2end && npm ci --no-audit --no-fund)
  fi
}

build_release() {
  step "Building the release site (server + WASM)"
  cargo leptos build --release --split
}

# Waits, at most 30 seconds, until process $1 has used the CPU for under 5% of half a second:
# a server just started compresses its WASM at brotli's best (two seconds of a core here),
# which a measurement must not share with the pages it measures.
wait_until_idle() {
  local pid="$1" before after
  for _ in $(seq 60); do
    before="$(awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null)" || return 0
    sleep 0.5
    after="$(awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null)" || return 0
    [ $((after - before)) -le 2 ] && return 0
  done
}
