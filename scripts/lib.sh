# lib.sh - shell functions shared by scripts/test, scripts/pg-start and
# scripts/pg-stop: a throwaway PostgreSQL cluster on a free port, the SMTP
# sink of the tests, free ports and timing.  Sourced, never run.
#
# A throwaway cluster lives in a temporary directory owned by the postgres
# user (initdb refuses to run as root), listens on 127.0.0.1 only, keeps its
# unix socket inside that directory and trusts every local connection: it
# exists for the length of one test run and holds fictional data only.
# shellcheck shell=bash

# Messages go to standard error so that functions can print results.
say() { printf '%s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

# A TCP port nobody listens on right now (the kernel picks it).
free_port() {
    /usr/bin/python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

# The newest PostgreSQL server installed by Debian (15 on Debian 12).
pg_bindir() {
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -n -r); do
        if [ -x "$d/initdb" ]; then
            echo "$d"
            return 0
        fi
    done
    return 1
}

# Runs a PostgreSQL program as the owner of the cluster: the postgres user
# when we are root, ourselves otherwise.  No shell string is built: the
# arguments go through as they are.
pg_as_owner() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

# pg_start: creates and starts a cluster.  Sets PG_DIR, PG_PORT and
# PG_ADMIN_URL (the "postgres" database, for createdb and the unit tests).
pg_start() {
    PG_BIN=$(pg_bindir) || die "PostgreSQL is not installed (run scripts/install-deps)"
    PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/cityos-pg.XXXXXX") || die "mktemp failed"
    if [ "$(id -u)" = 0 ]; then
        chown postgres:postgres "$PG_DIR"
    fi
    chmod 700 "$PG_DIR"
    pg_as_owner "$PG_BIN/initdb" -D "$PG_DIR/data" -A trust -U postgres \
        --encoding=UTF8 --locale=C.UTF-8 >"$PG_DIR.initdb.log" 2>&1 ||
        { cat "$PG_DIR.initdb.log" >&2; die "initdb failed"; }
    rm -f "$PG_DIR.initdb.log"
    PG_PORT=$(free_port)
    # Durability is pointless for a cluster thrown away after the run.
    cat >>"$PG_DIR/data/postgresql.conf" <<EOF
port = $PG_PORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '$PG_DIR'
max_connections = 300
fsync = off
synchronous_commit = off
full_page_writes = off
log_min_messages = warning
EOF
    pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" \
        -w -t 60 start >/dev/null ||
        { cat "$PG_DIR/server.log" >&2; die "PostgreSQL did not start"; }
    PG_ADMIN_URL="postgresql://postgres@127.0.0.1:$PG_PORT/postgres"
    export PG_DIR PG_PORT PG_ADMIN_URL
    say "PostgreSQL started: $PG_DIR on 127.0.0.1:$PG_PORT"
}

# pg_createdb NAME: a new database in the cluster; prints its URL.
pg_createdb() {
    "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres "$1" ||
        die "createdb $1 failed"
    echo "postgresql://postgres@127.0.0.1:$PG_PORT/$1"
}

# pg_stop [DIR]: stops the cluster and removes its directory.
pg_stop() {
    local dir bin
    dir=${1:-${PG_DIR:-}}
    [ -n "$dir" ] && [ -d "$dir" ] || return 0
    bin=${PG_BIN:-$(pg_bindir)}
    if [ -f "$dir/data/postmaster.pid" ]; then
        pg_as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop \
            >/dev/null 2>&1 || say "warning: pg_ctl stop failed for $dir"
    fi
    rm -rf "$dir"
    say "PostgreSQL stopped: $dir"
}

# smtp_start DIR: the SMTP sink (tests/tools/smtp_sink.py) on a free port,
# saving each message as a file in DIR.  Sets SMTP_PID, SMTP_PORT,
# SMTP_DIR and SMTP_URL.
smtp_start() {
    local i
    SMTP_DIR=$1
    mkdir -p "$SMTP_DIR"
    /usr/bin/python3 "$ROOT/tests/tools/smtp_sink.py" --port 0 --dir "$SMTP_DIR" \
        >"$SMTP_DIR.out" 2>"$SMTP_DIR.err" &
    SMTP_PID=$!
    i=0
    while ! grep -q '^ready' "$SMTP_DIR.out" 2>/dev/null; do
        i=$((i + 1))
        if [ $i -gt 100 ] || ! kill -0 "$SMTP_PID" 2>/dev/null; then
            cat "$SMTP_DIR.err" >&2
            die "the SMTP sink did not start"
        fi
        sleep 0.1
    done
    SMTP_PORT=$(sed -n 's/^ready \([0-9]*\).*/\1/p' "$SMTP_DIR.out" | head -n 1)
    SMTP_URL="smtp://127.0.0.1:$SMTP_PORT"
    export SMTP_PID SMTP_PORT SMTP_DIR SMTP_URL
    say "SMTP sink started: $SMTP_URL, messages in $SMTP_DIR"
}

smtp_stop() {
    if [ -n "${SMTP_PID:-}" ] && kill -0 "$SMTP_PID" 2>/dev/null; then
        kill -TERM "$SMTP_PID" 2>/dev/null
        wait "$SMTP_PID" 2>/dev/null
    fi
    SMTP_PID=
}

# Seconds since the epoch, for the timings of the summary.
now_s() { date +%s; }
