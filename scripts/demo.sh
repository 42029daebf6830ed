#!/usr/bin/env bash
# Run the main job: the realtime_nb demo against the embedded offline server.
#
#   bash scripts/demo.sh          # console demo: connect, create items, ask for a response,
#                                 # print the conversation and its DataFrame
#   bash scripts/demo.sh --lab    # open notebooks/quickstart.ipynb in JupyterLab instead
#
# Other arguments go to the demo (or to `jupyter lab` with --lab).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

LAB=0
args=()
for arg in "$@"; do
    case "$arg" in
        --lab) LAB=1 ;;
        *) args+=("$arg") ;;
    esac
done

bash scripts/setup.sh --no-browser

if ((LAB)); then
    nb="notebooks/quickstart.ipynb"
    [[ -f "$nb" ]] || { echo "demo.sh: $nb does not exist yet" >&2; exit 1; }
    extra=()
    [[ $(id -u) -eq 0 ]] && extra+=(--allow-root)  # jupyter refuses root without it
    echo "[demo] starting JupyterLab on $nb (Ctrl+C twice to stop)"
    exec .venv/bin/jupyter lab "${extra[@]}" "$nb" ${args[@]+"${args[@]}"}
fi

help="$(.venv/bin/python -m realtime_nb --help 2>&1 || true)"
if [[ "$help" != *demo* ]]; then
    echo "demo.sh: 'python -m realtime_nb demo' is not available yet:" >&2
    printf '%s\n' "$help" | tail -5 >&2
    exit 1
fi
echo "[demo] .venv/bin/python -m realtime_nb demo${args[*]+ ${args[*]}}"
exec .venv/bin/python -m realtime_nb demo ${args[@]+"${args[@]}"}
