#!/usr/bin/env bash
# Set everything up (including Graphviz and Debian's Chromium), then run lint and every test:
# unit and property tests, the notebooks, and the real-browser tests. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")"
./scripts/setup.sh --test
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
# tests/test_notebooks.py executes every notebook in notebooks/ (and checks it is stored clean);
# tcpviz/ is collected for the examples in its docstrings.
exec .venv/bin/python -m pytest tests tcpviz "$@"
