#!/usr/bin/env bash
# Run the main job: the realtime_nb demo against the embedded offline server.
#
#   bash scripts/demo.sh          # console demo: connect, create items, ask for a response,
#                                 # print the conversation and its DataFrame
#   bash scripts/demo.sh --lab    # JupyterLab on notebooks/quickstart.ipynb: opens it in your
#                                 # browser when there is one, and prints its address
#
# It installs only what the demo needs (the package, the front end's build, and JupyterLab
# with --lab; no test tools, no Chromium) and keeps the installers' output in .venv/setup.log.
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

setup=(--demo)
((LAB)) && setup+=(--lab)
if [[ ! -f .venv/setup.log ]]; then
    echo "[demo] installing what the demo needs (the first time takes a minute or two; log: .venv/setup.log)"
fi
bash scripts/setup.sh "${setup[@]}"

if ((LAB)); then
    nb="notebooks/quickstart.ipynb"
    [[ -f "$nb" ]] || { echo "demo.sh: $nb does not exist" >&2; exit 1; }
    port="$(.venv/bin/python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    token="$(.venv/bin/python -c 'import secrets; print(secrets.token_hex(16))')"
    extra=()
    [[ $(id -u) -eq 0 ]] && extra+=(--allow-root)  # jupyter refuses root without it
    echo "[demo] JupyterLab with the quickstart notebook (Ctrl+C twice to stop):"
    echo "[demo]   http://127.0.0.1:$port/lab/tree/$nb?token=$token"
    exec .venv/bin/jupyter lab "$nb" --ip=127.0.0.1 --port="$port" --ServerApp.port_retries=0 \
        --IdentityProvider.token="$token" --ServerApp.root_dir="$ROOT" \
        --ServerApp.log_level=WARN --LabApp.log_level=WARN "${extra[@]}" ${args[@]+"${args[@]}"}
fi

echo "[demo] .venv/bin/python -m realtime_nb demo${args[*]+ ${args[*]}}"
exec .venv/bin/python -m realtime_nb demo ${args[@]+"${args[@]}"}
