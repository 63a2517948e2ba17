"""What a user's editor and type checker see of tcpviz's public names (py.typed is shipped).

The lazy names (``tcpviz.Diagram``, ``tcpviz.TCPWidget``, ``tcpviz.load_table`` ...) are found
at run time by a module ``__getattr__``, which a type checker cannot follow: each must also be
imported under ``TYPE_CHECKING``, and ``__getattr__`` is hidden from type checkers so that a
misspelt name is an error rather than an ``object``. ``./test.sh`` runs mypy on the package
itself; here mypy is run on a user's file.
"""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "tcpviz"
#: The packages with a lazy ``__getattr__`` (found, so that a new one is checked too).
LAZY_MODULES = sorted(
    ".".join(("tcpviz", *init.parent.relative_to(PACKAGE).parts))
    for init in PACKAGE.rglob("__init__.py")
    if "__getattr__" in init.read_text("utf-8")
)


def test_the_lazy_packages_are_found() -> None:
    assert {"tcpviz", "tcpviz.model", "tcpviz.web", "tcpviz.drawing"} <= set(LAZY_MODULES)


def _is_type_checking(test: ast.expr) -> bool:
    return isinstance(test, ast.Name) and test.id == "TYPE_CHECKING"


def _bound(statements: list[ast.stmt]) -> set[str]:
    """The names these top-level statements bind."""
    names: set[str] = set()
    for node in statements:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names if a.name != "*")
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
    return names


def seen_by_type_checkers(module: str) -> tuple[set[str], bool]:
    """The names a type checker finds in ``module`` and whether it sees a ``__getattr__``."""
    path = PACKAGE.joinpath(*module.split(".")[1:], "__init__.py")
    tree = ast.parse(path.read_text("utf-8"))
    names = _bound(tree.body)
    for node in tree.body:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            names |= _bound(node.body)
        if isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names):
            star = importlib.import_module(f"tcpviz.{node.module}")
            names.update(star.__all__)
    return names, "__getattr__" in names


@pytest.mark.parametrize("module", LAZY_MODULES)
def test_every_public_name_is_visible_to_type_checkers(module: str) -> None:
    names, sees_getattr = seen_by_type_checkers(module)
    public = set(importlib.import_module(module).__all__)
    assert not public - names, f"import these under TYPE_CHECKING in {module}"
    assert not sees_getattr, f"hide {module}.__getattr__ behind `if not TYPE_CHECKING:`"


@pytest.mark.parametrize("module", LAZY_MODULES)
def test_lazy_names_are_what_the_type_checking_imports_name(module: str) -> None:
    """At run time each lazy name is the very object its TYPE_CHECKING import names."""
    path = PACKAGE.joinpath(*module.split(".")[1:], "__init__.py")
    tree = ast.parse(path.read_text("utf-8"))
    mod = importlib.import_module(module)
    checked = 0
    for node in tree.body:
        if not (isinstance(node, ast.If) and _is_type_checking(node.test)):
            continue
        for imp in node.body:
            assert isinstance(imp, ast.ImportFrom)
            source = importlib.import_module("." * imp.level + (imp.module or ""), module)
            for alias in imp.names:
                assert getattr(mod, alias.asname or alias.name) is getattr(source, alias.name)
                checked += 1
    assert checked > 0


def test_a_users_type_checker_sees_the_real_types(tmp_path: Path) -> None:
    """mypy on a user's file: the lazy names have their own types, a misspelt one is an error."""
    user = tmp_path / "user.py"
    user.write_text(
        "import tcpviz\n"
        "reveal_type(tcpviz.Diagram)\n"
        "reveal_type(tcpviz.TCPWidget)\n"
        "reveal_type(tcpviz.load_table)\n"
        "reveal_type(tcpviz.Diagram().svg())\n"
        "reveal_type(tcpviz.load_table('t.toml'))\n"
        "tcpviz.Diagramm\n",
        "utf-8",
    )
    # In a process of its own (mypy raises the interpreter's recursion limit for good), and
    # outside the project, as a user runs it: tcpviz is found where it is installed.
    run = subprocess.run(
        [sys.executable, "-m", "mypy", "user.py", "--no-error-summary", "--cache-dir", "cache"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    out, err, status = run.stdout, run.stderr, run.returncode
    lines = out.splitlines()
    revealed = [line.split("Revealed type is ", 1)[1] for line in lines if "Revealed" in line]
    assert len(revealed) == 5, out + err
    assert revealed[0].startswith('"def (table: tcpviz.model.table.Table | None =')
    assert revealed[0].endswith('-> tcpviz.drawing.diagram.Diagram"')
    assert revealed[1].endswith('-> tcpviz.web.widget.TCPWidget"')
    assert revealed[2].endswith('-> tcpviz.model.table.Table"')
    assert revealed[3] in ('"str"', '"builtins.str"')  # as mypy 2 and mypy 1 write it
    assert revealed[4] == '"tcpviz.model.table.Table"'
    errors = [line for line in lines if ": error:" in line]
    assert len(errors) == 1 and 'has no attribute "Diagramm"' in errors[0], out
    assert status == 1
