"""The package's layers import only downward (DESIGN.md): read every module's imports and check.

    top         cli, diagrams, __init__, __main__
    web         the widget, the page and what it looks up
    drawing | teach | traffic   side by side: none imports another
    sim         segments, endpoint, network, clock
    model       states, table, machine, graph, table files
    foundation  errors, files, _version, _lazy, _observers

A module may import its own layer and any layer below it. The lazy imports inside functions
count too: a door used the wrong way is wrong wherever it is opened. Other subpackages are
reached through their public face (``from ..model import Machine``), never a private name.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "tcpviz"

#: Each layer and the layers it may import (besides itself).
ALLOWED: dict[str, set[str]] = {
    "foundation": set(),
    "model": {"foundation"},
    "sim": {"model", "foundation"},
    "drawing": {"sim", "model", "foundation"},
    "teach": {"sim", "model", "foundation"},
    "traffic": {"sim", "model", "foundation"},
    "web": {"drawing", "teach", "traffic", "sim", "model", "foundation"},
    "top": {"web", "drawing", "teach", "traffic", "sim", "model", "foundation"},
}
FOUNDATION = {"errors", "files", "_version", "_lazy", "_observers"}
TOP = {"cli", "diagrams", "__init__", "__main__"}


def layer_of(module: str) -> str:
    """The layer of a dotted module name inside tcpviz (``tcpviz.model.table`` -> ``model``)."""
    parts = module.split(".")
    assert parts[0] == "tcpviz", module
    if len(parts) == 1:
        return "top"
    head = parts[1]
    if head in FOUNDATION:
        return "foundation"
    if head in TOP:
        return "top"
    if head in ALLOWED:
        return head
    raise AssertionError(f"{module}: not in any layer; add its subpackage to tests/test_layers.py")


def module_name(path: Path) -> str:
    relative = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> list[tuple[int, str, tuple[str, ...]]]:
    """(line, imported tcpviz module, names) for every import of tcpviz in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    here = module_name(path)
    package = here.split(".") if path.name == "__init__.py" else here.split(".")[:-1]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "tcpviz":
                    found.append((node.lineno, alias.name, ()))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                target = ".".join([*base, *(node.module.split(".") if node.module else [])])
            else:
                target = node.module or ""
            if target.split(".")[0] != "tcpviz":
                continue
            names = tuple(alias.name for alias in node.names)
            if node.module is None:  # from . import x, y: each name may be a module
                for name in names:
                    found.append((node.lineno, f"{target}.{name}", ()))
            else:
                found.append((node.lineno, target, names))
    return found


MODULES = sorted(PACKAGE.rglob("*.py"))


def test_every_module_is_in_a_layer():
    for path in MODULES:
        layer_of(module_name(path))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_go_only_downward(path: Path):
    here = module_name(path)
    mine = layer_of(here)
    wrong = []
    for line, target, _ in imports_of(path):
        if target == "tcpviz" and mine == "top":
            continue
        theirs = layer_of(target) if target != "tcpviz" else "top"
        if theirs != mine and theirs not in ALLOWED[mine]:
            wrong.append(
                f"{path.relative_to(PACKAGE.parent)}:{line}: {mine} imports {target} ({theirs})"
            )
    assert wrong == [], "imports against the layers:\n" + "\n".join(wrong)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_other_subpackages_are_reached_by_public_names(path: Path):
    here = module_name(path)
    mine = here.split(".")[1] if here.count(".") else ""
    private = []
    for line, target, names in imports_of(path):
        theirs = target.split(".")[1] if target.count(".") else ""
        if theirs == mine or theirs in FOUNDATION:
            continue
        private += [
            f"{path.relative_to(PACKAGE.parent)}:{line}: {name} from {target}"
            for name in names
            if name.startswith("_") and name != "__version__"
        ]
    assert private == [], "private names used across subpackages:\n" + "\n".join(private)


def test_the_checker_sees_a_wrong_door(tmp_path: Path):
    # The check itself: an upward import written the way the package writes its imports.
    sample = PACKAGE / "model" / "machine.py"
    tree = imports_of(sample)
    assert any(target == "tcpviz.model.table" for _, target, _ in tree)
    assert layer_of("tcpviz.web.widget") == "web"
    assert "web" not in ALLOWED["model"]
    assert "teach" not in ALLOWED["drawing"] and "drawing" not in ALLOWED["traffic"]
