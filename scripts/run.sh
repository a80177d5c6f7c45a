#!/usr/bin/env bash
# Run the embedded default locally: SQLite + file-system broker under var/, one Celery
# worker in the background, Django's dev server in the foreground on 127.0.0.1:${PORT:-8000}.
# Ctrl-C stops everything.
set -euo pipefail

cd "$(dirname "$0")/.."
VENV="$PWD/.venv/bin"
PATH="$VENV:$PATH"
export PATH
LOG_DIR=var/log

# Background services, each in its own process group (setsid) so stopping one also stops
# its children (Celery's pool processes) and Ctrl-C on the terminal does not hit them
# before we stop them in order.
BG_NAMES=()
BG_PIDS=()

start_bg() {  # start_bg NAME COMMAND...: output goes to var/log/NAME.log
    local name=$1
    shift
    setsid "$@" >>"$LOG_DIR/$name.log" 2>&1 &
    BG_NAMES+=("$name")
    BG_PIDS+=("$!")
    echo "run: started $name (pid $!, log $LOG_DIR/$name.log)"
}

stop_bg() {
    local i pid
    for i in "${!BG_PIDS[@]}"; do
        pid=${BG_PIDS[$i]}
        kill -TERM -- "-$pid" 2>/dev/null || continue
        echo "run: stopping ${BG_NAMES[$i]} (pid $pid)"
        for _ in {1..50}; do  # up to 5 s for a warm shutdown
            kill -0 -- "-$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL -- "-$pid" 2>/dev/null || true
    done
    BG_PIDS=()
}
trap stop_bg EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p var "$LOG_DIR"
"$VENV/python" manage.py migrate --noinput
"$VENV/python" manage.py seeddemo

start_bg worker "$VENV/celery" -A console worker --loglevel=INFO --concurrency=1

# Not exec: the EXIT trap must run after the server stops.
"$VENV/python" manage.py runserver "127.0.0.1:${PORT:-8000}"
