#!/usr/bin/env bash
# Lint, type-check, migration check, then the test suite on SQLite and on a throwaway
# PostgreSQL cluster. The database-bound tests run on both, in BERTH_TEST_WORKERS
# processes (pytest-xdist, default 2); the tests that drive the real engines (registry,
# buildah, podman, a Celery worker, Chromium; marked "engine" by tests/conftest.py) spend
# their time in those engines, so they run once, in one process, on PostgreSQL.
# Arguments are passed to every pytest run. Runs every step and exits non-zero if any
# failed.
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
    if [ -n "${BG_PID:-}" ]; then  # a background pass still running (interrupted run)
        pkill -TERM -P "$BG_PID" 2>/dev/null || true
        kill "$BG_PID" 2>/dev/null || true
    fi
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
NARROWED=$(( $# > 0 ))
step() {  # step NAME COMMAND...: run one step, record the outcome, never abort the script
    local name=$1 rc=0
    shift
    printf '\n==> %s\n' "$name"
    "$@" || rc=$?
    if [ "$rc" -eq 0 ]; then
        passed+=("$name")
    else
        if [ "$rc" -eq 5 ] && [ "$NARROWED" -eq 1 ]; then
            # ARGS narrowed the run (say -k lock): one pass may rightly select nothing.
            echo "(pytest exit 5: no tests selected in this pass)"
            passed+=("$name")
            return 0
        fi
        [ "$rc" -eq 5 ] && echo "(pytest exit 5: no tests were collected)"
        failed+=("$name (exit $rc)")
    fi
}

# One step may run in the background: its output goes to a file, shown when it is waited
# for, and its outcome is recorded then like any other step's.
BG_NAME=""
BG_PID=""
step_in_background() {  # step_in_background NAME COMMAND...
    BG_NAME=$1
    shift
    printf '\n==> %s: started in the background, its output follows at the end\n' "$BG_NAME"
    ( "$@" >"$TMP/background.log" 2>&1; echo $? >"$TMP/background.rc" ) &
    BG_PID=$!
}
wait_for_background() {
    wait "$BG_PID" || true
    BG_PID=""
    step "$BG_NAME" sh -c 'cat "$1"; exit "$(cat "$2")"' _ "$TMP/background.log" "$TMP/background.rc"
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
WORKERS=${BERTH_TEST_WORKERS:-2}
# The real-engine pass mostly waits on buildah, podman and Chromium, so it runs beside
# the database passes (its output follows theirs); each pass has its own var folder and
# test database.
step "start PostgreSQL" start_postgres
if [ "$PG_READY" -eq 1 ]; then
    PG_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres"
    mkdir -p "$TMP/var-pg" "$TMP/var-engines"
    step_in_background "pytest (PostgreSQL, real engines)" env BERTH_VAR_DIR="$TMP/var-engines" \
        DATABASE_URL="$PG_URL" "$VENV/python" -m pytest -m engine "$@"
fi
step "pytest (SQLite)" sqlite_env "$VENV/python" -m pytest -m "not engine" -n "$WORKERS" "$@"
if [ "$PG_READY" -eq 1 ]; then
    step "pytest (PostgreSQL)" env BERTH_VAR_DIR="$TMP/var-pg" DATABASE_URL="$PG_URL" \
        "$VENV/python" -m pytest -m "not engine" -n "$WORKERS" "$@"
    wait_for_background
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
