#!/usr/bin/env bash
# Installs what is missing, then runs every check: formatting, clippy, unit and integration tests
# on SQLite and PostgreSQL, the release build with its size report, and the browser suite.
source "$(dirname "$0")/lib.sh"

install_tools

step "Formatting"
cargo fmt --all -- --check

# The server side (`app` with `ssr`, and `kassa`) is linted and tested in one cargo run each:
# separate runs resolve the dependencies' features differently (the server's tests switch on
# more of tokio, hyper and tower), and a cold build would then compile much of the tree twice.
# The browser side is its own run: a workspace-wide one would switch on `ssr` and `hydrate`
# together in `app`.
step "Clippy"
cargo clippy -p app -p kassa --features app/ssr --all-targets -- -D warnings
cargo clippy -p frontend --target wasm32-unknown-unknown -- -D warnings

# A throwaway PostgreSQL cluster, unless TEST_POSTGRES_URL points at one already.
if [ -z "${TEST_POSTGRES_URL:-}" ]; then
  step "Starting a throwaway PostgreSQL"
  source "$ROOT/scripts/postgres.sh"
  start_throwaway_postgres
  trap stop_throwaway_postgres EXIT
fi
export TEST_POSTGRES_URL

step "Unit and integration tests (SQLite and PostgreSQL)"
cargo test -p app -p kassa --features app/ssr

# The browser suite runs the release site (the WASM, JS and CSS shoppers get, which the size
# report measures) on the debug server `cargo test` has just built: the same code, without the
# release server's build (a third, optimised compile of every dependency).
# `scripts/run.sh` and the benchmarks build and run the release server.
step "Building the release site (WASM, JS and CSS)"
cargo leptos build --release --split --frontend-only
# The server learns the site's content-hashed file names from hash.txt beside its binary.
cp target/release/hash.txt target/debug/hash.txt
export KASSA_E2E_BIN=target/debug/kassa

step "Size report"
node scripts/size-report.mjs target/site/pkg

step "Browser tests (headless Chromium)"
(cd end2end && npx playwright test)

step "All checks passed"
