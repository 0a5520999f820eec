#!/usr/bin/env bash
# Catalog load benchmark: a release engine seeded with N generated products, measured with the
# shared wrk load mix (../shared/bench/load.sh, scenarios products_list, products_filtered,
# product_detail).
#
#   bench/catalog.sh sqlite            # a fresh SQLite file in a temp directory
#   bench/catalog.sh postgres          # a fresh database on $PG_SERVER (dropped afterwards)
#
# Env: PRODUCTS (10000), PORT (8001), PG_SERVER (postgres://postgres@127.0.0.1:5432),
#      PG_DB (commerce_bench), POOL (32: database.max_connections), ENGINE (a prebuilt engine
#      binary; default: `cargo build --release` and target/release/engine), LOAD_SH
#      (../shared/bench/load.sh relative to the workspace), KEEP=1 keeps the database.
#      Everything load.sh reads (THREADS, CONNECTIONS, DURATION, WARMUP, SCENARIOS, …) passes
#      through; SCENARIOS defaults to the three catalog scenarios here.
set -euo pipefail

BACKEND=${1:-sqlite}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PRODUCTS=${PRODUCTS:-10000}
PORT=${PORT:-8001}
PG_SERVER=${PG_SERVER:-postgres://postgres@127.0.0.1:5432}
PG_DB=${PG_DB:-commerce_bench}
POOL=${POOL:-32}
LOAD_SH=${LOAD_SH:-$ROOT/../shared/bench/load.sh}
export SCENARIOS=${SCENARIOS:-products_list products_filtered product_detail}

if [ -z "${ENGINE:-}" ]; then
    (cd "$ROOT" && cargo build --release -p commerce-engine --bin engine >&2)
    ENGINE=$(cd "$ROOT" && cargo metadata --format-version 1 --no-deps |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/release/engine
fi

WORK=$(mktemp -d /tmp/catalog-bench.XXXXXX)
SERVER_PID=
cleanup() {
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
    if [ "$BACKEND" = postgres ] && [ "${KEEP:-0}" != 1 ]; then
        psql "$PG_SERVER/postgres" -qc "DROP DATABASE IF EXISTS $PG_DB" >/dev/null 2>&1 || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

case $BACKEND in
    sqlite) export COMMERCE_DATABASE__URL="sqlite://$WORK/bench.db" ;;
    postgres)
        psql "$PG_SERVER/postgres" -qc "DROP DATABASE IF EXISTS $PG_DB" >/dev/null
        psql "$PG_SERVER/postgres" -qc "CREATE DATABASE $PG_DB" >/dev/null
        export COMMERCE_DATABASE__URL="$PG_SERVER/$PG_DB"
        ;;
    *) echo "usage: $0 sqlite|postgres" >&2; exit 2 ;;
esac
export COMMERCE_SERVER__BIND="127.0.0.1:$PORT"
export COMMERCE_LOG__LEVEL=${COMMERCE_LOG__LEVEL:-warn}
export COMMERCE_DATABASE__MAX_CONNECTIONS=$POOL
export COMMERCE_JOBS__ENABLED=false
export COMMERCE_MAIL__TRANSPORT=file COMMERCE_MAIL__FILE_DIR="$WORK/mail"

"$ENGINE" seed --products "$PRODUCTS" >&2
if [ "$BACKEND" = postgres ]; then
    # Fresh statistics, as autovacuum would have gathered them on a database that has been up.
    psql "$COMMERCE_DATABASE__URL" -qc "VACUUM ANALYZE" >/dev/null
fi
"$ENGINE" serve >"$WORK/engine.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$PORT/ready" >/dev/null 2>&1 && break
    sleep 0.1
done
curl -fsS "http://127.0.0.1:$PORT/ready" >/dev/null || { cat "$WORK/engine.log" >&2; exit 1; }

echo "# catalog bench: backend=$BACKEND products=$PRODUCTS pool=$POOL cpus=$(nproc) load=$(cut -d' ' -f1-3 /proc/loadavg)"
"$LOAD_SH" "http://127.0.0.1:$PORT"
