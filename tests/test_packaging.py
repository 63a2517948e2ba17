"""What `pip install tcpviz` brings: the wheel's metadata (core, extras) and a real install of the
core into a fresh virtual environment, where the model, the built-in diagram, the standalone page
and the CLI work and TCPWidget says in one line what to install."""

from __future__ import annotations

import email.parser
import os
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[1]
#: The design card's packages: each must still be required by something tcpviz installs.
DESIGN_CARD = {"networkx", "graphviz", "jupyter", "ipywidgets"}
#: Creating the venv and installing networkx and graphviz took 3-5 s here.
INSTALL_TIMEOUT_S = 300


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--wheel-dir", str(dest), str(REPO)],
        check=True, timeout=INSTALL_TIMEOUT_S, capture_output=True,
    )  # fmt: skip
    (found,) = dest.glob("tcpviz-*.whl")
    return found


def requirements(wheel: Path) -> dict[str, set[str]]:
    """Requires-Dist by extra ("" is the core): the project names."""
    with zipfile.ZipFile(wheel) as whl:
        name = next(n for n in whl.namelist() if n.endswith(".dist-info/METADATA"))
        meta = email.parser.Parser().parsestr(whl.read(name).decode())
    extras = meta.get_all("Provides-Extra") or []
    by_extra: dict[str, set[str]] = {"": set(), **{e: set() for e in extras}}
    for line in meta.get_all("Requires-Dist") or []:
        req = Requirement(line)
        extra = next((e for e in extras if req.marker and req.marker.evaluate({"extra": e})), "")
        if extra == "" and req.marker and not req.marker.evaluate({"extra": ""}):
            continue  # a marker that is false here (tomli on 3.11+)
        by_extra[extra].add(
            req.name.lower() + (f"[{','.join(sorted(req.extras))}]" if req.extras else "")
        )
    return by_extra


def test_core_is_the_library_and_extras_fit_each_use(wheel: Path) -> None:
    reqs = requirements(wheel)
    core = reqs[""] - {"tomli"}  # tomli only below Python 3.11
    assert core == {"networkx", "graphviz"}
    assert reqs["widget"] == {"ipywidgets", "anywidget"}
    # hatchling writes the extras an extra names (tcpviz[widget]) out as their packages.
    assert reqs["classroom"] == {"ipywidgets", "anywidget", "jupyter", "voila"}
    assert {"jupyterlite-core", "jupyterlite-pyodide-kernel"} <= reqs["lite"]
    assert reqs["test"] >= reqs["classroom"] | reqs["lite"]
    named = {r.split("[")[0] for extra in reqs.values() for r in extra}
    assert named >= DESIGN_CARD


def test_setup_installs_the_classroom_extra() -> None:
    setup = (REPO / "scripts" / "setup.sh").read_text()
    assert 'extras="[classroom]"' in setup
    assert 'extras="[classroom,test,bench]"' in setup


@pytest.fixture(scope="module")
def core_venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with `pip install tcpviz` (no extras), as a student without Jupyter has."""
    root = tmp_path_factory.mktemp("core") / "venv"
    venv.create(root, with_pip=True)
    python = root / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(wheel)],
        check=True, timeout=INSTALL_TIMEOUT_S, capture_output=True,
    )  # fmt: skip
    return root


def _run(core_venv: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # PATH holds only the venv: no dot, no Jupyter from elsewhere.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = str(core_venv / "bin")
    return subprocess.run(
        list(args), capture_output=True, text=True, timeout=120, env=env, cwd=core_venv, check=False
    )


CORE_CHECK = """
import importlib.util, json, shutil
import tcpviz
m = tcpviz.Machine()
m.run("passive open", "rcv SYN")
svg = tcpviz.Diagram.from_machine(m).svg()
try:
    tcpviz.TCPWidget()
    message = None
except tcpviz.MissingDependency as error:
    message = str(error)
print(json.dumps({
    "file": tcpviz.__file__,
    "dot": shutil.which("dot"),
    "svg": 'aria-current="true"' in svg and "SYN-RECEIVED" in svg,
    "message": message,
    "absent": [n for n in ("anywidget", "ipywidgets", "jupyter", "IPython", "notebook")
               if importlib.util.find_spec(n) is not None],
}))
"""


def test_core_install_draws_and_names_the_widget_extra(core_venv: Path) -> None:
    import json

    done = _run(core_venv, str(core_venv / "bin" / "python"), "-c", CORE_CHECK)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["file"].startswith(str(core_venv))  # the installed wheel, not this checkout
    assert seen["dot"] is None and seen["svg"]  # the built-in diagram ships laid out
    assert seen["absent"] == []
    assert seen["message"] == (
        "TCPWidget needs anywidget and ipywidgets (anywidget is not installed): "
        "pip install 'tcpviz[widget]'"
    )

    # The import error a notebook user sees is the same one line, not a bare ModuleNotFoundError.
    done = _run(core_venv, str(core_venv / "bin" / "python"), "-c", "from tcpviz import TCPWidget")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == (
        "tcpviz.errors.MissingDependency: " + seen["message"]
    )


def test_core_install_writes_the_standalone_page(core_venv: Path) -> None:
    done = _run(core_venv, str(core_venv / "bin" / "tcpviz"), "html", "-o", "tcp.html")
    assert done.returncode == 0, done.stderr
    page = (core_venv / "tcp.html").read_text()
    assert "tcpviz-widget" in page and "<script" in page
