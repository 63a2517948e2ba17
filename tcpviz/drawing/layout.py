"""Laying a table out: running Graphviz, the layouts shipped laid out, and the accessible SVG.

Graphviz lays a table out once. The built-in TCP diagrams ship laid out in ``tcpviz/drawing/layouts/``,
keyed by a hash of their DOT source, so drawing them needs no Graphviz at all
(``python -m tcpviz.diagrams`` regenerates them); other tables run ``dot`` once and are cached.
Graphviz's SVG is then given our root class, the style sheet, titles, ids and ARIA, and the labels
Graphviz places badly (the rows beyond Figure 5, a few xlabels) are moved to clear places: a
search of tens of milliseconds, which for a shipped layout was done when it was generated (its
result ships beside it, ``NAME.labels.json``, tied to the layout by the layout's SHA-256).
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import os
import re
import sys
import threading
import weakref
import xml.etree.ElementTree as ET
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import GraphvizNotFound, RenderError
from ..model.table import Table
from .dotsource import (
    _BOLD,
    _FONT,
    COPY_PREFIX,
    _beside_ids,
    _layout_passes,
    _printable,
    layout_source,
)
from .marks import _table
from .svgtemplate import _SVG_NS, _XLINK_NS, _remember, _Template, _write, clear_templates
from .themes import _STYLE_SHEET

if TYPE_CHECKING:  # subprocess, shutil and signal load when dot runs (5 ms a shipped layout
    import subprocess  # does without)

__all__ = [
    "DOT_TIMEOUT",
    "INSTALL_GRAPHVIZ",
    "PackagedLayout",
    "accessible_layout",
    "clear_caches",
    "layout_key",
    "layout_svg",
    "packaged_layouts",
    "raw_layout",
    "run_dot",
]

INSTALL_GRAPHVIZ = """\
Graphviz's `dot` program was not found on PATH. tcpviz needs it to lay out a custom table
and to export PNG or PDF. Install Graphviz (the pip package `graphviz` is only the Python
binding and does not include `dot`):
  Debian/Ubuntu:  sudo apt install graphviz      (as root: apt-get install graphviz)
  Fedora:         sudo dnf install graphviz
  macOS:          brew install graphviz
  conda:          conda install -c conda-forge graphviz
  Windows:        winget install graphviz        (then open a new terminal)
The built-in TCP diagrams (tcp_table() and tcp_table(extended=True)) ship laid out:
drawing them, as SVG or DOT, works without Graphviz."""


#: How long :func:`run_dot` lets Graphviz lay a diagram out, in seconds, unless told otherwise.
#: The TCP tables take well under a second; a table of 100 states and 1,000 transitions takes
#: minutes (``timeout=`` in Python, ``--dot-timeout`` on the command line).
DOT_TIMEOUT = 60.0


def check_timeout(timeout: object) -> float:
    """``timeout`` as seconds for :func:`run_dot`: a positive, finite number."""
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise RenderError(f"the dot time limit must be a number of seconds, not {timeout!r}")
    if not 0 < timeout < float("inf"):
        raise RenderError(f"the dot time limit must be more than 0 seconds, not {timeout!r}")
    return float(timeout)


def _die_with_parent() -> None:  # pragma: no cover - runs in the child, between fork and exec
    # PR_SET_PDEATHSIG: the kernel sends dot SIGKILL when the thread that started it dies, even
    # of kill -9, which no handler of ours could see. If we died before this line, the child
    # was already re-parented: stop at once rather than run on for nobody.
    _PRCTL[0](1, 9)  # PR_SET_PDEATHSIG = 1, SIGKILL = 9
    if os.getppid() != _PARENT[0]:
        os._exit(1)


def _linux_prctl():
    """libc's ``prctl`` on Linux, else ``None``; looked up on the first run of dot (ctypes
    costs an import that drawing a shipped layout does without), in the parent: the child
    only calls it."""
    if not _PRCTL:
        prctl = None
        if sys.platform.startswith("linux"):
            try:
                import ctypes

                prctl = ctypes.CDLL(None, use_errno=True).prctl
            except (OSError, AttributeError, ImportError):
                prctl = None
        _PRCTL.append(prctl)
    return _PRCTL[0]


_PRCTL: list = []
_PARENT = [0]


def _stop(process: subprocess.Popen) -> None:
    """Kill ``process`` and anything it started (its own process group), and reap it."""
    import signal
    import subprocess

    with contextlib.suppress(OSError):
        if os.name == "posix":
            os.killpg(process.pid, signal.SIGKILL)
        else:  # pragma: no cover - Windows
            process.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=5)


def run_dot(
    source: str,
    format: str = "svg",
    *,
    timeout: float = DOT_TIMEOUT,
    engine: str = "dot",
    options: tuple[str, ...] = (),
) -> bytes:
    """Run Graphviz's ``dot`` (or another ``engine`` of Graphviz's, with ``options``) on
    ``source`` and return its output in ``format``.

    ``dot`` runs for at most ``timeout`` seconds, in a process group of its own: when the time
    is up, when tcpviz is interrupted (Ctrl-C) or fails, and on Linux even when tcpviz is
    killed, ``dot`` is killed too rather than left running.

    Raises :class:`~tcpviz.errors.GraphvizNotFound` (saying how to install Graphviz) when
    ``dot`` is missing, and :class:`RenderError` when it fails or runs out of time.
    """
    import shutil
    import subprocess

    timeout = check_timeout(timeout)
    executable = shutil.which(engine)
    if executable is None:
        raise GraphvizNotFound(INSTALL_GRAPHVIZ)
    popen: dict = {}
    if os.name == "posix":
        popen["start_new_session"] = True  # its own process group, killed as one
        if _linux_prctl() is not None and threading.current_thread() is threading.main_thread():
            # preexec_fn is only safe without other threads forking at the same time; a
            # notebook kernel has threads, and there dot is still killed by _stop below.
            _PARENT[0] = os.getpid()
            popen["preexec_fn"] = _die_with_parent
    try:
        process = subprocess.Popen(
            [executable, *options, f"-T{format}"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            **popen,
        )
    except FileNotFoundError:
        raise GraphvizNotFound(INSTALL_GRAPHVIZ) from None
    except OSError as error:
        raise RenderError(f"could not run {executable}: {error}") from None
    try:
        output, errors = process.communicate(source.encode("utf-8"), timeout=timeout)
    except subprocess.TimeoutExpired:
        _stop(process)
        raise RenderError(
            f"Graphviz's dot did not finish within {timeout:g} s: a large table takes longer to "
            "lay out. Allow more time (--dot-timeout SECONDS on the command "
            "line, timeout= in Python), or draw fewer states and transitions"
        ) from None
    except BaseException:  # Ctrl-C, a signal turned into an exception: never leave dot running
        _stop(process)
        raise
    finally:
        for stream in (process.stdin, process.stdout, process.stderr):
            with contextlib.suppress(OSError):
                if stream is not None:
                    stream.close()
    if process.returncode != 0:
        # dot's message spans lines ("Error: ...", "in label of edge ..."): one line here.
        message = " ".join(errors.decode("utf-8", "replace").split())
        raise RenderError(
            f"{executable} -T{format} failed with exit status {process.returncode}: {message}"
        )
    return output


def layout_key(table: Table | None = None) -> str:
    """The key a table's layout is cached under: the SHA-256 of the DOT source it is laid out
    from (:func:`~tcpviz.drawing.dotsource.layout_source`)."""
    return hashlib.sha256(layout_source(_table(table)).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class PackagedLayout:
    """One laid-out SVG shipped in ``tcpviz/drawing/layouts/``."""

    file: str
    key: str
    table: str
    graphviz: str


def packaged_layouts() -> dict[str, PackagedLayout]:
    """The layouts shipped with tcpviz, by key (read from ``tcpviz/drawing/layouts/index.json``)."""
    return dict(_packaged_index())


_LAYOUT_LOCK = threading.Lock()
_RAW_LAYOUTS: OrderedDict[str, str] = OrderedDict()  # key -> Graphviz's SVG, for custom tables
_RAW_LIMIT = 32
# id(table) -> (weak reference, post-processed SVG): the same table gets the same str object
# back, which is what lets highlight() find its precomputed splice points at once.
_SVGS: dict[int, tuple[weakref.ref[Table], str]] = {}


def _packaged_index() -> dict[str, PackagedLayout]:
    global _INDEX
    if _INDEX is None:
        try:
            text = _layouts_dir().joinpath("index.json").read_text("utf-8")
            entries = json.loads(text)
        except (FileNotFoundError, json.JSONDecodeError):
            entries = {}
        _INDEX = {
            entry["dot_sha256"]: PackagedLayout(
                file=name,
                key=entry["dot_sha256"],
                table=entry.get("table", ""),
                graphviz=entry.get("graphviz", ""),
            )
            for name, entry in entries.items()
        }
    return _INDEX


_INDEX: dict[str, PackagedLayout] | None = None


def _layouts_dir() -> Any:
    """The folder of the shipped layouts: on the file system as installed (read directly:
    ``importlib.resources`` would import ``zipfile`` and more, about 3 ms), else
    from wherever the package was imported (a zip file)."""
    here = Path(__file__).parent / "layouts"
    if here.is_dir():
        return here
    from importlib import resources

    # One name per joinpath: on Python 3.10 a Traversable (a zipped package's) takes one.
    return resources.files(__package__).joinpath("layouts")


def clear_caches() -> None:
    """Forget every cached layout (after ``tcpviz/drawing/layouts/`` was regenerated, for example)."""
    global _INDEX
    with _LAYOUT_LOCK:
        _INDEX = None
        _RAW_LAYOUTS.clear()
        _SVGS.clear()
    clear_templates()  # the cuts of the SVGs just forgotten


def raw_layout(
    table: Table | None = None, *, packaged: bool = True, timeout: float = DOT_TIMEOUT
) -> str:
    """Graphviz's own SVG for ``table``: shipped with tcpviz, cached, or made by ``dot`` (given
    ``timeout`` seconds, see :func:`run_dot`)."""
    return _raw_and_places(_table(table), packaged=packaged, timeout=timeout)[0]


def _raw_and_places(
    table: Table, *, packaged: bool = True, timeout: float = DOT_TIMEOUT
) -> tuple[str, _LabelPlaces | None]:
    """:func:`raw_layout`, and for a shipped layout the label places baked beside it (``None``:
    work them out)."""
    source = layout_source(table)
    key = hashlib.sha256(source.encode("utf-8")).hexdigest()
    if packaged:
        layout = _packaged_index().get(key)
        if layout is not None:
            layouts = _layouts_dir()
            raw = layouts.joinpath(layout.file).read_text("utf-8")
            return raw, _baked_places(layouts, layout.file, raw)
    with _LAYOUT_LOCK:
        if key in _RAW_LAYOUTS:
            _RAW_LAYOUTS.move_to_end(key)
            return _RAW_LAYOUTS[key], None
    svg = _lay_out(table, timeout)
    with _LAYOUT_LOCK:
        _RAW_LAYOUTS[key] = svg
        while len(_RAW_LAYOUTS) > _RAW_LIMIT:
            _RAW_LAYOUTS.popitem(last=False)
    return svg, None


def labels_file(layout_file: str) -> str:
    """The name of the file beside a shipped layout that holds its label places."""
    return layout_file.removesuffix(".svg") + ".labels.json"


def label_places_json(raw: str, table: Table) -> str:
    """The label places of Graphviz's SVG ``raw`` of ``table`` as the JSON shipped beside its
    layout (``python -m tcpviz.diagrams`` writes it), tied to ``raw`` by its SHA-256."""
    ET.register_namespace("", _SVG_NS)
    root = ET.fromstring(raw.encode("utf-8"))
    graph = root.find(_G)
    if graph is None:
        raise RenderError("Graphviz produced an SVG without a graph group")
    _merge_copies(graph, table)
    _regular_weight_centred(graph)
    places = _label_places(graph, _sources(table), _beside_ids(table))
    data = {"svg_sha256": hashlib.sha256(raw.encode("utf-8")).hexdigest(), **places.as_json()}
    return json.dumps(data, indent=1, sort_keys=True) + "\n"


def _baked_places(layouts, file: str, raw: str) -> _LabelPlaces | None:
    """The label places shipped beside layout ``file``, if they were worked out from ``raw``
    (else ``None``: they are worked out again, which a test of the shipped files forbids)."""
    try:
        data = json.loads(layouts.joinpath(labels_file(file)).read_text("utf-8"))
        if data.get("svg_sha256") != hashlib.sha256(raw.encode("utf-8")).hexdigest():
            return None
        return _LabelPlaces.from_json(data)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _lay_out(table: Table, timeout: float = DOT_TIMEOUT) -> str:
    """Graphviz's SVG of ``table``: one dot run, or for a TCP table with rows beyond Figure 5
    two passes (the figure by dot, then those rows routed by neato around its fixed boxes)."""
    return _two_passes(*_layout_passes(table), "svg", timeout=timeout).decode("utf-8")


def _two_passes(
    first: str,
    rows: list[str],
    format: str,
    options: tuple[str, ...] = (),
    *,
    timeout: float = DOT_TIMEOUT,
) -> bytes:
    """``first`` laid out by dot, then ``rows`` (DOT edge lines) routed by neato around its
    boxes without moving them, drawn in ``format``; without rows, one dot run."""
    if not rows:
        return run_dot(first, format, options=options, timeout=timeout)
    laid = run_dot(first, "dot", timeout=timeout).decode("utf-8").rstrip()
    if not laid.endswith("}"):
        raise RenderError("dot -Tdot produced a graph that does not end with '}'")
    # -n2: every node and every edge with a position stays where dot put it; the new edges
    # are routed as splines around the boxes.
    second = laid[:-1] + "\n  graph [splines=true];\n" + "\n".join(rows) + "\n}\n"
    return run_dot(second, format, engine="neato", options=("-n2", *options), timeout=timeout)


def layout_svg(table: Table | None = None, *, timeout: float = DOT_TIMEOUT) -> str:
    """The laid-out SVG of ``table``, without highlight or theme, ready to inline in HTML.

    The built-in TCP tables come from package data (no Graphviz needed); other tables run
    ``dot`` once and are cached. The root ``<svg>`` has class ``tcpviz-diagram``,
    ``role="group"`` and an ``aria-label`` naming the table; each state's ``<g>`` has the id
    ``table.state_ids[state]``, a ``<title>`` "NAME: description", an ``aria-label``,
    ``role="button"`` and ``tabindex="0"``; each transition's ``<g>`` has the id
    ``table.edge_ids[t]``, the full RFC label as ``<title>`` and ``role="img"`` with an
    ``aria-label`` saying where it leads. (The states are buttons for the widget and the
    standalone page; :meth:`Diagram.pipe` and :meth:`Diagram.save` write them as images.)
    """
    table = _table(table)
    cached = _SVGS.get(id(table))
    if cached is not None and cached[0]() is table:
        return cached[1]
    raw, places = _raw_and_places(table, timeout=timeout)
    svg, template = _postprocessed(raw, table, places)
    if template is not None:  # written and cut in one pass: highlight needs no scan
        _remember(svg, template)
    with _LAYOUT_LOCK:
        # Drop entries whose table is gone, so ids reused by new tables cannot collide.
        for stale in [k for k, (ref, _) in _SVGS.items() if ref() is None]:
            del _SVGS[stale]
        _SVGS[id(table)] = (weakref.ref(table), svg)
    return svg


_G = f"{{{_SVG_NS}}}g"
_TITLE = f"{{{_SVG_NS}}}title"
_POLYGON = f"{{{_SVG_NS}}}polygon"


def _tag(name: str) -> str:
    return f"{{{_SVG_NS}}}{name}"


def _classes(element: ET.Element) -> list[str]:
    return element.get("class", "").split()


def _set_title(group: ET.Element, text: str) -> None:
    title = group.find(_TITLE)
    if title is None:
        title = ET.Element(_TITLE)
        group.insert(0, title)
    title.text = text


def _merge_copies(graph: ET.Element, table: Table) -> None:
    """Move the shapes of a state's second box (``copy_<id>``, CLOSED in Figure 5) into the
    state's own ``<g>``: one state, one element, highlighted and clicked as one."""
    ids = set(table.state_ids.values())
    groups = {g.get("id", ""): g for g in graph.iter(_G)}
    for parent in list(graph.iter()):
        for child in list(parent):
            copy_id = child.get("id", "") if child.tag == _G else ""
            if not copy_id.startswith(COPY_PREFIX):
                continue
            primary = groups.get(copy_id.removeprefix(COPY_PREFIX))
            if primary is None or primary.get("id") not in ids:
                continue
            parent.remove(child)
            for shape in child:
                if shape.tag != _TITLE:
                    primary.append(shape)


_BOLD_FAMILY = _FONT + _BOLD


def _regular_weight_centred(graph: ET.Element) -> None:
    """Text laid out in bold (to leave room for the bold highlight) is shown regular, and
    centred in the space laid out, so that bold grows evenly on both sides and stays inside.

    Graphviz sets the text of an HTML-like label from its left edge; a label with a rule under
    its event has that rule's ends as the width of its cell, whose middle is the text's."""
    text_tag = _tag("text")
    for group in graph.iter(_G):
        rule = None
        for polygon in group.findall(_POLYGON):
            points = [p.split(",") for p in polygon.get("points", "").split()]
            if len(points) >= 2 and len({y for _, y in points}) == 1:
                xs = [float(x) for x, _ in points]
                rule = (min(xs) + max(xs)) / 2
        for text in group.findall(text_tag):
            if text.get("font-family") == _BOLD_FAMILY:
                text.set("font-family", _FONT)
            if text.get("font-weight") == "bold":
                del text.attrib["font-weight"]
            if text.get("text-anchor") == "start" and rule is not None:
                text.set("text-anchor", "middle")
                text.set("x", f"{rule:.2f}")


# Text extents, in units of the font size: DejaVu Sans Bold (wider than Helvetica, Arial and
# the regular weight), the widest face a diagram's text is likely shown in.
_ASCENT, _DESCENT = 0.95, 0.3
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")

_Box = tuple[float, float, float, float]


def _text_width(text: str, size: float) -> float:
    """An upper bound of ``text``'s width: DejaVu Sans Bold's widths, by kind of character."""
    em = sum(
        0.8 if c.isupper() else 0.35 if c == " " else 0.45 if c in ",.-:;'" else 0.68 for c in text
    )
    return em * size


def _text_box(x: float, y: float, anchor: str, text: str, size: float) -> _Box:
    width = _text_width(text, size)
    left = x - width / 2 if anchor == "middle" else x - width if anchor == "end" else x
    return (left, y - _ASCENT * size, left + width, y + _DESCENT * size)


def _union(boxes: list[_Box]) -> _Box:
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


def _overlaps(a: _Box, b: _Box, gap: float = 1.0) -> bool:
    return a[0] < b[2] + gap and b[0] < a[2] + gap and a[1] < b[3] + gap and b[1] < a[3] + gap


def _points(element: ET.Element) -> list[tuple[float, float]]:
    """The coordinates in a path's ``d`` or a polygon's ``points``."""
    numbers = [float(n) for n in _NUMBER.findall(element.get("d") or element.get("points") or "")]
    return list(zip(numbers[::2], numbers[1::2], strict=False))


@dataclass(frozen=True)
class _LabelPlaces:
    """Where :func:`_label_places` put the labels it moves: each label drawn as an xlabel of
    Figure 5 (``_BESIDE``) shifted by ``(dx, dy)``; each row beyond Figure 5 centred at
    ``(x, y)`` (as written in the SVG); and the rows it found no clear place for."""

    moved: dict[str, tuple[float, float]]
    rows: dict[str, tuple[str, str]]
    unplaced: tuple[str, ...] = ()

    def as_json(self) -> dict[str, object]:
        return {
            "moved": {k: list(v) for k, v in self.moved.items()},
            "rows": {k: list(v) for k, v in self.rows.items()},
            "unplaced": list(self.unplaced),
        }

    @classmethod
    def from_json(cls, data: dict) -> _LabelPlaces:
        return cls(
            moved={k: (float(dx), float(dy)) for k, (dx, dy) in data["moved"].items()},
            rows={k: (str(x), str(y)) for k, (x, y) in data["rows"].items()},
            unplaced=tuple(str(i) for i in data["unplaced"]),
        )


def _place_row_labels(
    graph: ET.Element, sources: dict[str, str], beside: frozenset[str] = frozenset()
) -> _LabelPlaces:
    """Work out where the labels go (:func:`_label_places`), move them there, and return it."""
    places = _label_places(graph, sources, beside)
    _apply_label_places(graph, places)
    return places


def _apply_label_places(graph: ET.Element, places: _LabelPlaces) -> None:
    """Move the labels where ``places`` says (worked out now, or baked into a shipped layout)."""
    _UNPLACED[:] = places.unplaced  # what this layout could not place, nothing older
    if not places.moved and not places.rows:
        return
    text_tag = _tag("text")
    for group in graph.iter(_G):
        element_id = group.get("id", "")
        if element_id in places.moved:
            dx, dy = places.moved[element_id]
            for text in group.findall(text_tag):
                text.set("x", f"{float(text.get('x', 0)) + dx:.2f}")
                text.set("y", f"{float(text.get('y', 0)) + dy:.2f}")
            for polygon in group.findall(_POLYGON):
                points = _points(polygon)
                if len(points) >= 2 and len({y for _, y in points}) == 1:  # the rule
                    polygon.set("points", " ".join(f"{x + dx:.2f},{y + dy:.2f}" for x, y in points))
        elif element_id in places.rows:
            row_label = group.find(text_tag)
            if row_label is not None:
                row_label.set("text-anchor", "middle")
                row_label.set("x", places.rows[element_id][0])
                row_label.set("y", places.rows[element_id][1])


def _label_places(
    graph: ET.Element, sources: dict[str, str], beside: frozenset[str] = frozenset()
) -> _LabelPlaces:
    """Where the label of each row beyond Figure 5 goes: beside its own arrow, clear of every
    box, every Figure 5 label and the labels of the other rows leaving the same state; and
    where each Figure 5 label in ``beside`` goes (see :func:`_move_label`). Moves nothing.

    Those rows are routed after the figure (neato puts each label at its arrow's middle,
    wherever that is); one state's rows are shown at a time, so they must be clear of the
    figure and of each other, not of the rows of other states. This search takes tens of
    milliseconds: the shipped layouts carry its result (``python -m tcpviz.diagrams``)."""
    text_tag, path_tag = _tag("text"), _tag("path")
    fixed: list[_Box] = [
        _text_box(*_text_place(band), band.text or "", _size(band))
        for band in graph.findall(_tag("text"))  # the band under the figure
    ]
    rows: list[tuple[ET.Element, str]] = []
    state_boxes: dict[str, list[_Box]] = {}
    lines: list[tuple[float, float]] = []  # points along every Figure 5 arrow
    moved: list[ET.Element] = []
    for group in graph.iter(_G):
        classes = _classes(group)
        if "node" in classes:
            for shape in group.findall(path_tag):  # each box (CLOSED has two)
                points = _points(shape)
                if points:
                    xs, ys = [x for x, _ in points], [y for _, y in points]
                    box = (min(xs), min(ys), max(xs), max(ys))
                    fixed.append(box)
                    state_boxes.setdefault(group.get("id", ""), []).append(box)
        elif "edge" in classes:
            if "extended" in classes:
                rows.append((group, sources.get(group.get("id", ""), "")))
                continue
            path = group.find(path_tag)
            if path is not None:
                lines.extend(_dense(_points(path)))
            if group.get("id", "") in beside:
                moved.append(group)
                continue
            lines_of_label = [
                _text_box(*_text_place(text), text.text or "", _size(text))
                for text in group.findall(text_tag)
            ]
            if lines_of_label:  # the label as one block, as a reader sees it
                fixed.append(_union(lines_of_label))
    background = graph.find(_POLYGON)
    frame = None
    if background is not None and _points(background):
        corners = _points(background)
        xs, ys = [x for x, _ in corners], [y for _, y in corners]
        frame = (min(xs), min(ys), max(xs), max(ys))
    shifts: dict[str, tuple[float, float]] = {}
    for group in moved:
        boxes, shift = _move_label(group, fixed, lines, frame)
        fixed.extend(boxes)
        if shift is not None:
            shifts[group.get("id", "")] = shift
    placed: dict[str, list[_Box]] = {}
    centres: dict[str, tuple[str, str]] = {}
    unplaced: list[str] = []
    for group, source in rows:
        text, path = group.find(text_tag), group.find(path_tag)
        route = [] if path is None else _points(path)
        if text is None or not route:
            continue
        size, words = _size(text), text.text or ""
        width, height = _text_width(words, size), (_ASCENT + _DESCENT) * size
        mine = placed.setdefault(source, [])
        best = None
        own_boxes = state_boxes.get(source)
        home = own_boxes[0] if own_boxes else None
        for reach in (90.0, 180.0):  # near the arrow first, then farther
            best = _clear_place(route, width, height, [*fixed, *mine], frame, reach, home)
            if best is not None:
                break
        if best is None:
            # Nowhere clear (the browser test would say so): neato's place.
            unplaced.append(group.get("id", ""))
            continue
        mine.append(best)
        centres[group.get("id", "")] = (
            f"{(best[0] + best[2]) / 2:.2f}",
            f"{best[1] + _ASCENT * size:.2f}",
        )
    return _LabelPlaces(shifts, centres, tuple(unplaced))


#: The row labels the last layout left where neato put them (a test checks it stays empty).
_UNPLACED: list[str] = []


def _dense(route: list[tuple[float, float]], every: float = 4.0) -> list[tuple[float, float]]:
    """Points along ``route`` (a path's points joined by straight lines) ``every`` units apart."""
    points = route[:1]
    for (x0, y0), (x1, y1) in itertools.pairwise(route):
        n = max(1, int(((x1 - x0) ** 2 + (y1 - y0) ** 2) ** 0.5 / every))
        points.extend((x0 + (x1 - x0) * k / n, y0 + (y1 - y0) * k / n) for k in range(1, n + 1))
    return points


def _move_label(
    group: ET.Element, taken: list[_Box], lines: list[tuple[float, float]], frame: _Box | None
) -> tuple[list[_Box], tuple[float, float] | None]:
    """The clear place nearest its arrow's middle for an arrow's label (its lines and rule):
    clear of ``taken`` and of every arrow's line. Returns its box (where it is to be) and the
    shift that takes it there (``None``: it stays)."""
    text_tag = _tag("text")
    texts = group.findall(text_tag)
    boxes = [_text_box(*_text_place(t), t.text or "", _size(t)) for t in texts]
    if not boxes:
        return [], None
    left, top = min(b[0] for b in boxes), min(b[1] for b in boxes)
    right, bottom = max(b[2] for b in boxes), max(b[3] for b in boxes)
    path = group.find(_tag("path"))
    route = [] if path is None else _points(path)
    if not route:
        return [(left, top, right, bottom)], None
    width, height = right - left, bottom - top
    own = _dense(route)
    middle = own[len(own) // 2]
    mine = set(own)
    others = [p for p in lines if p not in mine]

    def nearest(x: float, y: float, points: list[tuple[float, float]]) -> float:
        return min((x - px) ** 2 + (y - py) ** 2 for px, py in points) if points else 1e18

    best = None
    for cx, cy in _ring(middle, 150.0, 3.0):
        box = (cx - width / 2, cy - height / 2, cx + width / 2, cy + height / 2)
        if frame is not None and not (
            frame[0] <= box[0] and box[2] <= frame[2] and frame[1] <= box[1] and box[3] <= frame[3]
        ):
            continue
        if any(_overlaps(box, other, 2.0) for other in taken):
            continue
        if any(box[0] - 2 <= x <= box[2] + 2 and box[1] - 2 <= y <= box[3] + 2 for x, y in lines):
            continue
        # Read as this arrow's: nearer its own line than any other (its nearest edge, too).
        corners = [(box[0], cy), (box[2], cy), (cx, box[1]), (cx, box[3])]
        if min(nearest(x, y, own) for x, y in corners) > min(
            nearest(x, y, others) for x, y in corners
        ):
            continue
        best = box
        break
    if best is None:
        return [(left, top, right, bottom)], None
    return [best], (best[0] - left, best[1] - top)


def _ring(centre: tuple[float, float], reach: float, step: float) -> list[tuple[float, float]]:
    """Grid points within ``reach`` of ``centre``, nearest first."""
    x0, y0 = centre
    count = int(reach / step)
    points = [
        (x0 + i * step, y0 + j * step)
        for i in range(-count, count + 1)
        for j in range(-count, count + 1)
    ]
    return sorted(points, key=lambda p: (p[0] - x0) ** 2 + (p[1] - y0) ** 2)


def _clear_place(
    route: list[tuple[float, float]],
    width: float,
    height: float,
    taken: list[_Box],
    frame: _Box | None,
    reach: float = 90.0,
    home: _Box | None = None,
    step: float = 6.0,
) -> _Box | None:
    """The box of ``width`` x ``height`` that overlaps nothing in ``taken``, stays inside
    ``frame``, and is nearest where the arrow leaves its state's box ``home`` (the labels of
    one state's rows gather by it, where its dashed arrows start), or nearest the route."""
    if home is not None:
        # The end of the route at the state's box (a reversed edge starts at its target).
        start, end = route[0], route[-1]

        def gap(p: tuple[float, float]) -> float:
            dx = max(home[0] - p[0], 0, p[0] - home[2])
            dy = max(home[1] - p[1], 0, p[1] - home[3])
            return dx * dx + dy * dy

        if gap(end) < gap(start):
            route = route[::-1]
    near = _along(route[: max(2, len(route) // 3 + 1)])
    xs, ys = [x for x, _ in near], [y for _, y in near]
    candidates = []
    sample = near[::2]
    x, x_end = min(xs) - reach, max(xs) + reach
    y_start, y_end = min(ys) - reach, max(ys) + reach
    while x <= x_end:
        y = y_start
        while y <= y_end:
            distance = min([(x - px) ** 2 + (y - py) ** 2 for px, py in sample])
            candidates.append((distance, x, y))
            y += step
        x += step
    for _, cx, cy in sorted(candidates):
        box = (cx - width / 2, cy - height / 2, cx + width / 2, cy + height / 2)
        if frame is not None and not (
            frame[0] <= box[0] and box[2] <= frame[2] and frame[1] <= box[1] and box[3] <= frame[3]
        ):
            continue
        if not any(_overlaps(box, other, 2.0) for other in taken):
            return box
    return None


def _text_place(text: ET.Element) -> tuple[float, float, str]:
    return float(text.get("x", 0)), float(text.get("y", 0)), text.get("text-anchor", "start")


def _size(text: ET.Element) -> float:
    try:
        return float(text.get("font-size", "14"))
    except ValueError:
        return 14.0


def _along(route: list[tuple[float, float]], steps: int = 24) -> list[tuple[float, float]]:
    """Points along a route, from its middle outwards (where a label reads best first),
    leaving out its ends (the boxes it joins)."""
    points: list[tuple[float, float]] = []
    for (x0, y0), (x1, y1) in itertools.pairwise(route):
        points.extend((x0 + (x1 - x0) * k / 4, y0 + (y1 - y0) * k / 4) for k in range(4))
    points.append(route[-1])
    inner = points[len(points) // 6 : len(points) - len(points) // 6] or points
    middle = len(inner) // 2
    order = sorted(range(len(inner)), key=lambda i: abs(i - middle))
    return [inner[i] for i in order][: steps * 4]


def _postprocess(raw: str, table: Table) -> str:
    """Make Graphviz's SVG inlinable and accessible: our root class, titles, ARIA, no prolog."""
    return _postprocessed(raw, table)[0]


def _postprocessed(
    raw: str, table: Table, places: _LabelPlaces | None = None
) -> tuple[str, _Template | None]:
    """:func:`_postprocess`, and the template of its text when it could write it itself;
    the labels are moved where ``places`` says, or where :func:`_label_places` finds now."""
    ET.register_namespace("", _SVG_NS)
    ET.register_namespace("xlink", _XLINK_NS)
    try:
        root = ET.fromstring(raw.encode("utf-8"))
    except ET.ParseError as error:
        raise RenderError(f"Graphviz produced an SVG that does not parse: {error}") from None
    states = {v: k for k, v in table.state_ids.items()}
    edges = {v: k for k, v in table.edge_ids.items()}
    shown = {state: _printable(state) for state in table.states}  # each name is used often
    name = _printable(table.name) or "State diagram"
    root.set("class", "tcpviz-diagram")
    # Not role="img": ARIA makes the children of an img presentational, which would hide the
    # focusable state buttons from screen readers. A named group keeps them reachable.
    root.set("role", "group")
    root.set(
        "aria-label",
        f"{name}: state diagram with {len(table.states)} states and "
        f"{len(table.transitions)} transitions",
    )
    style = ET.Element(_tag("style"))
    style.text = "\n" + _STYLE_SHEET + "\n"
    style.tail = "\n"
    root.insert(0, style)

    graph = root.find(_G)
    if graph is None:
        raise RenderError("Graphviz produced an SVG without a graph group")
    graph.attrib.pop("id", None)  # "graph0" in every diagram: a duplicate id on a shared page
    _set_title(graph, name)  # the tooltip over the background
    # Its title would make it a second group named like the root: one is enough.
    graph.set("role", "none")
    background = graph.find(_POLYGON)
    if background is not None:
        background.set("class", "tcpviz-background")
    for band in graph.findall(_tag("text")):  # the graph's own label: the band under the figure
        band.set("class", "tcpviz-band")

    _merge_copies(graph, table)
    _regular_weight_centred(graph)
    if places is None:
        _place_row_labels(graph, _sources(table), _beside_ids(table))
    else:
        _apply_label_places(graph, places)
    strangers = False
    for group in list(graph.iter(_G)):
        classes = _classes(group)
        element_id = group.get("id", "")
        if "node" in classes and element_id in states:
            state = states[element_id]
            description = _printable(table.descriptions.get(state, ""))
            label = f"{shown[state]}: {description}" if description else shown[state]
            _set_title(group, label)
            group.set("tabindex", "0")
            group.set("role", "button")
            group.set("aria-label", label)
            group.set("data-state", shown[state])
        elif "edge" in classes and element_id in edges:
            t = edges[element_id]
            label = _printable(t.label)
            _set_title(group, label)
            # One image per arrow: read once with its full label, not also as its drawn text
            # (which for rows beyond Figure 5 is the event alone).
            group.set("role", "img")
            group.set("aria-label", f"{label}, from {shown[t.source]} to {shown[t.target]}")
            group.set("data-event", _printable(t.event))
            group.set("data-source", shown[t.source])
            group.set("data-target", shown[t.target])
        elif "node" in classes or "edge" in classes:
            strangers = True
    if strangers:
        # Something Graphviz drew that is not a state or transition of the table (there should
        # be nothing: hint edges are invisible) would break "one element per state/transition".
        known = set(states) | set(edges)
        for parent in list(graph.iter()):
            for child in list(parent):
                if (
                    child.tag == _G
                    and child.get("id", "") not in known
                    and {"node", "edge"} & set(_classes(child))
                ):
                    parent.remove(child)
    written = _write(root)
    if written is None:
        return ET.tostring(root, encoding="unicode"), None
    return written


def _sources(table: Table) -> dict[str, str]:
    """Each transition's edge id -> its source state's id."""
    return {i: table.state_ids[t.source] for t, i in table.edge_ids.items()}


def accessible_layout(svg: str, table: Table) -> str:
    """Graphviz's own SVG of ``table`` as tcpviz ships it: ids, classes, titles and ARIA labels
    added (what the packaged layouts hold, so a fresh ``dot`` run can be compared with them)."""
    return _postprocess(svg, table)
