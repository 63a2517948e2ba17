"""Highlight a laid-out SVG by class, and bake it into a standalone file (colours, no buttons).

Every step after the layout is a class change: ``current`` on a state, ``last`` on the
transition just taken, ``visited`` on states met before, ``taken`` on transitions taken
before, spliced into the SVG's template, never another Graphviz run.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from ..errors import RenderError
from ..model.table import Table, Transition
from .marks import _marks, _table
from .svgtemplate import _escape_attribute, _Template, _template
from .themes import (
    _EDGE_FLAGS,
    _NODE_FLAGS,
    _PALETTES,
    _ROLES,
    _check_theme,
    _overlay,
    _Palette,
    _styles,
)

__all__ = ["highlight"]

_FLAGS = {"node": _NODE_FLAGS, "edge": _EDGE_FLAGS}
# A row beyond Figure 5 with one of these classes is shown (see the style sheet in themes).
_SHOWN_ROWS = frozenset({"enabled", "leaving", "last", "taken"})


def _render(
    svg: str,
    table: Table,
    *,
    state: str | None,
    last: Transition | str | None,
    visited: Iterable[str],
    theme: str | None,
    taken: Iterable[Transition | str],
    bake: bool = False,
) -> str:
    """:func:`highlight`; with ``bake``, a standalone file: the colours of ``theme`` written
    as attributes and the states no longer interactive (see :func:`_bake`)."""
    template = _template(svg)
    if bake:
        if theme is None:
            raise RenderError("baking the colours needs a theme")
        parts, slots = list(template.fine), template.fine_slots
    else:
        parts, slots = list(template.parts), template.slots
    if theme is None:
        parts[slots[""]] = template.theme
    else:
        parts[slots[""]] = f" tcpviz-theme-{_check_theme(theme)}"
    marks = _marks(table, state, last, visited, taken)

    def slot(element_id: str) -> int:
        try:
            return slots[element_id]
        except KeyError:
            raise RenderError(
                f"the SVG has no element with id {element_id!r}: was it laid out from {table!r}?"
            ) from None

    for name in marks.visited:
        parts[slot(table.state_ids[name])] += " visited"
    for t in marks.taken:
        parts[slot(table.edge_ids[t])] += " taken"
    if marks.last is not None:
        parts[slot(table.edge_ids[marks.last])] += " last"
    if marks.state is not None:
        # The rows beyond Figure 5 that leave the current state are shown (see themes).
        for t in table.transitions:
            if t.extended and t.source == marks.state:
                parts[slot(table.edge_ids[t])] += " leaving"
        # The slot sits inside class="...": close it, add the attribute, leave it open again.
        parts[slot(table.state_ids[marks.state])] += ' current" aria-current="true'
    if bake and theme is not None:  # (None was refused above)
        _bake(template, parts, theme)
    return "".join(parts)


def highlight(
    svg: str,
    table: Table | None = None,
    *,
    state: str | None = None,
    last: Transition | str | None = None,
    visited: Iterable[str] = (),
    theme: str | None = None,
    taken: Iterable[Transition | str] = (),
) -> str:
    """Return ``svg`` (from :func:`layout_svg`) with the highlight classes set.

    ``current`` and ``aria-current="true"`` go on the state's ``<g>``, ``last`` on the
    transition's, ``visited`` on each visited state and ``taken`` on each transition taken
    before; ``theme`` sets the root's ``tcpviz-theme-<name>`` class (``None`` keeps the one it
    has). Highlight already in ``svg`` is replaced. This splices strings at positions computed
    once per SVG: it never runs Graphviz.
    """
    table = _table(table)
    return _render(svg, table, state=state, last=last, visited=visited, theme=theme, taken=taken)


# (kind, flags) -> tag -> the attributes a shape of that tag gets, escaped as ElementTree would.
_Looks = dict[tuple[str, tuple[str, ...]], dict[str, dict[str, str]]]


def _looks(palette: _Palette) -> _Looks:
    """The presentation attributes of every kind of shape, for every set of flags."""
    styles = _styles(palette)
    looks: _Looks = {}
    for kind, flags in _FLAGS.items():
        for mask in range(2 ** len(flags)):
            chosen = tuple(f for bit, f in enumerate(flags) if mask >> bit & 1)
            by_tag: dict[str, dict[str, str]] = {}
            for role, properties in _overlay(styles, kind, chosen).items():
                for tag in _ROLES[role]:
                    by_tag.setdefault(tag, {}).update(
                        (name, _escape_attribute(value)) for name, value in properties.items()
                    )
            looks[kind, chosen] = by_tag
    return looks


# They depend on the palettes alone: made once, at import.
_LOOKS = {name: _looks(palette) for name, palette in _PALETTES.items()}
_BACKGROUNDS = {
    name: {"fill": _escape_attribute(palette.background), "stroke": "none"}
    for name, palette in _PALETTES.items()
}


# In the text right after a slot (the rest of a state's opening tag): what makes it a button.
_TABINDEX = re.compile(r' tabindex="[^"]*"')
_BUTTON = ' role="button"'


def _bake(template: _Template, parts: list[str], theme: str) -> None:
    """Make ``parts`` (``template.fine`` with its class slots filled) a standalone file.

    Each shape's colours in ``theme`` are written as presentation attributes, for programs
    that ignore CSS (slide software, some converters); browsers still follow the ``<style>``.
    A shape gets the properties the style sheet gives it as part of each state or transition
    it sits in (outermost first), and as the background.

    The states lose ``tabindex`` and ``role="button"``, which only the widget and the
    standalone page act on: in a file nothing happens when a state is activated, and a
    keyboard or screen-reader user would meet a dead button per state. Each becomes
    ``role="img"``, like the transitions, still named by its ``aria-label`` and ``<title>``.
    """
    palette = "light" if theme == "auto" else theme
    looks = _LOOKS[palette]
    owner_looks = []
    for owner in template.owners:
        classes = owner.classes
        if owner.slot_index >= 0 and parts[owner.slot_index]:
            # The classes highlight added: ' visited current" aria-current="true' -> both.
            classes = classes.union(parts[owner.slot_index].partition('"')[0].split())
        flags = tuple(f for f in _FLAGS[owner.kind] if f in classes)
        owner_looks.append(looks[owner.kind, flags])
        if owner.slot_index >= 0:
            parts[owner.slot_index + 1] = _inert(parts[owner.slot_index + 1])
            if "extended" in classes and not classes & _SHOWN_ROWS:
                # Hidden as the style sheet hides it, for programs that ignore CSS.
                after = parts[owner.slot_index + 1]
                parts[owner.slot_index + 1] = after[:1] + ' display="none"' + after[1:]
    background = _BACKGROUNDS[palette]
    fine = template.fine
    for shape in template.shapes:
        properties: Mapping[str, str] = background if shape.background else {}
        for number in shape.owners:  # indices into template.owners
            more = owner_looks[number].get(shape.tag)
            if more:
                properties = {**properties, **more} if properties else more
        if properties:
            parts[shape.tag_index] = _set_attributes(fine[shape.tag_index], properties)


def _inert(after: str) -> str:
    """The text after a slot with the rest of its opening tag made non-interactive."""
    # The slot sits inside class="..."; its tag ends at the first ">" (escaped in values).
    end = after.find(">")
    head = after[:end]
    if end < 0 or ("tabindex" not in head and _BUTTON not in head):
        return after
    head = _TABINDEX.sub("", head).replace(_BUTTON, ' role="img"')
    return head + after[end:]


def _set_attributes(tag: str, properties: Mapping[str, str]) -> str:
    """An opening tag, as ElementTree writes it, with ``properties`` set as ElementTree's
    ``set`` would: a value replaced where its attribute stands, a new attribute added last."""
    new = []
    for name, value in properties.items():
        # Unambiguous: a quote inside a value is written &quot;.
        start = tag.find(f' {name}="')
        if start < 0:
            new.append(f' {name}="{value}"')
        else:
            start += len(name) + 3
            tag = tag[:start] + value + tag[tag.index('"', start) :]
    if new:
        head = tag[:-1].removesuffix("/").rstrip()  # up to the last attribute
        tag = head + "".join(new) + tag[len(head) :]
    return tag
