"""The still picture beside the widget view: in the mimebundle, and in nbconvert's HTML of an
executed notebook, where no widget JavaScript runs."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tcpviz import Machine, tcp_table
from tcpviz.web.snapshot import snapshot_html
from tcpviz.web.widget import TCPWidget

CELL = """\
import tcpviz
w = tcpviz.TCPWidget()
w.fire("passive open")
w.fire("rcv SYN")
w"""


def svg_of(html: str) -> ET.Element:
    start, end = html.index("<svg"), html.index("</svg>") + len("</svg>")
    return ET.fromstring(html[start:end])


def current_ids(svg: ET.Element) -> list[str]:
    return [el.get("id") for el in svg.iter() if el.get("aria-current") == "true"]


def test_the_bundle_has_the_view_and_a_picture_of_the_state_now() -> None:
    widget = TCPWidget()
    widget.run("active open", "rcv SYN,ACK")
    data, _ = widget._repr_mimebundle_()
    assert data["application/vnd.jupyter.widget-view+json"]["model_id"] == widget.model_id
    picture = data["text/html"]
    assert current_ids(svg_of(picture)) == [tcp_table().state_ids["ESTABLISHED"]]
    assert "ESTABLISHED, after 2 steps" in picture
    widget.close()


def test_the_picture_needs_no_style_sheet_and_escapes_its_caption() -> None:
    machine = Machine()
    html = snapshot_html(machine)
    assert "<?xml" not in html and "<!DOCTYPE" not in html
    assert "<style" not in html.split("<svg", 1)[0]
    assert "CLOSED." in html  # no steps yet: no "after"
    svg = svg_of(html)
    # The highlight is baked in as colours, not left to classes a missing style sheet would lose.
    current = next(el for el in svg.iter() if el.get("aria-current") == "true")
    assert any(shape.get("fill") not in (None, "none") for shape in current.iter())


def _executed(tmp_path: Path, *, store_widget_state: bool) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(CELL)]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    NotebookClient(nb, timeout=120, store_widget_state=store_widget_state).execute()
    path = tmp_path / "executed.ipynb"
    nbformat.write(nb, path)
    return path


def _to_html(path: Path) -> str:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "jupyter",
            "nbconvert",
            "--to",
            "html",
            "--log-level=ERROR",
            str(path),
        ],
        check=True,
        timeout=120,
        capture_output=True,
    )
    return path.with_suffix(".html").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def saved_without_state(tmp_path_factory: pytest.TempPathFactory) -> str:
    # As JupyterLab saves by default ("Save Widget State Automatically" is off).
    return _to_html(_executed(tmp_path_factory.mktemp("nb"), store_widget_state=False))


def test_nbconvert_html_shows_the_picture_of_the_last_state(saved_without_state: str) -> None:
    assert saved_without_state.count('class="tcpviz-snapshot"') == 1
    picture = saved_without_state[saved_without_state.index('class="tcpviz-snapshot"') :]
    assert current_ids(svg_of(picture)) == [tcp_table().state_ids["SYN-RECEIVED"]]
    assert "SYN-RECEIVED, after 2 steps" in picture


def test_nbconvert_with_stored_widget_state_picks_the_view(tmp_path: Path) -> None:
    """Documents nbconvert's choice: with the widget state stored in the notebook (nbclient's
    default, or JupyterLab's "Save Widget State Automatically"), it renders the widget view,
    which needs the widget JavaScript; the picture stays in the .ipynb for other renderers."""
    path = _executed(tmp_path, store_widget_state=True)
    html = _to_html(path)
    assert "application/vnd.jupyter.widget-view+json" in html
    output = nbformat.read(path, as_version=4).cells[0].outputs[-1]
    assert 'class="tcpviz-snapshot"' in output["data"]["text/html"]
