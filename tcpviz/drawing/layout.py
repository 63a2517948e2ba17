"""Laying a table out: running Graphviz, the layouts shipped laid out, and the accessible SVG.

Graphviz lays a table out once. The built-in TCP diagrams ship laid out in ``tcpviz/drawing/layouts/``,
keyed by a hash of their DOT source, so drawing them needs no Graphviz at all
(``python -m tcpviz.diagrams`` regenerates them); other tables run ``dot`` once and are cached.
Graphviz's SVG is then given our root class, the style sheet, titles, ids and ARIA.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import weakref
import xml.etree.ElementTree as ET
from collections import OrderedDict
from dataclasses import dataclass
from importlib import resources

from ..errors import GraphvizNotFound, RenderError
from ..model.table import Table
from .dotsource import _printable, dot_source
from .marks import _table
from .svgtemplate import _SVG_NS, _XLINK_NS, _remember, _Template, _write, clear_templates
from .themes import _STYLE_SHEET

__all__ = [
    "DOT_TIMEOUT",
    "INSTALL_GRAPHVIZ",
    "PackagedLayout",
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
    _PRCTL(1, 9)  # PR_SET_PDEATHSIG = 1, SIGKILL = 9
    if os.getppid() != _PARENT[0]:
        os._exit(1)


def _linux_prctl():
    if not sys.platform.startswith("linux"):
        return None
    try:  # resolved here, in the parent: the child only calls it
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


_PRCTL = _linux_prctl()
_PARENT = [0]


def _stop(process: subprocess.Popen) -> None:
    """Kill ``process`` and anything it started (its own process group), and reap it."""
    with contextlib.suppress(OSError):
        if os.name == "posix":
            os.killpg(process.pid, signal.SIGKILL)
        else:  # pragma: no cover - Windows
            process.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=5)


def run_dot(source: str, format: str = "svg", *, timeout: float = DOT_TIMEOUT) -> bytes:
    """Run Graphviz's ``dot`` on ``source`` and return its output in ``format``.

    ``dot`` runs for at most ``timeout`` seconds, in a process group of its own: when the time
    is up, when tcpviz is interrupted (Ctrl-C) or fails, and on Linux even when tcpviz is
    killed, ``dot`` is killed too rather than left running.

    Raises :class:`~tcpviz.errors.GraphvizNotFound` (saying how to install Graphviz) when
    ``dot`` is missing, and :class:`RenderError` when it fails or runs out of time.
    """
    timeout = check_timeout(timeout)
    executable = shutil.which("dot")
    if executable is None:
        raise GraphvizNotFound(INSTALL_GRAPHVIZ)
    options: dict = {}
    if os.name == "posix":
        options["start_new_session"] = True  # its own process group, killed as one
        if _PRCTL is not None and threading.current_thread() is threading.main_thread():
            # preexec_fn is only safe without other threads forking at the same time; a
            # notebook kernel has threads, and there dot is still killed by _stop below.
            _PARENT[0] = os.getpid()
            options["preexec_fn"] = _die_with_parent
    try:
        process = subprocess.Popen(
            [executable, f"-T{format}"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            **options,
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
    """The key a table's layout is cached under: the SHA-256 of its neutral DOT source."""
    return hashlib.sha256(dot_source(_table(table)).encode("utf-8")).hexdigest()


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
            text = resources.files(__package__).joinpath("layouts", "index.json").read_text("utf-8")
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
    table = _table(table)
    source = dot_source(table)
    key = hashlib.sha256(source.encode("utf-8")).hexdigest()
    if packaged:
        layout = _packaged_index().get(key)
        if layout is not None:
            return resources.files(__package__).joinpath("layouts", layout.file).read_text("utf-8")
    with _LAYOUT_LOCK:
        if key in _RAW_LAYOUTS:
            _RAW_LAYOUTS.move_to_end(key)
            return _RAW_LAYOUTS[key]
    svg = run_dot(source, "svg", timeout=timeout).decode("utf-8")
    with _LAYOUT_LOCK:
        _RAW_LAYOUTS[key] = svg
        while len(_RAW_LAYOUTS) > _RAW_LIMIT:
            _RAW_LAYOUTS.popitem(last=False)
    return svg


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
    svg, template = _postprocessed(raw_layout(table, timeout=timeout), table)
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


def _postprocess(raw: str, table: Table) -> str:
    """Make Graphviz's SVG inlinable and accessible: our root class, titles, ARIA, no prolog."""
    return _postprocessed(raw, table)[0]


def _postprocessed(raw: str, table: Table) -> tuple[str, _Template | None]:
    """:func:`_postprocess`, and the template of its text when it could write it itself."""
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
