"""Legible from the back row (DESIGN.md, decision 8), measured in a real Chromium.

Every check reads rendered boxes (``getBoundingClientRect``) and computed font sizes, many
at once in one ``page.evaluate``:

- in every static export and every highlighted state and scenario path, classic and
  extended: no arrow label's box overlaps another's, every state name sits inside its own box
  (bold and centred when current), nothing is clipped by the SVG's bounds;
- on the standalone page at 1024x768 and in JupyterLab at 1280x800 with the file browser open
  (and at 1024x768 with it closed): arrow labels at least 12 CSS px (10 px for the rows beyond
  Figure 5), state names at least 16 px; the description and the event buttons visible without
  scrolling once the widget's top is at the top of the window; one widget height while stepping.

Screenshots go to ``test-artifacts/<test>/`` for a reviewer to look at.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_support import (
    WAIT_MS,
    Expected,
    artifact_path,
    code_notebook,
    jupyterlab,
    launch_options,
    wait_for_connected_kernel,
)
from playwright import sync_api

from tcpviz import Machine, tcp_table
from tcpviz.diagrams import SLIDES
from tcpviz.drawing import Diagram
from tcpviz.teach.scenarios import SCENARIOS
from tcpviz.web.html import save_html

pytestmark = pytest.mark.browser

LABEL_PX = 12.0  # arrow labels of Figure 5
ROW_LABEL_PX = 10.0  # the rows beyond it (section 3.10), and the band naming them
STATE_PX = 16.0
TOLERANCE = 0.5  # CSS px: rounding of glyph boxes, not a real overlap

# Every label's box (the union of its lines), every state name's box and the box it sits in,
# each font size in CSS px (the font size times the SVG's scale on the page).
MEASURE_JS = """
(root) => {
  const svg = root.querySelector("svg.tcpviz-diagram") || root.querySelector("svg");
  const rect = (r) => ({ left: r.left, top: r.top, right: r.right, bottom: r.bottom });
  const frame = rect(svg.getBoundingClientRect());
  const scale = svg.getScreenCTM().a;
  const shown = (el) => {
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== "hidden";
  };
  const px = (t) => parseFloat(getComputedStyle(t).fontSize) * scale;
  const bold = (t) => Number(getComputedStyle(t).fontWeight) >= 600;
  const labels = [];
  for (const g of svg.querySelectorAll("g.edge")) {
    const texts = [...g.querySelectorAll("text")].filter(shown);
    if (!texts.length) continue;
    const rs = texts.map((t) => t.getBoundingClientRect());
    labels.push({
      id: g.id,
      row: g.classList.contains("extended"),
      bold: texts.some(bold),
      px: Math.min(...texts.map(px)),
      box: {
        left: Math.min(...rs.map((r) => r.left)), top: Math.min(...rs.map((r) => r.top)),
        right: Math.max(...rs.map((r) => r.right)), bottom: Math.max(...rs.map((r) => r.bottom)),
      },
    });
  }
  const band = [...svg.querySelectorAll("text.tcpviz-band")].filter(shown);
  if (band.length) {
    const rs = band.map((t) => t.getBoundingClientRect());
    labels.push({
      id: "band", row: true, bold: false, px: Math.min(...band.map(px)),
      box: {
        left: Math.min(...rs.map((r) => r.left)), top: Math.min(...rs.map((r) => r.top)),
        right: Math.max(...rs.map((r) => r.right)), bottom: Math.max(...rs.map((r) => r.bottom)),
      },
    });
  }
  const states = [];
  for (const g of svg.querySelectorAll("g.node")) {
    const boxes = [...g.querySelectorAll("path, polygon, ellipse")]
      .filter((b) => !b.classList.contains("tv-hit") && shown(b))
      .map((b) => rect(b.getBoundingClientRect()));
    for (const t of g.querySelectorAll("text")) {
      const r = rect(t.getBoundingClientRect());
      const cx = (r.left + r.right) / 2, cy = (r.top + r.bottom) / 2;
      const box = boxes.find((b) => b.left <= cx && cx <= b.right && b.top <= cy && cy <= b.bottom) || null;
      states.push({ id: g.id, name: t.textContent, px: px(t), bold: bold(t), text: r, box });
    }
  }
  return { frame, scale, labels, states };
}
"""


def overlap(a: dict, b: dict) -> bool:
    return (
        min(a["right"], b["right"]) - max(a["left"], b["left"]) > TOLERANCE
        and min(a["bottom"], b["bottom"]) - max(a["top"], b["top"]) > TOLERANCE
    )


def inside(inner: dict, outer: dict, margin: float = TOLERANCE) -> bool:
    return (
        inner["left"] >= outer["left"] - margin
        and inner["right"] <= outer["right"] + margin
        and inner["top"] >= outer["top"] - margin
        and inner["bottom"] <= outer["bottom"] + margin
    )


def problems(m: dict, *, sizes: bool = True, overlaps: bool = True) -> list[str]:
    """What is wrong with one measured diagram (empty when it is legible)."""
    found = []
    if overlaps:
        for a, b in itertools.combinations(m["labels"], 2):
            if overlap(a["box"], b["box"]):
                found.append(f"labels overlap: {a['id']} and {b['id']}")
    for label in m["labels"]:
        if not inside(label["box"], m["frame"]):
            found.append(f"label clipped by the SVG's bounds: {label['id']}")
        least = ROW_LABEL_PX if label["row"] else LABEL_PX
        if sizes and label["px"] < least:
            found.append(f"label {label['id']} is {label['px']:.1f} px (< {least})")
    for state in m["states"]:
        box = state["box"]
        if box is None or not inside(state["text"], box):
            found.append(f"state name {state['name']!r} is not inside its box")
            continue
        if not inside(box, m["frame"]):
            found.append(f"state box {state['name']!r} clipped by the SVG's bounds")
        centre = (state["text"]["left"] + state["text"]["right"]) / 2
        if abs(centre - (box["left"] + box["right"]) / 2) > 1.0:
            found.append(f"state name {state['name']!r} is off-centre")
        if sizes and state["px"] < STATE_PX:
            found.append(f"state name {state['name']!r} is {state['px']:.1f} px (< {STATE_PX})")
    return found


def smallest(m: dict) -> tuple[float, float, float]:
    """The smallest Figure 5 label, row label and state name, in CSS px."""
    figure = [label["px"] for label in m["labels"] if not label["row"]]
    rows = [label["px"] for label in m["labels"] if label["row"]]
    return (
        min(figure, default=float("inf")),
        min(rows, default=float("inf")),
        min(state["px"] for state in m["states"]),
    )


# -- the browser --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    options = launch_options()  # skips (or fails under CI) without the browser
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(**options)
        try:
            yield browser
        finally:
            browser.close()


def new_tab(chromium, width: int, height: int):
    context = chromium.new_context(viewport={"width": width, "height": height})
    context.set_default_timeout(WAIT_MS)
    return context, context.new_page()


# -- every export, every highlight ----------------------------------------------------------------


def highlighted(extended: bool) -> dict[str, Diagram]:
    """Every highlight a diagram can carry, by name: each state current, each transition just
    taken (its label bold), every step of every scenario, and the slides of diagrams/."""
    table = tcp_table(extended)
    cases: dict[str, Diagram] = {"plain": Diagram(table)}
    for state in table.states:
        cases[f"at {state}"] = Diagram(table, state=state)
    for t in table.transitions:
        cases[f"after {t.source} {t.event}"] = Diagram(
            table, state=t.target, last=t, visited=[t.source]
        )
    for scenario in SCENARIOS.values():
        if scenario.extended and not extended:
            continue
        machine = Machine(table, state=scenario.start)
        for number, step in enumerate(scenario.steps, 1):
            machine.fire(step.event)
            cases[f"{scenario.name} step {number}"] = Diagram.from_machine(machine)
    # The state-diagram slides (the ladders in diagrams/ are another kind of picture).
    for slide in SLIDES:
        drawn = slide.diagram()
        if isinstance(drawn, Diagram) and drawn.table == table:
            cases[slide.file] = drawn
    return cases


@pytest.mark.parametrize("extended", [False, True], ids=["classic", "extended"])
def test_every_export_and_highlight_is_legible(chromium, extended, request) -> None:
    """Static SVG exports, at their own size: no overlaps, names in their boxes, no clipping,
    bold included (sizes on a page are the next tests' business)."""
    cases = highlighted(extended)
    files = {name: d.pipe("svg").decode("utf-8") for name, d in cases.items()}
    context, page = new_tab(chromium, 1400, 1000)
    try:
        page.set_content("<!DOCTYPE html><html><body style='margin:0'></body></html>")
        measured = page.evaluate(
            f"""(files) => {{
                const measure = {MEASURE_JS};
                const out = {{}};
                for (const [name, svg] of Object.entries(files)) {{
                    document.body.innerHTML = svg.replace(/^<\\?xml[^>]*>/, "");
                    out[name] = measure(document.body);
                }}
                return out;
            }}""",
            files,
        )
        page.evaluate(
            "(svg) => { document.body.innerHTML = svg.replace(/^<\\?xml[^>]*>/, ''); }",
            files["at ESTABLISHED"],
        )
        page.screenshot(path=artifact_path(request.node.name, "at-ESTABLISHED"), full_page=True)
        # The full set of rows, one toggle away: clipped by nothing (their labels may meet:
        # that is why they are shown one state at a time).
        full = (
            cases["plain"]
            .pipe("svg")
            .decode("utf-8")
            .replace('class="tcpviz-diagram', 'class="tcpviz-diagram tcpviz-all-rows', 1)
        )
        page.evaluate(
            "(svg) => { document.body.innerHTML = svg.replace(/^<\\?xml[^>]*>/, ''); }", full
        )
        all_rows = page.evaluate(f"() => ({MEASURE_JS})(document.body)")
        if extended:
            page.screenshot(path=artifact_path(request.node.name, "all-rows"), full_page=True)
    finally:
        context.close()
    found = {name: problems(m, sizes=False) for name, m in measured.items()}
    found = {name: p for name, p in found.items() if p}
    assert not found, "\n".join(f"{name}: {p}" for name, p in found.items())
    assert not problems(all_rows, sizes=False, overlaps=False)
    # Bold was really measured: the current state's name and the last label are bold.
    assert any(s["bold"] for s in measured["at ESTABLISHED"]["states"])
    assert any(label["bold"] for label in measured["after SYN-SENT rcv SYN,ACK"]["labels"])
    # And both of CLOSED's boxes light up as one state.
    closed = [s for s in measured["at CLOSED"]["states"] if s["name"] == "CLOSED"]
    assert len(closed) == 2 and all(s["bold"] for s in closed)


# -- the standalone page at projector size ----------------------------------------------------------

WIDGET_JS = """
(root) => {
  const r = (el) => { const b = el.getBoundingClientRect(); return { top: b.top, bottom: b.bottom }; };
  const buttons = [...root.querySelectorAll('[data-testid="event-button"]')].filter((b) => !b.hidden);
  return {
    widget: r(root),
    description: r(root.querySelector('[data-testid="description"]')),
    buttons: buttons.map(r),
    window: innerHeight,
  };
}
"""

# A path through every state of the classic machine: handshake, close, simultaneous ones.
TOUR = [
    "passive open",
    "rcv SYN",
    "rcv ACK of SYN",
    "rcv FIN",
    "CLOSE",
    "rcv ACK of FIN",
    "active open",
    "rcv SYN",
    "rcv ACK of SYN",
    "CLOSE",
    "rcv FIN",
    "rcv ACK of FIN",
    "timeout 2MSL",
    "active open",
    "rcv SYN,ACK",
    "CLOSE",
    "rcv ACK of FIN",
    "rcv FIN",
]


def step_and_measure(page, root, table, events, request, shots: set[str]) -> list[dict]:
    """Click ``events`` one by one; after each, measure the diagram and the widget."""
    expected = Expected(table)
    results = []
    for event in [None, *events]:
        if event is not None:
            edge = expected.fire(event)
            root.locator(f'[data-testid="event-button"][data-edge="{edge}"]').click()
        page.wait_for_function(
            "([el, id]) => el.querySelector(`g[id='${id}']`)?.classList.contains('current')",
            arg=[root.element_handle(), expected.state_id],
            timeout=WAIT_MS,
        )
        page.wait_for_function(  # the widget's own (JupyterLab animates things of its own)
            "(el) => el.getAnimations({ subtree: true }).every((a) => a.playState !== 'running')",
            arg=root.element_handle(),
            timeout=WAIT_MS,
        )
        # The widget's top at the window's top, as a teacher scrolls it.
        root.evaluate("(el) => el.scrollIntoView({ block: 'start' })")
        m = root.evaluate(MEASURE_JS)
        m["widget"] = root.evaluate(WIDGET_JS)
        m["state"] = expected.machine.state
        results.append(m)
        if expected.machine.state in shots:
            shots.discard(expected.machine.state)
            page.screenshot(path=artifact_path(request.node.name, expected.machine.state))
    return results


def widget_problems(results: list[dict]) -> list[str]:
    found = []
    heights = {
        round(m["widget"]["widget"]["bottom"] - m["widget"]["widget"]["top"]) for m in results
    }
    if len(heights) != 1:
        found.append(f"the widget changes height while stepping: {sorted(heights)} px")
    for m in results:
        w = m["widget"]
        below = [
            b for b in [w["description"], *w["buttons"]] if b["bottom"] > w["window"] + TOLERANCE
        ]
        if below:
            found.append(f"in {m['state']}: description or event buttons below the fold")
        found.extend(f"in {m['state']}: {p}" for p in problems(m))
    return found


@pytest.mark.parametrize("extended", [False, True], ids=["classic", "extended"])
def test_standalone_page_at_1024x768(chromium, tmp_path: Path, extended, request) -> None:
    table = tcp_table(extended)
    path = save_html(tmp_path / "tcp.html", extended=extended, theme="light")
    context, page = new_tab(chromium, 1024, 768)
    try:
        page.goto(path.as_uri())
        root = page.locator(".tcpviz-widget")
        root.wait_for()
        events = TOUR if not extended else [*TOUR[:3], "rcv RST", "active open", "ABORT"]
        shots = {"ESTABLISHED", "TIME-WAIT"}
        results = step_and_measure(page, root, table, events, request, shots)
    finally:
        context.close()
    print(
        f"1024x768 standalone {'extended' if extended else 'classic'}: smallest (label, row label,"
        f" state) px = {min(smallest(m) for m in results)}"
    )
    found = widget_problems(results)
    assert not found, found


# -- JupyterLab ---------------------------------------------------------------------------------------

NOTEBOOK = """\
from tcpviz import Diagram, TCPWidget
display(Diagram(state="ESTABLISHED"))
TCPWidget(theme="light")
"""

# A static Diagram's output: its width against the output area's, and the colour of its
# background as drawn (the auto theme reads JupyterLab's variables).
STATIC_JS = """
() => {
  const svg = document.querySelector(".jp-OutputArea-output .tcpviz-static svg");
  const area = svg.closest(".jp-OutputArea-output").getBoundingClientRect();
  const background = svg.querySelector("polygon.tcpviz-background");
  return {
    width: svg.getBoundingClientRect().width,
    area: area.width,
    fill: getComputedStyle(background).fill,
    page: getComputedStyle(document.body).getPropertyValue("--jp-layout-color0").trim(),
  };
}
"""


def run_widget_notebook(page, url: str, name: str) -> object:
    page.goto(f"{url}lab/tree/{name}", timeout=60_000)
    cell = page.locator(".jp-Notebook .jp-Cell").first
    cell.wait_for(timeout=60_000)
    wait_for_connected_kernel(url)
    cell.locator(".jp-InputArea-editor").click()
    page.keyboard.press("Shift+Enter")
    root = page.locator(".tcpviz-widget")
    root.wait_for(timeout=30_000)
    try:
        root.locator("svg g.node.current").wait_for(timeout=30_000)  # a cold kernel
    finally:
        page.screenshot(path=artifact_path("test_jupyterlab_at_projector_sizes", "started"))
    return root


def test_jupyterlab_at_projector_sizes(chromium, tmp_path: Path, request) -> None:
    """1280x800 with the file browser open, 1024x768 with it closed."""
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    code_notebook(notebooks / "legible.ipynb", NOTEBOOK)
    summary = {}
    with jupyterlab(notebooks, tmp_path) as url:
        context, page = new_tab(chromium, 1280, 800)
        try:
            root = run_widget_notebook(page, url, "legible.ipynb")
            static = page.evaluate(STATIC_JS)
            browser_open = page.locator("#filebrowser").is_visible()
            if not browser_open:
                page.locator(
                    '.jp-SideBar.jp-mod-left .lm-TabBar-tab[data-id="filebrowser"]'
                ).click()
                page.locator("#filebrowser").wait_for(state="visible")
            big = step_and_measure(
                page, root, tcp_table(), TOUR[:6], request, {"CLOSED", "ESTABLISHED"}
            )
            page.set_viewport_size({"width": 1024, "height": 768})
            # Clicking the open side-bar tab closes the file browser.
            page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab.lm-mod-current").click()
            page.locator("#filebrowser").wait_for(state="hidden")
            small = step_and_measure(page, root, tcp_table(), TOUR[6:12], request, {"FIN-WAIT-1"})
        finally:
            context.close()
    summary["1280x800, file browser open"] = min(smallest(m) for m in big)
    summary["1024x768, file browser closed"] = min(smallest(m) for m in small)
    print(f"JupyterLab smallest (label, row label, state) px: {summary}")
    found = widget_problems(big) + widget_problems(small)
    assert not found, found
    # The static diagram fits the output (it once rendered 1253 px wide and was cut off), and
    # is drawn in the page's own background colour (white here: JupyterLab Light).
    assert static["width"] <= static["area"] + TOLERANCE, static
    assert static["fill"] in {"rgb(255, 255, 255)", "#ffffff"}, static


# -- the presentation view ---------------------------------------------------------------------------


def test_present_zoom_and_all_rows(chromium, tmp_path: Path, request) -> None:
    """Present fills the screen (the diagram grows), − and + size it, All rows shows every
    row beyond Figure 5 and hides them again."""
    path = save_html(tmp_path / "tcp.html", extended=True, theme="light")
    context, page = new_tab(chromium, 1024, 768)
    try:
        page.goto(path.as_uri())
        root = page.locator(".tcpviz-widget")
        root.wait_for()
        rows = "(el) => [...el.querySelectorAll('svg g.edge.extended')].filter((g) => g.getBoundingClientRect().width > 0).length"
        assert root.evaluate(rows) == 0  # CLOSED: no row leaves it
        root.locator('[data-testid="all-rows"]').check()
        assert root.evaluate(rows) == 26
        page.screenshot(path=artifact_path(request.node.name, "all-rows"))
        root.locator('[data-testid="all-rows"]').uncheck()
        assert root.evaluate(rows) == 0

        before = smallest(root.evaluate(MEASURE_JS))
        width = root.evaluate("(el) => el.querySelector('svg').getBoundingClientRect().width")
        root.locator('[data-testid="zoom-in"]').click()
        wider = root.evaluate("(el) => el.querySelector('svg').getBoundingClientRect().width")
        assert wider == pytest.approx(1.25 * width, rel=0.02)
        root.locator('[data-testid="zoom-out"]').click()
        root.locator('[data-testid="zoom-out"]').click()
        assert root.evaluate("(el) => el.querySelector('output').textContent") == "75%"
        root.locator('[data-testid="zoom-in"]').click()

        root.locator('[data-testid="present"]').click()
        page.wait_for_function("() => document.fullscreenElement !== null", timeout=WAIT_MS)
        # The page sets aria-pressed from its fullscreenchange handler, which Chromium runs at
        # the next animation frame after fullscreenElement changes: wait for it, do not race it.
        present = root.locator('[data-testid="present"]')
        page.wait_for_function(
            "(b) => b.getAttribute('aria-pressed') === 'true'",
            arg=present.element_handle(),
            timeout=WAIT_MS,
        )
        presented = root.evaluate(MEASURE_JS)
        page.screenshot(path=artifact_path(request.node.name, "presented"))
        assert smallest(presented)[2] >= before[2]  # at least as large as in the page
        assert not problems(presented)
        present.click()
        page.wait_for_function("() => document.fullscreenElement === null", timeout=WAIT_MS)
        page.wait_for_function(
            "(b) => b.getAttribute('aria-pressed') === 'false'",
            arg=present.element_handle(),
            timeout=WAIT_MS,
        )
    finally:
        context.close()


def test_static_diagram_follows_voila_dark_theme(chromium, tmp_path: Path) -> None:
    """No white slab in a dark front end: the auto theme reads its colours."""
    from browser_support import voila

    path = code_notebook(
        tmp_path / "static.ipynb", 'from tcpviz import Diagram\nDiagram(state="LISTEN")'
    )
    with voila(path, tmp_path, theme="dark") as url:
        context, page = new_tab(chromium, 1024, 768)
        try:
            page.goto(url, timeout=60_000)
            svg = page.locator(".tcpviz-static svg")
            svg.wait_for(timeout=60_000)
            fill = svg.evaluate(
                "(s) => getComputedStyle(s.querySelector('polygon.tcpviz-background')).fill"
            )
            width = svg.evaluate("(s) => s.getBoundingClientRect().width")
        finally:
            context.close()
    red, green, blue = (int(v) for v in fill.removeprefix("rgb(").removesuffix(")").split(","))
    assert max(red, green, blue) < 80, fill  # dark, as Voila's dark theme
    assert width <= 1024
