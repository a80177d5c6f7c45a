#!/usr/bin/env bash
# Bootstrap a dev/CI environment: Debian packages, a Python >= 3.12 virtualenv in .venv,
# and the project installed into it. Idempotent; near-instant when nothing changed.
set -euo pipefail

# Debian packages the project relies on: PostgreSQL for the test run, Chromium for the browser
# tests (Playwright drives it; it cannot download a browser here), buildah + a registry +
# skopeo for image builds, busybox-static for the offline base image, podman + runc +
# catatonit (the init `podman run --init` needs; --no-install-recommends skips it) to run
# workloads, curl for health checks.
APT_PACKAGES=(postgresql chromium buildah skopeo docker-registry busybox-static runc podman catatonit curl)

cd "$(dirname "$0")/.."
VENV=.venv
STAMP="$VENV/.berth-installed"

# --- 1. Debian packages -------------------------------------------------------------
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    [ "$status" = "install ok installed" ] || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" -eq 0 ]; then
        echo "setup: installing Debian packages: ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -q
        apt-get install -y -q --no-install-recommends "${missing[@]}"
    else
        echo "setup: WARNING: missing Debian packages (not root, not installing): ${missing[*]}" >&2
        echo "setup:   install them with: sudo apt-get install --no-install-recommends ${missing[*]}" >&2
    fi
fi

# --- 2. Python >= 3.12 ---------------------------------------------------------------
python_ok() {  # pyenv shims exist for every version but fail when not selected: run it
    "$1" -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1
}

find_python() {
    local c v p
    for c in python3.13 python3.12 python3; do
        if command -v "$c" >/dev/null 2>&1 && python_ok "$c"; then
            command -v "$c"
            return 0
        fi
    done
    if command -v pyenv >/dev/null 2>&1; then
        # Newest installed 3.13.x first, then 3.12.x.
        for v in $(pyenv versions --bare 2>/dev/null | grep -E '^3\.1[23]\.[0-9]+$' | sort -rV); do
            p=$(PYENV_VERSION="$v" pyenv which python3 2>/dev/null) || continue
            if python_ok "$p"; then
                echo "$p"
                return 0
            fi
        done
    fi
    return 1
}

# --- 3. virtualenv + project install ------------------------------------------------
if [ -d "$VENV" ] && ! python_ok "$VENV/bin/python"; then
    echo "setup: $VENV is missing a working Python >= 3.12; recreating it"
    rm -rf "$VENV"
fi
if [ ! -d "$VENV" ]; then
    if ! PY=$(find_python); then
        echo "setup: ERROR: no Python >= 3.12 found (tried python3.13, python3.12, python3 on PATH" >&2
        echo "setup:   and pyenv 3.13.x/3.12.x). Install one, e.g. 'pyenv install 3.12'." >&2
        exit 1
    fi
    echo "setup: creating $VENV with $PY ($("$PY" -V 2>&1))"
    "$PY" -m venv "$VENV"
fi

# Reinstall only when the dependency declarations change.
dep_files=(pyproject.toml)
constraints=()
if [ -f constraints.txt ]; then
    dep_files+=(constraints.txt)
    constraints=(-c constraints.txt)
fi
want=$(cat "${dep_files[@]}" | sha256sum | cut -d' ' -f1)
have=$(cat "$STAMP" 2>/dev/null || true)
if [ "$want" != "$have" ]; then
    echo "setup: installing the project and dev dependencies into $VENV"
    rm -f "$STAMP"
    "$VENV/bin/pip" install -q --disable-pip-version-check "${constraints[@]}" -e '.[dev]'
    echo "$want" >"$STAMP"
fi
