# Sourced by scripts/demo and scripts/test: make sure .venv exists and holds the package.
# ensure_venv [EXTRAS]  e.g. ensure_venv test
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"

pick_python() {
    for candidate in python3.11 python3.12 python3.13 python3; do
        if command -v "$candidate" >/dev/null 2>&1 &&
           "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
            echo "$candidate"; return 0
        fi
    done
    echo "mmm needs Python 3.11 or newer; install it and try again." >&2
    return 1
}

ensure_venv() {
    local extras="${1:-}" spec="$root" stamp
    [ -n "$extras" ] && spec="$root[$extras]"
    if [ ! -x "$venv/bin/python" ]; then
        echo "Creating $venv ..." >&2
        "$(pick_python)" -m venv "$venv"
    fi
    # reinstall only when the dependencies or the requested extras changed
    stamp="$venv/.mmm-installed-$(cat "$root/pyproject.toml" | sha256sum | cut -c1-16)-${extras:-base}"
    if [ ! -f "$stamp" ]; then
        echo "Installing mmm and its dependencies into $venv (first time takes a few minutes) ..." >&2
        "$venv/bin/python" -m pip install --quiet --upgrade pip >&2
        "$venv/bin/python" -m pip install --quiet -e "$spec" >&2
        rm -f "$venv"/.mmm-installed-*
        touch "$stamp"
    fi
}
