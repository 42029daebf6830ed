#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run): set-up, lint, front-end checks, pytest.
#
# A failing set-up stops at once. After it every check runs, even when an earlier one failed,
# so that one run shows all the failures; the exit status is non-zero if any check failed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

SECONDS=0
failed=()
summary=()

step() { printf '\n=== %s\n' "$*"; }

# check NAME COMMAND...: run COMMAND, record whether it passed and how long it took.
check() {
    local name="$1" rc=0 t0=$SECONDS
    shift
    step "$name"
    "$@" </dev/null || rc=$?
    if ((rc == 0)); then
        summary+=("ok    ${name} ($((SECONDS - t0))s)")
    else
        summary+=("FAIL  ${name} (exit ${rc}, $((SECONDS - t0))s)")
        failed+=("$name")
    fi
}

step "set-up (scripts/setup.sh)"
bash scripts/setup.sh </dev/null
summary+=("ok    set-up (${SECONDS}s)")

lint_dirs=()
for d in realtime_nb realtime_nb_serverext tests bench scripts; do
    [[ -d "$d" ]] && lint_dirs+=("$d")
done
if ((${#lint_dirs[@]})); then
    check "ruff check ${lint_dirs[*]}" .venv/bin/ruff check "${lint_dirs[@]}"
fi

if [[ -f js/package.json ]]; then
    check "js: npm run typecheck" npm --prefix js run typecheck
    # CI=true keeps test runners such as vitest out of watch mode.
    check "js: npm test" env CI=true npm --prefix js test
else
    step "js: no js/package.json, skipping the front-end checks"
fi

pytest_cmd() {
    local rc=0
    .venv/bin/python -m pytest -q -p no:cacheprovider tests || rc=$?
    if ((rc == 5)); then
        echo "test.sh: pytest collected no tests: that is a failure" >&2
    fi
    return "$rc"
}
check "pytest tests" pytest_cmd

step "summary (${SECONDS}s in all)"
printf '%s\n' "${summary[@]}"
if ((${#failed[@]})); then
    echo "test.sh: ${#failed[@]} check(s) failed:" >&2
    printf '  %s\n' "${failed[@]}" >&2
    exit 1
fi
echo "test.sh: all checks passed"
