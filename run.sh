#!/usr/bin/env bash
# Set everything up, then open the classroom notebook (01, the three-way handshake) in JupyterLab
# on 127.0.0.1. Pass --voila to open it as an app (no code cells) with Voila instead.
set -euo pipefail
cd "$(dirname "$0")"
./scripts/setup.sh
notebook=notebooks/01-three-way-handshake.ipynb
if [ "${1:-}" = "--voila" ]; then
    exec .venv/bin/python -m voila "$notebook" --Voila.ip=127.0.0.1
fi
exec .venv/bin/jupyter lab "$notebook" --ServerApp.ip=127.0.0.1
