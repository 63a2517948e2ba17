"""Binder and Colab: the repo2docker files (repo2docker cannot run here, so they are checked as
files), the README's badges, and the install cell at the top of every notebook, which must do
nothing where tcpviz is installed and run pip where it is missing."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[1]
BINDER = REPO / "binder"
NOTEBOOK = "notebooks/01-three-way-handshake.ipynb"

spec = importlib.util.spec_from_file_location("install_cell", REPO / "scripts" / "install_cell.py")
install_cell = importlib.util.module_from_spec(spec)
spec.loader.exec_module(install_cell)


def lines(path: Path) -> list[str]:
    return [
        line.split("#", 1)[0].strip()
        for line in path.read_text().splitlines()
        if line.split("#", 1)[0].strip()
    ]


def pyproject() -> dict:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    return tomllib.loads((REPO / "pyproject.toml").read_text())


# -- repo2docker's files ------------------------------------------------------------------------


def test_apt_txt_names_real_debian_packages() -> None:
    packages = lines(BINDER / "apt.txt")
    assert packages == ["graphviz"]
    if shutil.which("dpkg-query") is None:
        if os.environ.get("CI"):
            pytest.fail("dpkg-query missing: CI runs on Debian", pytrace=False)
        pytest.skip("not a Debian system: cannot ask dpkg about the packages")
    for name in packages:
        installed = subprocess.run(
            ["dpkg-query", "-W", "-f=${Status}", name], capture_output=True, text=True, timeout=30
        )
        known = subprocess.run(
            ["apt-cache", "show", name], capture_output=True, text=True, timeout=60
        )
        assert "install ok installed" in installed.stdout or known.returncode == 0, name


def test_runtime_txt_is_a_python_tcpviz_supports() -> None:
    (runtime,) = lines(BINDER / "runtime.txt")
    match = re.fullmatch(r"python-(3)\.(\d+)", runtime)
    assert match, f"repo2docker wants 'python-3.X', not {runtime!r}"
    floor = re.fullmatch(r">=3\.(\d+)", pyproject()["project"]["requires-python"])
    assert int(match[2]) >= int(floor[1])


def test_requirements_install_this_repository_with_the_classroom_extra() -> None:
    (line,) = lines(BINDER / "requirements.txt")
    # repo2docker runs pip from the repository's root; a local path makes it copy the
    # repository in before installing.
    assert line.startswith(".[")
    extras = set(Requirement("tcpviz" + line[1:]).extras)
    assert extras == {"classroom"}
    declared = pyproject()["project"]["optional-dependencies"]
    assert extras <= set(declared)
    classroom = {Requirement(r).name for r in declared["classroom"]}
    assert {"jupyter", "voila"} <= classroom  # JupyterLab and Voila, as ./run.sh opens
    assert "tcpviz" in classroom  # with the widget extra
    # No other repo2docker configuration that would take precedence or confuse it.
    assert sorted(p.name for p in BINDER.iterdir()) == [
        "README.md",
        "apt.txt",
        "requirements.txt",
        "runtime.txt",
    ]


def _remote() -> tuple[str, str] | None:
    """The GitHub owner and repository of this clone's origin, if it has one."""
    done = subprocess.run(
        ["git", "-C", str(REPO), "remote", "get-url", "origin"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    match = re.search(r"github\.com[:/]([^/]+)/([^/]+?)(\.git)?$", done.stdout.strip())
    return (match[1], match[2]) if done.returncode == 0 and match else None


def test_readme_badges_open_notebook_01() -> None:
    readme = (REPO / "README.md").read_text()
    binder = re.search(
        r"\(https://mybinder\.org/v2/gh/([\w.-]+)/([\w.-]+)/([\w.-]+)\?urlpath=lab/tree/"
        r"([\w./-]+\.ipynb)\)",
        readme,
    )
    assert binder, "no Binder badge in README.md"
    assert binder[4] == NOTEBOOK and (REPO / binder[4]).is_file()
    colab = re.search(
        r"\(https://colab\.research\.google\.com/github/([\w.-]+)/([\w.-]+)/blob/([\w.-]+)/"
        r"([\w./-]+\.ipynb)\)",
        readme,
    )
    assert colab, "no Colab badge in README.md"
    assert colab[4] == NOTEBOOK
    assert (binder[1], binder[2]) == (colab[1], colab[2])
    remote = _remote()
    if remote is not None:  # once the repository is on GitHub, the badges must name it
        assert (binder[1], binder[2]) == remote
        assert (colab[1], colab[2]) == remote


# -- the install cell (Colab) -------------------------------------------------------------------


def test_every_notebook_starts_with_the_install_cell() -> None:
    assert install_cell.main(["--check"]) == 0  # names the notebooks lacking it


def _transformed() -> str:
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell(install_cell.SOURCE)


def test_the_cell_runs_pip_only_where_tcpviz_or_its_widget_is_missing(monkeypatch) -> None:
    code = _transformed()
    calls: list[tuple[str, str]] = []

    class Shell:
        def run_line_magic(self, name: str, line: str) -> None:
            calls.append((name, line))

    found = {"tcpviz": object(), "anywidget": object()}
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: found.get(name))
    exec(compile(code, "<install cell>", "exec"), {"get_ipython": Shell})
    assert calls == []  # installed: nothing happens

    del found["anywidget"]  # tcpviz without its widget extra
    exec(compile(code, "<install cell>", "exec"), {"get_ipython": Shell})
    del found["tcpviz"]  # nothing installed (a fresh Colab runtime)
    exec(compile(code, "<install cell>", "exec"), {"get_ipython": Shell})
    assert calls == [("pip", 'install --quiet "tcpviz[widget]"')] * 2


def test_the_cell_is_harmless_in_a_kernel_where_tcpviz_is_installed(tmp_path: Path) -> None:
    """The real first cell of notebook 01, run in a real kernel here: no output, and its %pip
    (replaced by a recorder, so nothing could be installed by mistake) is never called."""
    source = nbformat.read(REPO / NOTEBOOK, as_version=4)
    first = next(c for c in source.cells if c.cell_type == "code")
    nb = nbformat.v4.new_notebook()
    nb.metadata = source.metadata
    nb.cells = [
        nbformat.v4.new_code_cell(
            "pip_calls = []\nget_ipython().register_magic_function(pip_calls.append, 'line', 'pip')"
        ),
        first,
        nbformat.v4.new_code_cell("import tcpviz; print(pip_calls, tcpviz.__name__)"),
    ]
    NotebookClient(nb, timeout=60, resources={"metadata": {"path": str(tmp_path)}}).execute()
    assert nb.cells[1].outputs == []
    assert nb.cells[2].outputs[0]["text"] == "[] tcpviz\n"
