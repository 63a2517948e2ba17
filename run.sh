#!/usr/bin/env bash
# Set everything up, then open the classroom notebook (01, the three-way handshake) in JupyterLab
# on 127.0.0.1. `./run.sh --voila` opens it as an app (no code cells) with Voila instead; any
# other arguments go to JupyterLab (for example --no-browser or --port=8890).
set -euo pipefail
cd "$(dirname "$0")"
./scripts/setup.sh
notebook=notebooks/01-three-way-handshake.ipynb
if [ "${1:-}" = "--voila" ]; then
    shift
    exec .venv/bin/python -m voila "$notebook" --Voila.ip=127.0.0.1 "$@"
fi
as_root=()
# Jupyter refuses to run as root unless told to; a lab machine or container often runs as root.
[ "$(id -u)" = 0 ] && as_root=(--allow-root)
exec .venv/bin/jupyter lab "$notebook" --ServerApp.ip=127.0.0.1 "${as_root[@]}" "$@"
