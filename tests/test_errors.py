"""Errors are part of the interface: one base class, every class in one module, all exported."""

from __future__ import annotations

import inspect

import tcpviz
import tcpviz.errors as errors


def classes() -> list[type]:
    return [
        value
        for _, value in inspect.getmembers(errors, inspect.isclass)
        if value.__module__ == errors.__name__
    ]


def test_every_error_class_is_listed_and_exported_from_tcpviz():
    names = {cls.__name__ for cls in classes()}
    assert names == set(errors.__all__)
    missing = sorted(names - set(tcpviz.__all__))
    assert missing == [], f"add {missing} to tcpviz/__init__.py"
    for name in names:
        assert getattr(tcpviz, name) is getattr(errors, name)


def test_every_error_is_a_tcpviz_error_and_a_builtin_one():
    # Code that knows nothing of tcpviz still catches them as ValueError, OSError...
    for cls in classes():
        assert issubclass(cls, errors.TcpvizError), cls
        if cls is not errors.TcpvizError:
            builtin = [
                b
                for b in cls.__mro__
                if b.__module__ == "builtins" and b not in (object, BaseException, Exception)
            ]
            assert builtin, f"{cls.__name__} subclasses no builtin error"
        assert (cls.__doc__ or "").strip(), f"{cls.__name__} has no docstring"


def test_no_other_module_defines_an_exception():
    import ast
    from pathlib import Path

    package = Path(tcpviz.__file__).parent
    found = []
    for path in package.rglob("*.py"):
        if path.name == "errors.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            # A private class used for control flow inside one module is not part of the API.
            if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                bases = {getattr(b, "id", getattr(b, "attr", "")) for b in node.bases}
                if any(b.endswith(("Error", "Exception")) or b in {"TcpvizError"} for b in bases):
                    found.append(f"{path.relative_to(package)}:{node.lineno}: {node.name}")
    assert found == [], "exceptions belong in tcpviz/errors.py:\n" + "\n".join(found)
