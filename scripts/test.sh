#!/usr/bin/env bash
# Installs what is missing, then runs every check: formatting, clippy, unit and integration tests
# on SQLite and PostgreSQL, the release build with its size report, and the browser suite.
source "$(dirname "$0")/lib.sh"

install_tools

step "Formatting"
cargo fmt --all -- --check

# Each crate is linted and tested with its own features: a workspace-wide run would switch on
# `ssr` and `hydrate` together in `app`.
step "Clippy"
cargo clippy -p app --features ssr --all-targets -- -D warnings
cargo clippy -p kassa --all-targets -- -D warnings
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
cargo test -p app --features ssr
cargo test -p kassa

build_release

step "Size report"
node scripts/size-report.mjs target/site/pkg

step "Browser tests (headless Chromium)"
(cd end2end && npx playwright test)

step "All checks passed"
