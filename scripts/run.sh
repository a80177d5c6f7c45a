#!/usr/bin/env bash
# Run the embedded default locally: SQLite + file-system broker under var/, a local OCI
# registry for builds, one Celery worker (with beat) in the background, Django's dev server
# in the foreground on 127.0.0.1:${PORT:-8000}.
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

# The local OCI registry that builds push to, on the address BERTH_REGISTRY names. It
# answers only with a password that Berth's processes get through their environment (never
# a command line) and write to a private auth file for buildah and podman. Builds and
# workloads have no route to it anyway; the password also keeps out anyone else on this
# machine (docs/build-sandbox.md). It is made once and kept in var/registry/ (0600).
REGISTRY=${BERTH_REGISTRY:-127.0.0.1:5050}
mkdir -p var/registry
if [ ! -s var/registry/password ]; then
    (umask 077 && "$VENV/python" -c \
        'from artifacts.registry import new_registry_password; print(new_registry_password())' \
        >var/registry/password)
fi
export BERTH_REGISTRY_USERNAME=${BERTH_REGISTRY_USERNAME:-berth}
BERTH_REGISTRY_PASSWORD=${BERTH_REGISTRY_PASSWORD:-$(cat var/registry/password)}
export BERTH_REGISTRY_PASSWORD
(umask 077 && "$VENV/python" -c 'import os
from artifacts.registry import htpasswd_entry
print(htpasswd_entry(os.environ["BERTH_REGISTRY_USERNAME"], os.environ["BERTH_REGISTRY_PASSWORD"]))' \
    >var/registry/htpasswd)
cat >var/registry/config.yml <<EOF
version: 0.1
storage:
  filesystem:
    rootdirectory: $PWD/var/registry/data
http:
  addr: $REGISTRY
auth:
  htpasswd:
    realm: berth
    path: $PWD/var/registry/htpasswd
EOF
start_bg registry docker-registry serve var/registry/config.yml
for _ in {1..50}; do  # without credentials the answer is 401: the registry is up
    code=$(curl -sS -o /dev/null -w '%{http_code}' "http://$REGISTRY/v2/" 2>/dev/null || true)
    if [ "$code" = 401 ] || [ "$code" = 200 ]; then break; fi
    sleep 0.1
done

"$VENV/python" manage.py ensurebaseimage
"$VENV/python" manage.py seeddemo

# -B runs Celery beat inside the worker: the periodic sweep of builds whose worker died.
start_bg worker "$VENV/celery" -A console worker -B --loglevel=INFO --concurrency=1 \
    --schedule var/celerybeat-schedule

# Not exec: the EXIT trap must run after the server stops.
"$VENV/python" manage.py runserver "127.0.0.1:${PORT:-8000}"
