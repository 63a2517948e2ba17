"""Draw a transition table: the Diagram object, and the public drawing API in one place.

Graphviz lays a table out once (:mod:`tcpviz.drawing.layout`, from the DOT of
:mod:`tcpviz.drawing.dotsource`); every step after that is a class change on the SVG it made
(:mod:`tcpviz.drawing.highlighting`), in colours from :mod:`tcpviz.drawing.themes`. A :class:`Diagram` ties
these together: it shows itself as SVG in Jupyter and saves SVG, PNG, PDF or DOT. The public
names of those modules are importable from here too.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..errors import RenderError
from ..files import write_atomic
from ..model.table import Table, Transition, tcp_table

# Each "from .x import _name as _name" keeps a private name that diagrams.py or the tests reach
# for importable from here, as it was before drawing was split into modules (the redundant
# alias marks a deliberate re-export).
from .dotsource import dot_source
from .highlighting import _render, highlight
from .layout import (
    DOT_TIMEOUT,
    INSTALL_GRAPHVIZ,
    PackagedLayout,
    check_timeout,
    clear_caches,
    layout_key,
    layout_svg,
    packaged_layouts,
    raw_layout,
    run_dot,
)
from .layout import _postprocess as _postprocess
from .layout import _postprocessed as _postprocessed
from .marks import _marks, _table
from .svgtemplate import _Template as _Template
from .svgtemplate import _template as _template
from .svgtemplate import _write as _write
from .themes import _COLOUR_FIELDS as _COLOUR_FIELDS
from .themes import _PALETTES as _PALETTES
from .themes import _ROLES as _ROLES
from .themes import THEMES, _check_theme, style_sheet
from .themes import _overlay as _overlay
from .themes import _styles as _styles

__all__ = [
    "DOT_TIMEOUT",
    "FORMATS",
    "INSTALL_GRAPHVIZ",
    "SUFFIXES",
    "THEMES",
    "Diagram",
    "PackagedLayout",
    "RenderError",
    "clear_caches",
    "dot_source",
    "highlight",
    "layout_key",
    "layout_svg",
    "packaged_layouts",
    "raw_layout",
    "run_dot",
    "style_sheet",
]

#: What :meth:`Diagram.pipe` and :meth:`Diagram.save` produce.
FORMATS: tuple[str, ...] = ("svg", "png", "pdf", "dot")
#: File suffixes :meth:`Diagram.save` understands, and the format each one means.
SUFFIXES: dict[str, str] = {
    ".svg": "svg",
    ".png": "png",
    ".pdf": "pdf",
    ".dot": "dot",
    ".gv": "dot",
}


def _check_format(format: str) -> str:
    name = str(format).lower().lstrip(".")
    if name not in FORMATS:
        raise RenderError(f"unknown format: {format!r} (must be one of {sorted(FORMATS)})")
    return name


_PROLOG = '<?xml version="1.0" encoding="UTF-8"?>\n'


class Diagram:
    """A state diagram of a table, with a theme and optional highlight.

    Shows itself as SVG in Jupyter; :meth:`save` writes SVG, PNG, PDF or DOT atomically.

    >>> d = Diagram(state="ESTABLISHED", theme="dark")
    >>> 'aria-current="true"' in d.svg()
    True
    """

    def __init__(
        self,
        table: Table | None = None,
        *,
        extended: bool = False,
        theme: str = "light",
        state: str | None = None,
        last: Transition | str | None = None,
        visited: Iterable[str] = (),
        taken: Iterable[Transition | str] = (),
        timeout: float = DOT_TIMEOUT,
    ):
        self.table: Table = tcp_table(extended) if table is None else _table(table)
        #: Seconds Graphviz may take to lay the diagram out (see :func:`run_dot`).
        self.timeout: float = check_timeout(timeout)
        self.theme: str = _check_theme(theme)
        marks = _marks(self.table, state, last, visited, taken)
        self.state: str | None = marks.state
        self.last: Transition | None = marks.last
        self.visited: tuple[str, ...] = marks.visited
        self.taken: tuple[Transition, ...] = marks.taken

    @classmethod
    def from_machine(cls, machine: Any, theme: str = "light") -> Diagram:
        """The diagram of a :class:`~tcpviz.model.machine.Machine` where it stands now: its state
        current, its last transition marked, the states and transitions of its history."""
        return cls(
            machine.table,
            theme=theme,
            state=machine.state,
            last=machine.last,
            visited=machine.visited,
            taken=machine.history,
        )

    def with_theme(self, theme: str) -> Diagram:
        """The same diagram in another theme."""
        copy = object.__new__(Diagram)
        copy.__dict__.update(self.__dict__)
        copy.theme = _check_theme(theme)
        return copy

    def _options(self) -> dict[str, Any]:
        """What this diagram highlights, and its theme, as the drawing functions take them."""
        return {
            "state": self.state,
            "last": self.last,
            "visited": self.visited,
            "theme": self.theme,
            "taken": self.taken,
        }

    def svg(self) -> str:
        """The themed, highlighted SVG, ready to inline in HTML (no Graphviz needed for the
        built-in tables)."""
        return highlight(
            layout_svg(self.table, timeout=self.timeout), self.table, **self._options()
        )

    @property
    def dot(self) -> str:
        """The DOT source, with the theme and highlight as Graphviz attributes."""
        return dot_source(self.table, **self._options())

    def pipe(self, format: str = "svg") -> bytes:
        """The diagram as a file's bytes: ``svg`` and ``dot`` need no Graphviz for the built-in
        tables; ``png`` and ``pdf`` run ``dot``.

        Unlike :meth:`svg`, which the widget and the standalone page make interactive, the
        ``svg`` file's states are not focusable buttons: each is ``role="img"`` with its
        ``aria-label`` and ``<title>``, like the transitions."""
        format = _check_format(format)
        if format == "svg":
            # A standalone file: the highlight of svg() with the theme's colours also written
            # as attributes and the states no longer buttons (nothing in a file acts on them),
            # in the same splice.
            svg = _render(
                layout_svg(self.table, timeout=self.timeout),
                self.table,
                **self._options(),
                bake=True,
            )
            return (_PROLOG + svg + "\n").encode("utf-8")
        if format == "dot":
            return self.dot.encode("utf-8")
        return run_dot(self.dot, format, timeout=self.timeout)

    def save(self, path: str | Path, format: str | None = None) -> Path:
        """Write the diagram to ``path`` atomically; the format comes from the suffix unless
        given. Nothing is written when rendering fails."""
        path = Path(path)
        if format is None:
            suffix = path.suffix.lower()
            if suffix not in SUFFIXES:
                raise RenderError(
                    f"cannot tell the format of {str(path)!r} from its suffix {suffix!r}: use "
                    f"one of {sorted(SUFFIXES)} or pass format= (one of {sorted(FORMATS)})"
                )
            format = SUFFIXES[suffix]
        data = self.pipe(format)  # render first: a failure leaves any existing file alone
        return write_atomic(path, data)

    def _repr_mimebundle_(
        self, include: Iterable[str] | None = None, exclude: Iterable[str] | None = None
    ) -> dict[str, str]:
        bundle = {"image/svg+xml": self.svg()}
        if include is not None:
            bundle = {k: v for k, v in bundle.items() if k in set(include)}
        if exclude is not None:
            bundle = {k: v for k, v in bundle.items() if k not in set(exclude)}
        return bundle

    def _repr_svg_(self) -> str:
        return self.svg()

    def __repr__(self) -> str:
        where = f" at {self.state}" if self.state else ""
        return f"<Diagram of {self.table!r}{where}, theme {self.theme!r}>"
