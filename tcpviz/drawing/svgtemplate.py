"""Cut an SVG where highlight and the bake splice: its template, written in one pass or scanned.

A template records the class attribute of the root and of every state and transition, and
every shape an export colours, so that a step or an export is string splicing, never another
parse. The writer produces ElementTree's exact text and the template at once; any other SVG
text is scanned once. Templates are cached by SVG text.
"""

from __future__ import annotations

import re
import threading
import xml.etree.ElementTree as ET
from collections import OrderedDict
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import NamedTuple

from ..errors import RenderError
from .themes import _ROLES

__all__ = ["clear_templates"]

_SVG_NS = "http://www.w3.org/2000/svg"
_XLINK_NS = "http://www.w3.org/1999/xlink"
_HIGHLIGHT_CLASSES = frozenset({"current", "last", "visited", "taken", "leaving"})

_SHAPE_TAGS = frozenset(tag for tags in _ROLES.values() for tag in tags)


class _Owner(NamedTuple):
    """A state's or transition's ``<g>``: what the bake needs to know to colour its shapes."""

    kind: str  # "node" or "edge"
    classes: frozenset[str]  # as written, without highlight classes if it has a slot
    slot: str  # its id when highlight sets its classes, else ""
    # The index of that slot in _Template.fine, -1 without one. (Not "index": a tuple's field
    # of that name would hide tuple.index.)
    slot_index: int


class _Shape(NamedTuple):
    """A shape or text inside a state or transition (or the background), which the bake
    writes again with its colours as attributes."""

    tag_index: int  # where its tag sits in _Template.fine
    tag: str
    background: bool
    owners: tuple[int, ...]  # indices into _Template.owners, outermost first


@dataclass(frozen=True)
class _Template:
    """An SVG cut at the class attribute of its root and of every state and transition.

    ``parts`` serves :func:`highlight`; ``fine`` is the same text cut also around every tag
    that an export colours, so that :meth:`Diagram.pipe` sets the classes and writes the
    colours as attributes in one splice, without parsing the SVG again.
    """

    parts: tuple[str, ...]  # static text at even indices, empty slots at odd indices
    slots: dict[str, int]  # element id ("" for the root) -> index of its slot in parts
    theme: str  # the theme class the root carried, kept when highlight() gets no theme
    fine: tuple[str, ...]  # static text at even indices; class slots and shape tags between
    fine_slots: dict[str, int]  # element id ("" for the root) -> index of its slot in fine
    owners: tuple[_Owner, ...]
    shapes: tuple[_Shape, ...]


def _assemble(
    fine: list[str],
    fine_slots: dict[str, int],
    theme: str,
    owners: list[_Owner],
    shapes: list[_Shape],
) -> _Template:
    # highlight() needs the class slots only: it gets the text between them joined.
    parts: list[str] = []
    slots: dict[str, int] = {}
    start = 0
    for key, index in sorted(fine_slots.items(), key=lambda item: item[1]):
        parts.append("".join(fine[start:index]))
        slots[key] = len(parts)
        parts.append("")
        start = index + 1
    parts.append("".join(fine[start:]))
    return _Template(
        tuple(parts),
        slots,
        f" {theme}" if theme else "",
        tuple(fine),
        fine_slots,
        tuple(owners),
        tuple(shapes),
    )


_TEMPLATE_LOCK = threading.Lock()
_TEMPLATES: OrderedDict[str, _Template] = OrderedDict()  # SVG text -> its template
_TEMPLATE_LIMIT = 16


def clear_templates() -> None:
    """Forget every cached template."""
    with _TEMPLATE_LOCK:
        _TEMPLATES.clear()


def _remember(svg: str, template: _Template) -> None:
    with _TEMPLATE_LOCK:
        _TEMPLATES[svg] = template
        while len(_TEMPLATES) > _TEMPLATE_LIMIT:
            _TEMPLATES.popitem(last=False)


def _slot_tag(
    tag: str, attributes: Iterable[tuple[str, str]], keep: list[str], closed: bool
) -> tuple[str, str]:
    """An opening tag cut inside its class attribute, after the classes kept: the text before
    the slot and the text after it (``aria-current``, which highlight sets, is left out)."""
    before: list[str] = []
    after: list[str] = []
    seen = False
    for name, value in attributes:
        if name == "class":
            seen = True
        elif name != "aria-current":
            (after if seen else before).append(f' {name}="{value}"')
    opening = f'<{tag}{"".join(before)} class="{" ".join(keep)}'
    return opening, f'"{"".join(after)}{" />" if closed else ">"}'


def _is_background(attributes: str) -> bool:
    """Whether a polygon's attributes (as written) make it the diagram's background."""
    if "tcpviz-background" not in attributes:
        return False
    return "tcpviz-background" in dict(_ATTRIBUTE.findall(attributes)).get("class", "").split()


# Every opening tag the template looks at, and every </g>. The SVGs highlighted here are
# ElementTree's output, where a literal ">" appears only at the end of a tag (it is escaped in
# text and attribute values).
_TAG = re.compile(rf"<(?:(svg|g|{'|'.join(sorted(_SHAPE_TAGS))})(?=[\s/>])([^>]*)|(/g))>")
_ATTRIBUTE = re.compile(r'([^\s=]+)="([^"]*)"')


def _template(svg: str) -> _Template:
    """The template of any SVG text, found by scanning it (once: the result is cached)."""
    template = _TEMPLATES.get(svg)
    if template is not None:
        return template
    fine: list[str] = []
    fine_slots: dict[str, int] = {}
    owners: list[_Owner] = []
    shapes: list[_Shape] = []
    open_groups: list[int] = []  # for each open <g>: its owner index, or -1
    enclosing: tuple[int, ...] = ()  # the owners among them, outermost first
    theme = ""
    position, pending = 0, ""
    for match in _TAG.finditer(svg):
        tag, body, end_group = match.groups()
        if end_group:
            if open_groups and open_groups.pop() >= 0:
                enclosing = enclosing[:-1]
            continue
        closed = body.endswith("/")
        if tag != "svg" and tag != "g":
            background = tag == "polygon" and _is_background(body)
            if enclosing or background:
                fine.append(pending + svg[position : match.start()])
                shapes.append(_Shape(len(fine), tag, background, enclosing))
                fine.append(match.group())
                pending, position = "", match.end()
            continue
        owner, key = -1, None
        if body[:1].isspace():  # a tag with attributes
            attributes = tuple(_ATTRIBUTE.findall(body))
            values = dict(attributes)
            classes = values.get("class", "").split()
            if tag == "svg":
                if "" not in fine_slots:  # an <svg> nested in the diagram is not its root
                    key = ""
                    themes = [c for c in classes if c.startswith("tcpviz-theme-")]
                    theme = themes[-1] if themes else ""
                    keep = [c for c in classes if not c.startswith("tcpviz-theme-")]
            elif "node" in classes or "edge" in classes:
                owner = len(owners)
                kind = "node" if "node" in classes else "edge"
                key = values.get("id") or None
                if key is None:
                    owners.append(_Owner(kind, frozenset(classes), "", -1))
                else:
                    keep = [c for c in classes if c not in _HIGHLIGHT_CLASSES]
                    owners.append(_Owner(kind, frozenset(keep), key, len(fine) + 1))
        if key is not None:
            opening, after = _slot_tag(tag, attributes, keep, closed)
            fine.append(pending + svg[position : match.start()] + opening)
            fine_slots[key] = len(fine)
            fine.append("")
            pending, position = after, match.end()
        if tag == "g" and not closed:
            open_groups.append(owner)
            if owner >= 0:
                enclosing = (*enclosing, owner)
    if "" not in fine_slots:
        raise RenderError("not an SVG: no <svg> element found")
    fine.append(pending + svg[position:])
    template = _assemble(fine, fine_slots, theme, owners, shapes)
    _remember(svg, template)
    return template


# -- writing the laid-out SVG -------------------------------------------------------------------

_SVG_QUALIFIER = f"{{{_SVG_NS}}}"
_XLINK_QUALIFIER = f"{{{_XLINK_NS}}}"
_SPECIAL_IN_ATTRIBUTE = re.compile(r'[&<>"\r\n\t]')
# In attributes written as name="value" without escaping: anything to escape (a quote shows
# as one more quote than the delimiters), or a namespaced name.
_SPECIAL_IN_WRITTEN = re.compile(r"[&<>\r\n\t{]")


class _Unusual(Exception):
    """A tree that :func:`_write` leaves to ElementTree."""


def _escape_text(text: str) -> str:
    # What ElementTree writes for text and tails.
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    return text


def _escape_attribute(value: str) -> str:
    # What ElementTree writes for an attribute value (the same from Python 3.10 to 3.13).
    if _SPECIAL_IN_ATTRIBUTE.search(value) is None:
        return value
    for character, entity in (
        ("&", "&amp;"),
        ("<", "&lt;"),
        (">", "&gt;"),
        ('"', "&quot;"),
        ("\r", "&#13;"),
        ("\n", "&#10;"),
        ("\t", "&#09;"),
    ):
        value = value.replace(character, entity)
    return value


def _write(root: ET.Element) -> tuple[str, _Template] | None:
    """``root`` as ``ET.tostring(root, encoding="unicode")`` writes it, and its template.

    One pass writes the text and records where highlight and the bake splice, where writing
    with ElementTree and then scanning the text would take two. None for a tree this does
    not know to write exactly as ElementTree does (a name outside the SVG and XLink
    namespaces, a comment, an ``aria-current`` or no class on a slot); the caller then asks
    ElementTree. A test checks that both write the same text and find the same template.
    """
    try:
        # Attribute values rarely need escaping: write them as they are and check all of
        # them at once at the end; only if one needs it, write again escaping each.
        return _write_pass(root, careful=False) or _write_pass(root, careful=True)
    except (_Unusual, TypeError, AttributeError):
        # TypeError: a comment's or processing instruction's tag is a function.
        return None


def _write_pass(root: ET.Element, careful: bool) -> tuple[str, _Template] | None:
    """One pass of :func:`_write`; None when ``careful`` is false and a value needs escaping."""
    fine: list[str] = ["", ""]  # the root's opening tag is written last, with its namespaces
    fine_slots: dict[str, int] = {"": 1}
    owners: list[_Owner] = []
    shapes: list[_Shape] = []
    buffer: list[str] = []  # static text since the last cut
    append = buffer.append
    unchecked: list[str] = []  # attributes written without escaping
    counted = [0]  # how many of them
    xlink = [False]
    skip = len(_SVG_QUALIFIER)

    def qualified(name: str) -> str:
        if name[:1] != "{":
            return name
        if name.startswith(_SVG_QUALIFIER):
            return name[skip:]
        if name.startswith(_XLINK_QUALIFIER):
            xlink[0] = True
            return "xlink:" + name[len(_XLINK_QUALIFIER) :]
        raise _Unusual

    def attributes_of(element: ET.Element) -> list[tuple[str, str]]:
        return [(qualified(k), _escape_attribute(v)) for k, v in element.items()]

    def cut(special: str) -> int:
        """End the static text here; ``special`` (a slot or a shape's tag) comes next."""
        fine.append("".join(buffer))
        buffer.clear()
        fine.append(special)
        return len(fine) - 1

    def visit(element: ET.Element, enclosing: tuple[int, ...]) -> None:
        tag = element.tag
        tag = tag[skip:] if tag.startswith(_SVG_QUALIFIER) else qualified(tag)
        attributes: Collection[tuple[str, str]]
        if careful:
            attributes = attributes_of(element)
            written = "".join([f' {name}="{value}"' for name, value in attributes])
        else:
            # As they are: right if the check at the end finds nothing to escape.
            attributes = element.items()
            written = "".join([f' {name}="{value}"' for name, value in attributes])
            unchecked.append(written)
            counted[0] += len(attributes)
        text = element.text
        empty = not text and not len(element)
        end = " />" if empty else ">"
        if tag in _SHAPE_TAGS:
            opening = f"<{tag}{written}{end}"
            background = tag == "polygon" and _is_background(written)
            if enclosing or background:
                shapes.append(_Shape(cut(opening), tag, background, enclosing))
            else:
                append(opening)
        elif (
            tag == "g"
            and (classes := _classes_of(attributes))
            and ("node" in classes or "edge" in classes)
        ):
            kind = "node" if "node" in classes else "edge"
            values = dict(attributes)
            key = values.get("id")
            if key:
                if "aria-current" in values:
                    raise _Unusual
                keep = [c for c in classes if c not in _HIGHLIGHT_CLASSES]
                opening, after = _slot_tag(tag, attributes, keep, empty)
                append(opening)
                index = cut("")
                fine_slots[key] = index
                append(after)
                owners.append(_Owner(kind, frozenset(keep), key, index))
            else:
                owners.append(_Owner(kind, frozenset(classes), "", -1))
                append(f"<{tag}{written}{end}")
            enclosing = (*enclosing, len(owners) - 1)
        else:
            append(f"<{tag}{written}{end}")
        if not empty:
            if text:
                append(_escape_text(text))
            for child in element:
                visit(child, enclosing)
            append(f"</{tag}>")
        tail = element.tail
        if tail:
            append(_escape_text(tail))

    if qualified(root.tag) != "svg":
        raise _Unusual
    attributes = attributes_of(root)
    values = dict(attributes)
    if "class" not in values or "aria-current" in values:
        raise _Unusual
    classes = values["class"].split()
    themes = [c for c in classes if c.startswith("tcpviz-theme-")]
    keep = [c for c in classes if not c.startswith("tcpviz-theme-")]
    empty = not root.text and not len(root)
    append(_slot_tag("svg", attributes, keep, empty)[1])
    if not empty:
        if root.text:
            append(_escape_text(root.text))
        for child in root:
            visit(child, ())
        append("</svg>")
    if root.tail:
        append(_escape_text(root.tail))
    if not careful:
        written = "".join(unchecked)
        if _SPECIAL_IN_WRITTEN.search(written) or written.count('"') != 2 * counted[0]:
            return None  # a value to escape, or a namespaced name: write again, carefully
    fine.append("".join(buffer))
    # ElementTree declares the namespaces used, sorted by prefix, before the attributes.
    declared = [("xmlns", _escape_attribute(_SVG_NS))]
    if xlink[0]:
        declared.append(("xmlns:xlink", _escape_attribute(_XLINK_NS)))
    fine[0] = _slot_tag("svg", declared + attributes, keep, empty)[0]
    template = _assemble(fine, fine_slots, themes[-1] if themes else "", owners, shapes)
    return "".join(fine), template


def _classes_of(attributes: Iterable[tuple[str, str]]) -> list[str]:
    """The classes in a tag's attributes, as written."""
    for name, value in attributes:
        if name == "class":
            return value.split()
    return []
