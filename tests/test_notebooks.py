"""The classroom notebooks: stored clean, ready to open, and running top to bottom.

Stored clean means no outputs, no execution counts and no widget state (``nbstripout
--verify`` agrees), so a diff shows only what a teacher changed; and a kernelspec, so JupyterLab
opens them without asking for a kernel. Each notebook is then executed headless, the way a
student's "Run All" would, in a kernel whose temporary directory is the test's own: the
notebooks may write only there (their exports), never next to themselves.

(The README's test command also passes the notebooks to nbmake, which runs them once more; the
run here adds the checks above.)
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
#: The notebooks a teacher's lesson plan refers to by name.
LESSONS = (
    "01-three-way-handshake.ipynb",
    "02-closing-a-connection.ipynb",
    "03-explore-the-state-machine.ipynb",
)
#: Per cell, generous: the slowest cell draws a custom table with Graphviz in about a second.
CELL_TIMEOUT_S = 120

#: What a notebook exports (into a temporary folder), by notebook.
EXPORTS = {"03-explore-the-state-machine.ipynb": ("*.svg", "*.html")}

WIDGET = "application/vnd.jupyter.widget-view+json"
SVG = "image/svg+xml"

ids = [path.stem for path in NOTEBOOKS]


def test_the_lessons_are_there() -> None:
    assert set(LESSONS) <= {path.name for path in NOTEBOOKS}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_stored_without_outputs_and_with_a_kernelspec(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    kernelspec = notebook.metadata.get("kernelspec", {})
    assert kernelspec.get("name") == "python3", "JupyterLab would ask which kernel to use"
    assert kernelspec.get("language") == "python"
    assert kernelspec.get("display_name")
    assert "widgets" not in notebook.metadata, "saved widget state: clear it before committing"
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [], f"cell {cell.id} has outputs"
            assert cell.execution_count is None, f"cell {cell.id} has an execution count"
    # The tool a contributor would run agrees (it also checks cell metadata and ids).
    verify = subprocess.run(
        [sys.executable, "-m", "nbstripout", "--verify", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert verify.returncode == 0, f"run `nbstripout {path.name}`: {verify.stdout}{verify.stderr}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_ends_with_exercises(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    markdown = [cell.source for cell in notebook.cells if cell.cell_type == "markdown"]
    assert markdown[0].startswith("# "), "a notebook opens with its title"
    exercises = next((text for text in reversed(markdown) if "## Exercises" in text), None)
    assert exercises is not None, "no '## Exercises' section"
    after = exercises.split("## Exercises", 1)[1]
    assert len(re.findall(r"(?m)^\d+\. ", after)) >= 3, "fewer than three exercises"
    # Nothing but a code cell for answers comes after the exercises.
    position = max(i for i, cell in enumerate(notebook.cells) if cell.source == exercises)
    assert all(cell.cell_type == "code" for cell in notebook.cells[position + 1 :])


def _files(folder: Path) -> dict[Path, int]:
    return {
        path: path.stat().st_mtime_ns
        for path in folder.rglob("*")
        if path.is_file() and ".ipynb_checkpoints" not in path.parts
    }


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_runs_top_to_bottom(path: Path, tmp_path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    before = _files(NOTEBOOKS_DIR)
    env = dict(os.environ, TMPDIR=str(tmp_path), TEMP=str(tmp_path), TMP=str(tmp_path))
    client = NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT_S,
        kernel_name="python3",
        # The folder a student opens the notebook from: relative paths (../examples) resolve.
        resources={"metadata": {"path": str(NOTEBOOKS_DIR)}},
    )
    client.execute(env=env)  # raises CellExecutionError, naming the cell, on any error

    outputs = [output for cell in notebook.cells for output in cell.get("outputs", [])]
    warnings = [o.text for o in outputs if o.output_type == "stream" and o.name == "stderr"]
    assert not warnings, f"the notebook printed to stderr: {warnings}"
    shown = {mime for output in outputs for mime in output.get("data", {})}
    assert {WIDGET, SVG} <= shown, "each lesson shows a diagram and an interactive widget"

    # Nothing was written next to the notebooks; the exports went to the temporary directory.
    assert _files(NOTEBOOKS_DIR) == before
    for pattern in EXPORTS.get(path.name, ()):
        assert list(tmp_path.rglob(pattern)), f"no {pattern} exported into {tmp_path}"
