#!/usr/bin/env bash
# Checkout benchmark: durable paid orders per second and p50/p99 latency on SQLite and on
# PostgreSQL (a throwaway cluster with fsync ON, unlike the test cluster), with the disk's fsync
# rate and the SQL statements per checkout measured in the same run.
#
#   scripts/bench-checkout.sh [seconds per scenario, default 5]
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/postgres.sh"

SECONDS_EACH="${1:-5}"
step "Building the benchmark"
cargo build --release -p kassa --example bench_checkout -q

step "SQLite"
target/release/examples/bench_checkout "" "$SECONDS_EACH"

step "PostgreSQL (fsync on, synchronous_commit on)"
PG_EXTRA_OPTIONS="-c fsync=on -c synchronous_commit=on" start_throwaway_postgres
trap stop_throwaway_postgres EXIT
target/release/examples/bench_checkout "$TEST_POSTGRES_URL" "$SECONDS_EACH"
