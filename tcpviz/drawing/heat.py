"""A heat map on a laid-out diagram: a count beside each state, its box shaded by the count.

Made for the live socket view (how many of this machine's sockets are in each state), usable
for any count per state. It works on the SVG :class:`~tcpviz.drawing.Diagram` draws (or
:func:`~tcpviz.drawing.highlight` returns), after the layout, so it never runs Graphviz:

- each state with a count gets a badge at its box's top right corner: the number in bold, as
  large as the state's name, white on dark blue, drawn above every arrow;
- its box is filled in one of five blues (ColorBrewer's sequential Blues, readable in every
  common colour-vision deficiency since only lightness varies), darker for more, on a log scale
  up to the largest count, with black or white text as the fill needs;
- its ``aria-label`` and ``<title>`` start with the count, for screen readers and tooltips.

States with no count (or zero) are left as they were. Colours are set both as ``style``
(which wins over the theme's style sheet) and as attributes (for programs that ignore CSS).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from ..errors import RenderError
from ..model.table import Table
from .marks import _table


def _html() -> Any:
    """The ``html`` module, imported when a heat map is drawn (2 ms an export does without)."""
    import html

    return html


__all__ = ["BADGE_COLOURS", "HEAT_FILLS", "heat_level", "heat_map", "heat_marks"]

#: The fill of each heat level (1 to 5) and the text colour readable on it.
HEAT_FILLS: tuple[tuple[str, str], ...] = (
    ("#deebf7", "#000000"),
    ("#9ecae1", "#000000"),
    ("#6baed6", "#000000"),
    ("#3182bd", "#ffffff"),
    ("#08519c", "#ffffff"),
)
_BADGE_FILL, _BADGE_TEXT, _BADGE_RING = "#08306b", "#ffffff", "#ffffff"
_BADGE_FONT = 14.0  # at least; else the size of the state's name (SVG units)
_FONT_SIZE = re.compile(r'\sfont-size="([0-9.]+)"')

_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e-?\d+)?")
_SHAPE = re.compile(r"<(path|polygon|ellipse)\b[^>]*>")
_TEXT = re.compile(r"<text\b[^>]*>")


def heat_level(count: int, maximum: int) -> int:
    """The heat level (0 to 5) of ``count`` when the largest count is ``maximum``.

    0 for no count; otherwise 1 to 5 on a log scale, so that one socket among thousands still
    shows, and the largest count gets 5.

    >>> [heat_level(c, 1000) for c in (0, 1, 10, 100, 1000)]
    [0, 1, 2, 4, 5]
    """
    if count <= 0:
        return 0
    if maximum <= count:
        return len(HEAT_FILLS)
    return max(1, math.ceil(len(HEAT_FILLS) * math.log1p(count) / math.log1p(maximum)))


def _bounds(tag: str) -> tuple[float, float, float, float]:
    """The bounding box (left, top, right, bottom) of one shape's opening tag."""

    def attribute(name: str) -> str:
        found = re.search(rf'\s{name}="([^"]*)"', tag)
        if found is None:
            raise RenderError(f"a state's shape has no {name!r}: {tag[:80]!r}")
        return found.group(1)

    if tag.startswith("<ellipse"):
        cx, cy, rx, ry = (float(attribute(n)) for n in ("cx", "cy", "rx", "ry"))
        return cx - rx, cy - ry, cx + rx, cy + ry
    numbers = [
        float(n) for n in _NUMBER.findall(attribute("d" if tag.startswith("<path") else "points"))
    ]
    xs, ys = numbers[0::2], numbers[1::2]
    return min(xs), min(ys), max(xs), max(ys)


def _styled(tag: str, colours: Mapping[str, str]) -> str:
    """``tag`` with each of ``colours`` (property -> value) set as attribute and as style."""
    for name, value in colours.items():
        tag, found = re.subn(rf'(\s{name}=")[^"]*(")', rf"\g<1>{value}\g<2>", tag, count=1)
        if not found:
            tag = tag.replace(" ", f' {name}="{value}" ', 1)
    css = ";".join(f"{name}:{value}" for name, value in colours.items())
    if ' style="' in tag:
        return tag.replace(' style="', f' style="{css};', 1)
    return tag.replace(" ", f' style="{css}" ', 1)


def _replacing(text: str) -> Callable[[re.Match[str]], str]:
    """A replacement for ``re.sub`` that inserts ``text`` as it is (no backslash escapes)."""

    def replace(_match: re.Match[str]) -> str:
        return text

    return replace


def _styled_match(match: re.Match[str], colours: Mapping[str, str]) -> str:
    return _styled(match.group(0), colours)


def _badge_box(box: tuple[float, float, float, float], font: float, text: str) -> dict[str, float]:
    """Where the badge showing ``text`` goes: centred on the box's top right corner."""
    _, top, right, _ = box
    height = font + 8
    width = max(height, 0.62 * font * len(text) + 12)  # Helvetica digits: 0.56 em
    x, y = right - width / 2 - 2, top - height / 2  # a little inside the corner
    return {
        "x": round(x, 2),
        "y": round(y, 2),
        "width": round(width, 2),
        "height": round(height, 2),
        "font": font,
        "baseline": round(y + height / 2 + font * 0.36, 2),
    }


def _badge(state_id: str, text: str, where: Mapping[str, float]) -> str:
    x, y, width, height, font = (where[k] for k in ("x", "y", "width", "height", "font"))
    return (
        f'<g class="tcpviz-count" data-state-id="{state_id}" aria-hidden="true">'
        f'<rect x="{x:.2f}" y="{y:.2f}" width="{width:.2f}" height="{height:.2f}" '
        f'rx="{height / 2:.2f}" fill="{_BADGE_FILL}" stroke="{_BADGE_RING}" stroke-width="1.5" '
        f'style="fill:{_BADGE_FILL};stroke:{_BADGE_RING}" />'
        f'<text x="{x + width / 2:.2f}" y="{where["baseline"]:.2f}" '
        f'text-anchor="middle" font-family="Helvetica,Arial,sans-serif" '
        f'font-size="{font:.2f}" font-weight="bold" fill="{_BADGE_TEXT}" '
        f'style="fill:{_BADGE_TEXT};font-weight:bold">{text}</text></g>'
    )


#: The badge's colours, for a page that draws the badges itself (the live widget).
BADGE_COLOURS: dict[str, str] = {"fill": _BADGE_FILL, "text": _BADGE_TEXT, "ring": _BADGE_RING}

_ARIA = re.compile(r'\saria-label="([^"]*)"')


def heat_marks(
    svg: str,
    table: Table | None,
    counts: Mapping[str, int],
    *,
    unit: tuple[str, str] = ("socket", "sockets"),
) -> dict[str, dict[str, Any]]:
    """What the heat map of ``counts`` puts on each state of ``svg``, as data, by element id.

    For every state of the table (those counting 0 too): ``state``, ``count``, ``level``
    (0 to 5), ``fill`` and ``ink`` (its box and text colours, ``None`` at 0), ``label`` (its
    ``aria-label`` with the count) and ``badge`` (the badge's box and font in SVG units,
    ``None`` at 0). :func:`heat_map` draws it; a page can also apply it itself, so that a
    refresh sends this small dictionary instead of the whole SVG.
    """
    table = _table(table)
    for state, count in counts.items():
        if state not in table.state_ids:
            raise RenderError(f"unknown state: {state!r} (must be one of {list(table.states)})")
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise RenderError(f"the count of {state} must be a whole number from 0, not {count!r}")
    maximum = max(counts.values(), default=0)
    marks: dict[str, dict[str, Any]] = {}
    for state in table.states:
        count = counts.get(state, 0)
        level = heat_level(count, maximum)
        state_id = table.state_ids[state]
        node = _node(svg, table, state, state_id)
        found = _ARIA.search(node)
        label = _html().unescape(found.group(1)) if found else state
        said = f"{count} {unit[0] if count == 1 else unit[1]}"
        if level:
            label = (
                label.replace(f"{state}:", f"{state}, {said}:", 1)
                if label.startswith(f"{state}:")
                else f"{state}, {said}. {label}"
            )
        badge = None
        if level:
            shape = _SHAPE.search(node)
            if shape is None:
                raise RenderError(f"the state {state!r} has no shape in the SVG")
            # As large as the state's name (never smaller than 14): both read from as far.
            sizes = [float(m) for m in _FONT_SIZE.findall(node)]
            font = max([_BADGE_FONT, *sizes])
            badge = _badge_box(_bounds(shape.group(0)), font, str(count))
        fill, ink = HEAT_FILLS[level - 1] if level else (None, None)
        marks[state_id] = {
            "state": state,
            "count": count,
            "level": level,
            "fill": fill,
            "ink": ink,
            "label": label,
            "badge": badge,
        }
    return marks


def _node(svg: str, table: Table, state: str, state_id: str) -> str:
    start = svg.find(f'<g id="{state_id}"')
    if start < 0:
        raise RenderError(
            f"the SVG has no element with id {state_id!r}: was it laid out from {table!r}?"
        )
    return svg[start : svg.index("</g>", start)]


def heat_map(
    svg: str,
    table: Table | None,
    counts: Mapping[str, int],
    *,
    unit: tuple[str, str] = ("socket", "sockets"),
) -> str:
    """Return ``svg`` with a heat map of ``counts`` (state -> count) on its states.

    Parameters
    ----------
    svg : str
        A laid-out diagram of ``table``, as :meth:`Diagram.svg` or :func:`highlight` return it.
    table : Table or None
        Its table (``None``: the built-in one).
    counts : mapping of str to int
        A count per state, by the state's name in the table; missing states count 0.
    unit : (str, str)
        What is counted, singular and plural, for the labels read aloud.

    Raises
    ------
    RenderError
        For a state the table does not have, a count that is not a whole number from 0 up,
        or an SVG that was not laid out from ``table``.

    Examples
    --------
    >>> from tcpviz.drawing import Diagram
    >>> svg = heat_map(Diagram().svg(), None, {"LISTEN": 2, "ESTABLISHED": 5})
    >>> svg.count('class="tcpviz-count"')
    2
    """
    table = _table(table)
    marks = heat_marks(svg, table, counts, unit=unit)
    badges = []
    for state_id, mark in marks.items():
        if not mark["level"]:
            continue
        start = svg.index(f'<g id="{state_id}"')
        end = svg.index("</g>", start)
        node = svg[start:end]
        shape = _SHAPE.search(node)
        assert shape is not None  # heat_marks checked
        node = (
            node[: shape.start()]
            + _styled(shape.group(0), {"fill": mark["fill"]})
            + _TEXT.sub(partial(_styled_match, colours={"fill": mark["ink"]}), node[shape.end() :])
        )
        node = node.replace(' class="', f' class="heat heat-{mark["level"]} ', 1)
        label = _html().escape(mark["label"], quote=True)
        node = _ARIA.sub(_replacing(f' aria-label="{label}"'), node, count=1)
        node = re.sub(r"<title>[^<]*</title>", _replacing(f"<title>{label}</title>"), node, count=1)
        svg = svg[:start] + node + svg[end:]
        badges.append(_badge(state_id, str(mark["count"]), mark["badge"]))
    if not badges:
        return svg
    # Above every arrow: inside the graph's group (its transform), after everything in it.
    close = svg.rindex("</g>", 0, svg.rindex("</svg>"))
    return svg[:close] + '<g class="tcpviz-counts">' + "".join(badges) + "</g>\n" + svg[close:]
