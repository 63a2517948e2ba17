#!/usr/bin/env bash
# Set everything up, then open the classroom notebook (01, the three-way handshake) in JupyterLab
# on 127.0.0.1. `./run.sh --voila` opens the classroom app (notebooks/app.ipynb: the widget for
# the projector, no code cells) with Voila instead; any other arguments go to JupyterLab or
# Voila (for example --no-browser or --port=8890).
set -euo pipefail
cd "$(dirname "$0")"
./scripts/setup.sh
notebook=notebooks/01-three-way-handshake.ipynb
if [ "${1:-}" = "--voila" ]; then
    shift
    exec .venv/bin/python -m voila notebooks/app.ipynb --Voila.ip=127.0.0.1 "$@"
fi
# No "Would you like to receive official Jupyter news?" pop-up over the class's notebook, and
# no news or update requests: JupyterLab's overrides.json (its application settings), merged
# into whatever is there already.
.venv/bin/python - <<'PY'
import json, sys
from pathlib import Path

path = Path(sys.prefix) / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
try:
    overrides = json.loads(path.read_text(encoding="utf-8"))
except (FileNotFoundError, json.JSONDecodeError):
    overrides = {}
plugin = overrides.setdefault("@jupyterlab/apputils-extension:notification", {})
plugin.update({"fetchNews": "false", "checkForUpdates": False})
path.parent.mkdir(parents=True, exist_ok=True)
path.write_text(json.dumps(overrides, indent=2) + "\n", encoding="utf-8")
PY
as_root=()
# Jupyter refuses to run as root unless told to; a lab machine or container often runs as root.
[ "$(id -u)" = 0 ] && as_root=(--allow-root)
exec .venv/bin/jupyter lab "$notebook" --ServerApp.ip=127.0.0.1 \
    --LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate "${as_root[@]}" "$@"
