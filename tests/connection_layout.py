"""What the connection widget's browser tests measure of its layout: nothing clipped, nothing
to scroll inside a panel.

The widget is one fixed height; each end's panel, the segments in flight and the controls must
hold what they show at every step, at the widths a classroom has (900 px: JupyterLab at
1280x800 with the file browser open; 1024x768; 1280x800). Only the ladder scrolls (the page
keeps the moment in view) and each end's diagram is a zoomed window on purpose.
"""

from __future__ import annotations

import json
from typing import Any

from tcpviz.teach.connection_scenarios import CONNECTION_SCENARIOS

#: (width, height) of the viewports the layout is measured at.
VIEWPORTS = ((900, 800), (1024, 768), (1280, 800))

#: For each panel, what sticks out of its visible box (the box inside its border), and whether
#: it scrolls; [] when everything fits.
CLIPPED_JS = """
() => {
  const problems = [];
  const panels = document.querySelectorAll(
    ".tcpviz-conn .tvc-end, .tcpviz-conn .tvc-wire, .tcpviz-conn .tvc-controls");
  for (const panel of panels) {
    const name = panel.dataset.testid || panel.className.replace("tvc-", "");
    if (panel.scrollHeight > panel.clientHeight + 1 || panel.scrollWidth > panel.clientWidth + 1)
      problems.push(`${name} scrolls: ${panel.scrollWidth}x${panel.scrollHeight} in ` +
        `${panel.clientWidth}x${panel.clientHeight}`);
    const box = panel.getBoundingClientRect();
    const left = box.left + panel.clientLeft, top = box.top + panel.clientTop;
    const right = left + panel.clientWidth, bottom = top + panel.clientHeight;
    // The TCB's names and values, every button and menu, every line of text, every card.
    const parts = panel.querySelectorAll(
      "dt, dd, button, select, p, h3, .tvc-card, .tvc-end-head, .tvc-end-name, .tvc-state");
    for (const el of parts) {
      if (!el.offsetParent) continue; // not shown (a replay hides its calls)
      const r = el.getBoundingClientRect();
      if (!r.width || !r.height) continue;
      if (r.left < left - 0.5 || r.right > right + 0.5 || r.top < top - 0.5 || r.bottom > bottom + 0.5)
        problems.push(`${name}: ${el.tagName.toLowerCase()} ` +
          `${JSON.stringify((el.dataset.testid || el.textContent).slice(0, 40))} at ` +
          `${Math.round(r.left)}..${Math.round(r.right)} x ${Math.round(r.top)}..` +
          `${Math.round(r.bottom)}, outside ${Math.round(left)}..${Math.round(right)} x ` +
          `${Math.round(top)}..${Math.round(bottom)}`);
    }
  }
  // Each end's zoom button: off its diagram, so it hides none of the diagram's labels.
  for (const panel of document.querySelectorAll(".tcpviz-conn .tvc-end")) {
    const zoom = panel.querySelector(".tvc-zoom");
    const view = panel.querySelector(".tvc-diagram");
    if (!zoom || !view || !zoom.offsetParent) continue;
    const z = zoom.getBoundingClientRect(), v = view.getBoundingClientRect();
    const meets = (r) => r.left < z.right && z.left < r.right && r.top < z.bottom && z.top < r.bottom;
    const name = panel.dataset.testid;
    if (meets(v)) problems.push(`${name}: the zoom button lies on the diagram`);
    for (const t of view.querySelectorAll("svg text")) {
      // What is shown of the text: the diagram is a scrolled window, the rest is hidden.
      const b = t.getBoundingClientRect();
      const r = { left: Math.max(b.left, v.left), right: Math.min(b.right, v.right),
                  top: Math.max(b.top, v.top), bottom: Math.min(b.bottom, v.bottom) };
      if (r.left < r.right && r.top < r.bottom && meets(r))
        problems.push(`${name}: the zoom button covers ${JSON.stringify(t.textContent)}`);
    }
  }
  const shown = (sel) => [...document.querySelectorAll(sel)].filter((e) => e.offsetParent).length;
  return { problems, tcb: shown(".tvc-tcb dt"), history: shown('[data-testid="history"]') };
}
"""


def assert_nothing_clipped(page: Any, where: str) -> None:
    """Fail, naming every part that sticks out of its panel, if anything does."""
    m = page.evaluate(CLIPPED_JS)
    assert m["problems"] == [], f"{where}: {json.dumps(m['problems'], indent=1)}"
    assert m["tcb"] >= 8 and m["history"] == 1, f"{where}: TCB rows or history menu not shown"


#: The start of a measuring function's body: ``px(el)``, an SVG text's size as shown (CSS px),
#: and ``visible(el)``, whether it lies in view inside its ladder pane or diagram.
SHOWN_TEXT_JS = """
  const px = (el) => {
    const svg = el.ownerSVGElement;
    const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
    return parseFloat(el.getAttribute("font-size")) * scale;
  };
  const visible = (el) => {
    const r = el.getBoundingClientRect();
    const pane = el.closest(".tvc-ladder-pane, .tvc-diagram").getBoundingClientRect();
    return r.width > 0 && r.bottom > pane.top && r.top < pane.bottom &&
      r.right > pane.left && r.left < pane.right;
  };"""


#: The size each text of the ladder is shown at (CSS px): its font size times the ladder's scale
#: (the pane scales the ladder down to its width), for every text, in view or not.
LADDER_TEXT_JS = """
() => {
  const svg = document.querySelector(".tcpviz-conn .tvc-ladder svg");
  const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
  return [...svg.querySelectorAll("text")].map(
    (t) => parseFloat(t.getAttribute("font-size")) * scale);
}
"""


def assert_ladder_legible(page: Any, where: str) -> float:
    """Fail unless every text of the ladder is shown at 12 CSS px or more (issue 6); the
    smallest size, for the report."""
    sizes = page.evaluate(LADDER_TEXT_JS)
    assert sizes, f"{where}: no text in the ladder"
    assert min(sizes) >= 12.0, f"{where}: ladder text at {min(sizes):.2f} px (at least 12)"
    return float(min(sizes))


def widget_recording(name: str) -> dict[str, Any]:
    """Every position of connection scenario ``name`` as the notebook widget shows it (each
    end's call buttons, each card's deliver / drop / duplicate, the clock's advance button,
    the scenario menu), in the shape of a recording, so that the standalone page's code can
    step through it without a kernel. The layout is measured on it."""
    from tcpviz.web.connection_widget import ConnectionView

    view = ConnectionView(theme="light")
    view.play(name)
    recording = view.recording()
    positions = []
    for _ in range(len(view.scenario.steps) + 1):  # bounded: one position per step
        p = view.position(lookahead=False)
        p.pop("next", None)
        positions.append(p)
        if p["can_redo"]:
            view.act("redo")
    recording["positions"] = positions
    recording["scenarios"] = [
        {"name": s.name, "title": s.title} for s in CONNECTION_SCENARIOS.values()
    ]
    view.close()
    return recording
