"""A static picture of a widget where its JavaScript cannot run.

A notebook exported with nbconvert, shown on GitHub or put on a static site has no widget
manager: the widget's view there is blank. :func:`snapshot_bundle` gives the widget's mimebundle
a ``text/html`` entry beside the widget view: the diagram as it stood when the widget was shown
(current state, last transition and history marked, colours written into the SVG so no style
sheet is needed) with a one-line caption. Front ends that run widgets prefer the widget view
and never show it.

>>> from tcpviz import Machine
>>> m = Machine()
>>> _ = m.fire("passive open")
>>> html = snapshot_bundle(m)["text/html"]
>>> 'class="tcpviz-snapshot"' in html, "LISTEN" in html, html.startswith("<?xml")
(True, True, False)
"""

from __future__ import annotations

import html
import re

from ..drawing.diagram import Diagram
from ..model.machine import Machine

__all__ = ["snapshot_bundle", "snapshot_html"]

# The XML declaration and DOCTYPE of a standalone SVG file, which inline HTML must not have.
_PROLOG = re.compile(r"\A\s*(<\?xml[^>]*\?>\s*)?(<!DOCTYPE[^>]*>\s*)?")


def snapshot_html(machine: Machine) -> str:
    """The diagram of ``machine`` where it stands, as inline HTML with a caption."""
    svg = Diagram.from_machine(machine, theme="light").pipe("svg").decode("utf-8")
    svg = _PROLOG.sub("", svg, count=1)
    steps = len(machine.history)
    last = machine.last
    caption = f"{machine.state}"
    if last is not None:
        caption += f", after {steps} step{'s' if steps != 1 else ''} (last: {last.label})"
    return (
        '<figure class="tcpviz-snapshot" style="margin:0;max-width:100%;overflow-x:auto">'
        f"{svg}"
        '<figcaption style="font:14px sans-serif">'
        f"tcpviz state diagram, a still picture: {html.escape(caption)}. "
        "Run the notebook to use the interactive widget."
        "</figcaption></figure>"
    )


def snapshot_bundle(machine: Machine) -> dict[str, str]:
    """The mimebundle entries of the still picture (to add beside a widget's view)."""
    return {"text/html": snapshot_html(machine)}
