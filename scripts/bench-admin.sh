#!/usr/bin/env bash
# The admin order list at 100,000 orders on SQLite and PostgreSQL: p50/p99 for the first page,
# filtered pages and a deep page.
#
#   scripts/bench-admin.sh [orders, default 100000]
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/postgres.sh"

ORDERS="${1:-100000}"
step "Building the benchmark"
cargo build --release -p kassa --example bench_admin_orders -q
step "SQLite"
target/release/examples/bench_admin_orders "" "$ORDERS"
step "PostgreSQL"
start_throwaway_postgres
trap stop_throwaway_postgres EXIT
target/release/examples/bench_admin_orders "$TEST_POSTGRES_URL" "$ORDERS"
