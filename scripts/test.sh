#!/usr/bin/env bash
# Lint, type-check, migration check, then the test suite on SQLite and on a throwaway
# PostgreSQL cluster. Arguments are passed to both pytest runs. Runs every step and
# exits non-zero if any failed.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
VENV="$ROOT/.venv/bin"
PATH="$VENV:$PATH"  # so subprocesses started by tests find the venv's tools
export PATH

TMP=$(mktemp -d /tmp/berth-test.XXXXXX)
PGBIN=""
PGDATA=""
PG_STARTED=0
PG_READY=0

as_postgres() {  # PostgreSQL refuses to run as root
    if [ "$(id -u)" -eq 0 ]; then
        (cd / && runuser -u postgres -- "$@")
    else
        "$@"
    fi
}

cleanup() {
    if [ "$PG_STARTED" -eq 1 ]; then
        as_postgres "$PGBIN/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null 2>&1 || true
    fi
    [ -n "$PGDATA" ] && rm -rf "$PGDATA"
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

passed=()
failed=()
step() {  # step NAME COMMAND...: run one step, record the outcome, never abort the script
    local name=$1 rc=0
    shift
    printf '\n==> %s\n' "$name"
    "$@" || rc=$?
    if [ "$rc" -eq 0 ]; then
        passed+=("$name")
    else
        [ "$rc" -eq 5 ] && echo "(pytest exit 5: no tests were collected)"
        failed+=("$name (exit $rc)")
    fi
}

# Default settings = SQLite under BERTH_VAR_DIR; keep it away from the dev database.
sqlite_env() {
    mkdir -p "$TMP/var"
    env -u DATABASE_URL BERTH_VAR_DIR="$TMP/var" "$@"
}

# Runs inside step(), where `set -e` does not apply: check each command explicitly.
start_postgres() {
    PGBIN=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -1)
    if [ ! -x "$PGBIN/initdb" ]; then
        echo "PostgreSQL binaries not found under /usr/lib/postgresql (run scripts/setup.sh)" >&2
        return 1
    fi
    PG_PORT=$("$VENV/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])') || return 1
    PGDATA=$(mktemp -d /tmp/berth-pg.XXXXXX) || return 1
    if [ "$(id -u)" -eq 0 ]; then chown postgres "$PGDATA" || return 1; fi
    as_postgres "$PGBIN/initdb" -D "$PGDATA" -U postgres -A trust --no-sync >/dev/null || return 1
    PG_STARTED=1  # from here on, cleanup tries to stop it
    if ! as_postgres "$PGBIN/pg_ctl" -D "$PGDATA" -l "$PGDATA/log" -w \
        -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $PGDATA -c fsync=off" start >/dev/null; then
        cat "$PGDATA/log" >&2
        return 1
    fi
    PG_READY=1
    echo "PostgreSQL $("$PGBIN/postgres" -V | awk '{print $3}') on 127.0.0.1:$PG_PORT"
}

start=$SECONDS
step "ruff check" "$VENV/ruff" check .
step "ruff format --check" "$VENV/ruff" format --check .
step "mypy" "$VENV/mypy" .
step "makemigrations --check" sqlite_env "$VENV/python" manage.py makemigrations --check --dry-run
step "pytest (SQLite)" sqlite_env "$VENV/python" -m pytest "$@"
step "start PostgreSQL" start_postgres
if [ "$PG_READY" -eq 1 ]; then
    mkdir -p "$TMP/var-pg"
    step "pytest (PostgreSQL)" env BERTH_VAR_DIR="$TMP/var-pg" \
        DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres" "$VENV/python" -m pytest "$@"
fi

elapsed=$((SECONDS - start))
echo
if [ "${#failed[@]}" -eq 0 ]; then
    echo "SUMMARY: all ${#passed[@]} steps passed in ${elapsed}s"
else
    printf -v list '%s, ' "${failed[@]}"
    echo "SUMMARY: ${#failed[@]} of $((${#passed[@]} + ${#failed[@]})) steps FAILED in ${elapsed}s: ${list%, }"
    exit 1
fi
