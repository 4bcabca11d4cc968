# A PostgreSQL cluster in a temporary directory, for tests only: started, used, deleted.
# Sourced by scripts/test.sh; defines TEST_POSTGRES_URL.

start_throwaway_postgres() {
  local bin
  bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
  if [ -z "$bin" ]; then
    step "Installing PostgreSQL from Debian"
    as_root apt-get update -q
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -q postgresql
    bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
  fi
  PG_DIR="$(mktemp -d /tmp/kassa-pg.XXXXXX)"
  PG_PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  # PostgreSQL refuses to run as root: use the postgres user when we are root.
  local run=()
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres "$PG_DIR"
    run=(runuser -u postgres --)
  fi
  PG_RUN=("${run[@]}")
  "${run[@]}" "$bin/initdb" -D "$PG_DIR/data" -U postgres -A trust --no-sync >"$PG_DIR/initdb.log" 2>&1 \
    || { cat "$PG_DIR/initdb.log"; return 1; }
  # fsync off: this cluster holds throwaway test data only (benchmarks turn it back on through
  # PG_EXTRA_OPTIONS, which come later and win).
  "${run[@]}" "$bin/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w \
    -o "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300 ${PG_EXTRA_OPTIONS:-}" start >/dev/null \
    || { cat "$PG_DIR/server.log"; return 1; }
  PG_BIN="$bin"
  TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres"
  echo "PostgreSQL on port $PG_PORT ($PG_DIR)"
}

stop_throwaway_postgres() {
  if [ -n "${PG_DIR:-}" ]; then
    "${PG_RUN[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast stop >/dev/null 2>&1 || true
    rm -rf "$PG_DIR"
  fi
}
