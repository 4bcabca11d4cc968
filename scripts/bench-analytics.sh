#!/usr/bin/env bash
# Analytics at a busy shop's size on SQLite and PostgreSQL: events written per second through
# the collector, then p50/p99 of every report over 90 days of events and 20,000 paid orders.
#
#   scripts/bench-analytics.sh [events, default 1000000]
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/postgres.sh"

EVENTS="${1:-1000000}"
step "Building the benchmark"
cargo build --release -p kassa --example bench_analytics -q
step "SQLite"
target/release/examples/bench_analytics "" "$EVENTS"
step "PostgreSQL"
start_throwaway_postgres
trap stop_throwaway_postgres EXIT
target/release/examples/bench_analytics "$TEST_POSTGRES_URL" "$EVENTS"
