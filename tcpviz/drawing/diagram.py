"""Draw a transition table: the Diagram object, and the public drawing API in one place.

Graphviz lays a table out once (:mod:`tcpviz.drawing.layout`, from the DOT of
:mod:`tcpviz.drawing.dotsource`); every step after that is a class change on the SVG it made
(:mod:`tcpviz.drawing.highlighting`), in colours from :mod:`tcpviz.drawing.themes`. A :class:`Diagram` ties
these together: it shows itself as SVG in Jupyter and saves SVG, PNG, PDF or DOT. The public
names of those modules are importable from here too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..errors import RenderError
from ..files import write_atomic
from ..model.table import Table, Transition, tcp_table
from .dotsource import _export_passes, dot_source, layout_source
from .highlighting import _render, highlight
from .layout import (
    DOT_TIMEOUT,
    INSTALL_GRAPHVIZ,
    PackagedLayout,
    _two_passes,
    check_timeout,
    clear_caches,
    layout_key,
    layout_svg,
    packaged_layouts,
    raw_layout,
    run_dot,
)
from .marks import _marks, _table
from .themes import THEMES, _check_theme, check_theme, style_sheet

__all__ = [
    "DOT_TIMEOUT",
    "FORMATS",
    "INSTALL_GRAPHVIZ",
    "SUFFIXES",
    "THEMES",
    "Diagram",
    "PackagedLayout",
    "RenderError",
    "check_theme",
    "clear_caches",
    "dot_source",
    "highlight",
    "layout_key",
    "layout_source",
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
#: A PNG's resolution when none is asked for: Graphviz's, one CSS pixel per pixel.
PNG_DPI = 96.0


def _rasterize(svg: bytes, format: str, dpi: float | None) -> bytes | None:
    """The SVG export drawn as PNG or PDF by CairoSVG (the ``png`` extra), exactly as the SVG
    shows it (the layout shipped, the labels where tcpviz placed them); None without it."""
    try:
        import cairosvg  # optional: Graphviz draws the file without it
    except (ImportError, OSError):  # OSError: the cairo library itself is missing
        return None
    # CairoSVG reads the SVG's pt sizes at 96 dpi, as a browser does. Every colour, weight
    # and hidden row is baked in as an attribute: the style sheet (whose "auto" theme uses
    # CSS variables CairoSVG does not know) is left out.
    scale = 1.0 if dpi is None else dpi / PNG_DPI
    svg = re.sub(rb"<style>.*?</style>", b"", svg, count=1, flags=re.S)
    try:
        if format == "png":
            return cairosvg.svg2png(bytestring=svg, scale=scale)
        return cairosvg.svg2pdf(bytestring=svg)
    except Exception as error:  # any failure of the converter is one error
        raise RenderError(f"CairoSVG could not draw the diagram as {format}: {error}") from None


def _check_resolution(format: str, dpi: float | None, scale: float | None) -> float | None:
    """The dpi a PNG is drawn at, from ``dpi`` or ``scale`` (None: Graphviz's 96)."""
    if dpi is None and scale is None:
        return None
    if dpi is not None and scale is not None:
        raise RenderError(f"give dpi or scale, not both (dpi={dpi!r}, scale={scale!r})")
    if format != "png":
        raise RenderError(
            f"dpi and scale set a PNG's resolution; {format} is a vector format (use png)"
        )
    value = dpi if dpi is not None else scale
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        number = float("nan")
    low, high = (24.0, 1200.0) if dpi is not None else (0.25, 12.5)
    if not low <= number <= high:  # also refuses NaN
        name = "dpi" if dpi is not None else "scale"
        raise RenderError(f"{name} must be a number from {low:g} to {high:g}, not {value!r}")
    return number if dpi is not None else number * PNG_DPI


class Diagram:
    """A state diagram of a table, with a theme and optional highlight.

    Shows itself in Jupyter as inline SVG, as wide as the output at most; the default theme,
    ``auto``, follows the front end's light or dark theme there (a file saved with it is
    drawn light). :meth:`save` writes SVG, PNG (at a chosen ``dpi`` or ``scale``), PDF or DOT
    atomically.

    >>> d = Diagram(state="ESTABLISHED", theme="dark")
    >>> 'aria-current="true"' in d.svg()
    True
    """

    def __init__(
        self,
        table: Table | None = None,
        *,
        extended: bool = False,
        theme: str = "auto",
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
    def from_machine(cls, machine: Any, theme: str = "auto") -> Diagram:
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

    def source(self) -> Any:
        """The DOT source as a :class:`graphviz.Source`, for the graphviz package's own tools:
        any engine or output format Graphviz has, ``render``, ``view``, notebook display.

        >>> src = Diagram(state="LISTEN").source()
        >>> type(src).__module__, src.engine
        ('graphviz.sources', 'dot')
        >>> 'LISTEN' in src.source
        True
        """
        import graphviz  # the package loads only here: the built-in diagrams never need it

        return graphviz.Source(self.dot, filename="tcpviz.gv")

    def pipe(
        self, format: str = "svg", *, dpi: float | None = None, scale: float | None = None
    ) -> bytes:
        """The diagram as a file's bytes: ``svg`` and ``dot`` need no Graphviz for the built-in
        tables; ``png`` and ``pdf`` run ``dot``.

        Unlike :meth:`svg`, which the widget and the standalone page make interactive, the
        ``svg`` file's states are not focusable buttons: each is ``role="img"`` with its
        ``aria-label`` and ``<title>``, like the transitions.

        For ``png``, ``dpi`` (dots per inch; 96 by default) or ``scale`` (a multiple of 96
        dpi: ``scale=2`` for a sharp slide) sets the resolution; other formats are vectors
        and refuse both."""
        format = _check_format(format)
        resolution = _check_resolution(format, dpi, scale)
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
        picture = _rasterize(self.pipe("svg"), format, resolution)
        if picture is not None:
            return picture
        options = () if resolution is None else (f"-Gdpi={resolution:g}",)
        # Without CairoSVG, Graphviz draws it: the rows beyond Figure 5 routed after the
        # figure, only those the page would show (see dot_source).
        marks = _marks(self.table, self.state, self.last, self.visited, self.taken)
        first, rows = _export_passes(
            self.table, "light" if self.theme == "auto" else self.theme, marks
        )
        if not rows:
            return run_dot(first, format, options=options, timeout=self.timeout)
        return _two_passes(first, rows, format, options, timeout=self.timeout)

    def save(
        self,
        path: str | Path,
        format: str | None = None,
        *,
        dpi: float | None = None,
        scale: float | None = None,
    ) -> Path:
        """Write the diagram to ``path`` atomically; the format comes from the suffix unless
        given, ``dpi`` or ``scale`` set a PNG's resolution (see :meth:`pipe`). Nothing is
        written when rendering fails.

        >>> import pathlib, tempfile
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> Diagram().save(folder / "slide.png", scale=2).read_bytes()[:8] == b"\\x89PNG\\r\\n\\x1a\\n"
        True
        >>> import shutil; shutil.rmtree(folder)
        """
        path = Path(path)
        if format is None:
            suffix = path.suffix.lower()
            if suffix not in SUFFIXES:
                raise RenderError(
                    f"cannot tell the format of {str(path)!r} from its suffix {suffix!r}: use "
                    f"one of {sorted(SUFFIXES)} or pass format= (one of {sorted(FORMATS)})"
                )
            format = SUFFIXES[suffix]
        # Render first: a failure leaves any existing file alone.
        data = self.pipe(format, dpi=dpi, scale=scale)
        return write_atomic(path, data)

    def _repr_html_(self) -> str:
        """The SVG inline in the page, as wide as the output at most (its height follows):
        inline, the ``auto`` theme reads the front end's light or dark colours (JupyterLab's
        and VS Code's CSS variables), which an ``<img>`` of the SVG cannot."""
        svg = self.svg()
        return (
            '<div class="tcpviz-static" style="max-width:100%;overflow-x:auto">'
            + svg.replace("<svg ", '<svg style="max-width:100%;height:auto" ', 1)
            + "</div>"
        )

    def _repr_mimebundle_(
        self, include: Iterable[str] | None = None, exclude: Iterable[str] | None = None
    ) -> dict[str, str]:
        # HTML for the front ends that show it (JupyterLab, Notebook, Voila, VS Code, Colab),
        # the SVG for those that show only images (nbconvert to PDF, GitHub's viewer).
        bundle = {"text/html": self._repr_html_(), "image/svg+xml": self.svg()}
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
