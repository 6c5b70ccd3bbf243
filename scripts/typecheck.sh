#!/usr/bin/env bash
# Run mypy over those of Concord's packages that exist yet.
#
# mypy stops with an error when a named directory holds no Python file, and the
# packages are written in parallel, so the list is filtered rather than fixed.
# Used by `make type` and tox's `type` environment; extra arguments go to mypy.
# MYPY names the mypy to run (default: the one on PATH).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=()
for pkg in engine concord occi cimi federation conformance signing; do
    if [[ -d "$pkg" && -n "$(find "$pkg" -name '*.py' -print -quit)" ]]; then
        packages+=("$pkg")
    fi
done

if ((${#packages[@]} == 0)); then
    echo "typecheck: no package has Python files yet; nothing to check"
    exit 0
fi

echo "mypy ${packages[*]}"
exec "${MYPY:-mypy}" "$@" "${packages[@]}"
