#!/usr/bin/env python3
"""Put the install cell at the top of every notebook in notebooks/ (or check that it is there).

    python scripts/install_cell.py           # add or update the cell in each notebook
    python scripts/install_cell.py --check   # exit 1, naming the notebooks, if one lacks it

The cell is the first code cell of each notebook. Where tcpviz and its widget are importable
(./run.sh, Binder, a lab machine) it does nothing; where they are missing it runs ``%pip
install``: on Colab that is pip, and in the JupyterLite site the Pyodide kernel turns ``%pip``
into piplite, which takes tcpviz from the site's own files (nothing is downloaded).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"

#: What the cell installs: tcpviz with its widget (anywidget, ipywidgets).
REQUIREMENT = "tcpviz[widget]"
#: The cell's source. The first line is its marker: this script finds the cell by it.
SOURCE = f"""\
# Setup: installs tcpviz where it is missing (Colab, a fresh kernel); elsewhere does nothing.
import importlib.util

if importlib.util.find_spec("tcpviz") is None or importlib.util.find_spec("anywidget") is None:
    %pip install --quiet "{REQUIREMENT}"
"""
MARKER = SOURCE.splitlines()[0]


def cell() -> dict:
    return {
        "cell_type": "code",
        "execution_count": None,
        "id": "",  # numbered below
        "metadata": {},
        "outputs": [],
        "source": SOURCE.rstrip("\n").splitlines(keepends=True),
    }


def first_code_cell(notebook: dict) -> tuple[int, dict] | None:
    for index, c in enumerate(notebook["cells"]):
        if c["cell_type"] == "code":
            return index, c
    return None


def has_install_cell(notebook: dict) -> bool:
    found = first_code_cell(notebook)
    return found is not None and "".join(found[1]["source"]) == SOURCE.rstrip("\n")


def add_install_cell(notebook: dict) -> dict:
    """The notebook with the install cell as its first code cell (after leading Markdown)."""
    cells = [c for c in notebook["cells"] if not "".join(c["source"]).startswith(MARKER)]
    index = next((i for i, c in enumerate(cells) if c["cell_type"] == "code"), len(cells))
    cells = [*cells[:index], cell(), *cells[index:]]
    # Cell ids numbered in order, as nbstripout (which the tests run) writes them.
    return {**notebook, "cells": [{**c, "id": str(i)} for i, c in enumerate(cells)]}


def notebooks() -> list[Path]:
    return sorted(NOTEBOOKS.glob("*.ipynb"))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only check; change nothing")
    args = parser.parse_args(argv)
    missing = []
    for path in notebooks():
        notebook = json.loads(path.read_text(encoding="utf-8"))
        if has_install_cell(notebook):
            continue
        if args.check:
            missing.append(path.name)
            continue
        text = json.dumps(add_install_cell(notebook), indent=1, ensure_ascii=False) + "\n"
        path.write_text(text, encoding="utf-8")
        print(f"install cell added to {path.relative_to(REPO)}")
    if missing:
        print(
            f"no install cell at the top of {', '.join(missing)}: run "
            "python scripts/install_cell.py",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
