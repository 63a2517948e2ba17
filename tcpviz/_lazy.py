"""Names a package face imports on first use: one ``__getattr__`` for every face that has some."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any


def lazy_getattr(
    package: str, names: Mapping[str, str], namespace: dict[str, Any]
) -> Callable[[str], object]:
    """A module ``__getattr__`` for ``package``: ``names`` maps each lazy name to the submodule
    (relative to the package) that defines it; a name is imported once, then kept in
    ``namespace`` (the face's globals), so later lookups never come back here."""

    def __getattr__(name: str) -> object:
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(f".{module}", package), name)
        namespace[name] = value
        return value

    return __getattr__
