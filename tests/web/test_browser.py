"""The diagram in a real headless Chromium: the standalone page, and the widget in Voila and JupyterLab.

Each test clicks (or types) what a student would and, after every step, reads the page and
compares it with a Python :class:`~tcpviz.model.machine.Machine` on the same table: the lit state is
the one ``<g id="state_...">`` with class ``current``, the arrow just taken is the one with
class ``last``, the description is the table's, the event buttons are exactly the enabled
events, and no error is shown. In a notebook the widget's Python side must agree as well.

Screenshots of key steps go to ``test-artifacts/<test>/`` (git-ignored) for a human to look at.
"""

from __future__ import annotations

import re
import time
import urllib.error
import urllib.request
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
    voila,
    wait_for_connected_kernel,
)
from playwright import sync_api

from tcpviz import DESCRIPTIONS, tcp_table
from tcpviz.web.html import save_html
from tcpviz.web.payload import narration

pytestmark = pytest.mark.browser


VIEWPORT = {"width": 1400, "height": 1000}

# One read of everything a step changes, taken at once so that the parts agree.
SNAPSHOT_JS = """
(root) => {
  const text = (id) => {
    const el = root.querySelector(`[data-testid="${id}"]`);
    return el ? el.textContent : null;
  };
  const ids = (selector) => [...root.querySelectorAll(selector)].map((el) => el.id);
  const error = root.querySelector('[data-testid="error"]');
  const errorShown = error && !error.closest("[hidden]");
  return {
    current: ids("svg .current"),
    aria_current: ids('svg [aria-current="true"]'),
    last: ids("svg .last"),
    state: text("state-name"),
    description: text("description"),
    last_step: text("last-step"),
    buttons: [...root.querySelectorAll('[data-testid="event-button"]')]
      .filter((b) => !b.disabled && !b.hidden)
      .map((b) => b.dataset.edge)
      .sort(),
    error: errorShown ? error.textContent : "",
  };
}
"""

# The client opens (three-way handshake, client side) and closes first (active close).
CLIENT = ["active open", "rcv SYN,ACK", "CLOSE", "rcv ACK of FIN", "rcv FIN", "timeout 2MSL"]
# The server listens, accepts (server side) and closes second (passive close).
SERVER = ["passive open", "rcv SYN", "rcv ACK of SYN", "rcv FIN", "CLOSE", "rcv ACK of FIN"]
# The states where a screenshot is worth keeping.
KEY_STATES = {"SYN-SENT", "SYN-RECEIVED", "ESTABLISHED", "TIME-WAIT", "CLOSE-WAIT", "LAST-ACK"}


# -- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    """Debian's Chromium, headless, shared by the tests of this module."""
    options = launch_options()  # skips (or fails under CI) without the browser
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(**options)
        try:
            yield browser
        finally:
            browser.close()


# Not named `browser` and `page`: pytest-playwright (installed with the test extras) would
# parametrize tests using those names with its own session-wide browser.
@pytest.fixture
def tab(chromium) -> Iterator[object]:
    """A fresh page; script errors that may come from tcpviz fail the test."""
    context = chromium.new_context(viewport=VIEWPORT)
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    problems: list[tuple[str, str, str]] = []  # (kind, page URL, text)
    page.on("pageerror", lambda error: problems.append(("page error", page.url, str(error))))
    page.on(
        "console",
        lambda message: (
            problems.append(("console error", page.url, message.text))
            if message.type == "error"
            else None
        ),
    )
    try:
        yield page
    finally:
        context.close()
    ours = [f"{kind}: {text}" for kind, url, text in problems if _ours(kind, url, text)]
    assert not ours, f"errors in the page: {ours}"


def _ours(kind: str, url: str, text: str) -> bool:
    """Whether an error may come from tcpviz.

    On the standalone page every error is ours. Jupyter's pages log errors of their own that no
    widget can cause (a resource that does not load offline, a JupyterLab extension that does
    not fit Voila's version); there only uncaught exceptions and messages naming tcpviz or
    anywidget count.
    """
    if url.startswith("file:"):
        return True
    if kind == "page error":
        return True
    return any(word in text for word in ("tcpviz", "anywidget", "widget.js", "TCPWidget"))


# -- reading the page -------------------------------------------------------------------------


def expected_snapshot(expected: Expected) -> dict[str, object]:
    machine = expected.machine
    last = machine.last
    return {
        "current": [expected.state_id],
        "aria_current": [expected.state_id],
        "last": [expected.last_edge] if last is not None else [],
        "state": machine.state,
        "description": DESCRIPTIONS[machine.state],
        "last_step": narration(expected.table, last) if last else "Nothing has happened yet.",
        "buttons": sorted(expected.enabled_edges),
        "error": "",
    }


def assert_shows(root, expected: Expected, *, timeout_ms: int = WAIT_MS) -> dict[str, object]:
    """Wait (bounded) until the widget under ``root`` shows what ``expected`` says; then return
    the snapshot. On time-out, fail with the difference."""
    want = expected_snapshot(expected)
    seen = snapshot_when(root, lambda seen: seen == want, timeout_ms=timeout_ms)
    assert seen == want
    return seen


#: Resolves once two animation frames have passed, so everything the page batched is painted.
TWO_FRAMES_JS = (
    "() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))"
)


def snapshot_when(root, ready, *, timeout_ms: int = WAIT_MS) -> dict[str, object]:
    """The widget's snapshot once ``ready(snapshot)`` holds, or the last one at the (bounded)
    deadline: the page paints in the next animation frame, not within the click."""
    deadline = time.monotonic() + timeout_ms / 1000
    while True:  # bounded by the deadline
        seen = root.evaluate(SNAPSHOT_JS)
        if ready(seen) or time.monotonic() > deadline:
            return seen
        time.sleep(0.05)


def click_event(root, edge: str) -> None:
    root.locator(f'[data-testid="event-button"][data-edge="{edge}"]').click()


def shoot(page, request: pytest.FixtureRequest, step: str) -> None:
    """Save a screenshot once the arrow animation of the last step has finished."""
    page.wait_for_function(
        "() => document.getAnimations().every((a) => a.playState !== 'running')",
        timeout=WAIT_MS,
    )
    page.screenshot(path=artifact_path(request.node.name, step), full_page=True)


# -- the standalone page ----------------------------------------------------------------------


@pytest.fixture
def standalone(tab, tmp_path: Path):
    """The standalone tab of the classic table, opened from file://; yields its widget root."""
    path = save_html(tmp_path / "tcp.html", theme="light")
    tab.goto(path.as_uri())
    root = tab.locator(".tcpviz-widget")
    root.wait_for()
    return root


@pytest.mark.parametrize(
    "events", [CLIENT, SERVER], ids=["client-active-close", "server-passive-close"]
)
def test_standalone_click_through_handshake_and_close(tab, standalone, events, request) -> None:
    expected = Expected(tcp_table())
    assert_shows(standalone, expected)
    for event in events:
        edge = expected.fire(event)
        click_event(standalone, edge)
        assert_shows(standalone, expected)
        if expected.machine.state in KEY_STATES:
            shoot(tab, request, expected.machine.state)
    assert expected.machine.state == "CLOSED"
    # The history lists every step, oldest first, and marks where we are.
    items = standalone.locator('[data-testid="history-item"]')
    assert items.count() == len(events)
    assert items.last.get_attribute("aria-current") == "step"


def test_standalone_undo_redo_and_history_jump(tab, standalone, request) -> None:
    expected = Expected(tcp_table())
    for event in SERVER[:3]:
        click_event(standalone, expected.fire(event))
    assert_shows(standalone, expected)

    undo = standalone.locator('[data-testid="undo"]')
    redo = standalone.locator('[data-testid="redo"]')
    assert redo.is_disabled()
    undo.click()
    expected.machine.undo()
    assert_shows(standalone, expected)
    undo.click()
    expected.machine.undo()
    assert_shows(standalone, expected)
    assert standalone.locator('[data-testid="history-future"]').count() == 2
    shoot(tab, request, "after-two-undos")
    redo.click()
    expected.machine.redo()
    assert_shows(standalone, expected)

    # Jump to the start, then forward to the last step, through the history list.
    standalone.locator('[data-testid="history-start"]').click()
    expected.machine.jump(0)
    assert_shows(standalone, expected)
    assert undo.is_disabled() and redo.is_enabled()
    standalone.locator('[data-testid="history-future"][data-index="3"]').click()
    expected.machine.jump(3)
    assert_shows(standalone, expected)
    standalone.locator('[data-testid="history-item"][data-index="1"]').click()
    expected.machine.jump(1)
    assert_shows(standalone, expected)

    # A new event after going back forgets what could be redone, as the machine does.
    click_event(standalone, expected.fire("CLOSE"))
    assert_shows(standalone, expected)
    assert standalone.locator('[data-testid="history-future"]').count() == 0
    assert redo.is_disabled()

    standalone.locator('[data-testid="reset"]').click()
    expected.machine.reset()
    assert_shows(standalone, expected)
    assert undo.is_disabled() and redo.is_disabled()


def test_standalone_keyboard(tab, standalone, request) -> None:
    expected = Expected(tcp_table())
    standalone.focus()

    def press_event(event: str) -> None:
        # The tab numbers the enabled events 1-9 in table order.
        number = [t.event for t in expected.machine.enabled()].index(
            expected.machine.resolve(event).event
        )
        expected.fire(event)
        tab.keyboard.press(str(number + 1))
        assert_shows(standalone, expected)

    for event in CLIENT[:2]:
        press_event(event)
    tab.keyboard.press("ArrowLeft")
    expected.machine.undo()
    assert_shows(standalone, expected)
    tab.keyboard.press("ArrowRight")
    expected.machine.redo()
    assert_shows(standalone, expected)
    for event in CLIENT[2:4]:
        press_event(event)
    shoot(tab, request, "keyboard-FIN-WAIT-2")
    # A digit beyond the enabled events does nothing (FIN-WAIT-2 has one).
    tab.keyboard.press("9")
    assert_shows(standalone, expected)
    # Esc is JupyterLab's everyday key: it resets nothing. Reset is a button, and undoable.
    tab.keyboard.press("Escape")
    assert_shows(standalone, expected)
    before = expected.machine.history
    standalone.locator('[data-testid="reset"]').click()
    expected.machine.reset()
    assert_shows(standalone, expected)
    standalone.locator('[data-testid="undo-reset"]').click()
    expected.machine.run(*before)
    assert_shows(standalone, expected)
    sync_api.expect(standalone.locator('[data-testid="undo-reset"]')).to_be_hidden()
    standalone.locator('[data-testid="reset"]').click()
    expected.machine.reset()
    assert_shows(standalone, expected)

    # Tab reaches the arrows that can be taken; Enter takes the focused one.
    arrow = standalone.locator("#edge_CLOSED__passive_open")
    arrow.focus()
    tab.keyboard.press("Enter")
    expected.fire("passive open")
    assert_shows(standalone, expected)


def test_standalone_click_an_arrow(tab, standalone, request) -> None:
    expected = Expected(tcp_table())
    # Click the arrow's label, the part a student aims at.
    standalone.locator("#edge_CLOSED__active_open text").first.click()
    expected.fire("active open")
    assert_shows(standalone, expected)

    # An arrow that does not leave the current state is refused with an explanation, and
    # nothing moves.
    standalone.locator("#edge_LISTEN__rcv_syn text").first.click()
    error = standalone.locator('[data-testid="error"]')
    box = standalone.locator('[data-testid="error-box"]')
    assert box.is_visible()
    assert "LISTEN" in error.inner_text() and "SYN-SENT" in error.inner_text()
    shoot(tab, request, "refused-arrow")
    seen = standalone.evaluate(SNAPSHOT_JS)
    assert seen["current"] == [expected.state_id] and seen["last"] == [expected.last_edge]
    box.get_by_role("button").click()  # dismiss
    assert box.is_hidden()

    standalone.locator("#edge_SYN_SENT__rcv_syn_ack text").first.click()
    expected.fire("rcv SYN,ACK")
    assert_shows(standalone, expected)


TOOLTIP_SEEN_JS = """
(tip) => {
  // Readable: the whole tooltip lies inside the window and inside every ancestor that clips
  // (overflow other than visible). Tooltips ignore the pointer, so elementFromPoint cannot tell.
  const box = tip.getBoundingClientRect();
  const inside = (outer) =>
    box.left >= outer.left - 1 && box.right <= outer.right + 1 &&
    box.top >= outer.top - 1 && box.bottom <= outer.bottom + 1;
  if (!(box.width > 0 && box.height > 0)) return false;
  if (!inside({ left: 0, top: 0, right: innerWidth, bottom: innerHeight })) return false;
  for (let el = tip.parentElement; el; el = el.parentElement) {
    const style = getComputedStyle(el);
    if ([style.overflowX, style.overflowY].some((o) => o !== "visible") && !inside(el.getBoundingClientRect())) {
      return false;
    }
  }
  return true;
}
"""


def test_standalone_hover_tooltip(tab, standalone, request) -> None:
    tip = standalone.locator('[data-testid="tooltip"]')
    assert tip.is_hidden()
    standalone.locator("#state_ESTABLISHED").hover()
    sync_api.expect(tip).to_be_visible()
    assert tip.inner_text().startswith("ESTABLISHED")
    assert DESCRIPTIONS["ESTABLISHED"] in tip.inner_text()
    assert tip.evaluate(TOOLTIP_SEEN_JS)
    shoot(tab, request, "tooltip-state")

    standalone.locator("#edge_SYN_SENT__rcv_syn_ack text").first.hover()
    text = tip.inner_text()
    assert "SYN-SENT → ESTABLISHED" in text
    assert "rcv SYN,ACK / snd ACK" in text
    assert tip.evaluate(TOOLTIP_SEEN_JS)
    shoot(tab, request, "tooltip-arrow")

    tab.mouse.move(2, 2)  # away from the diagram
    sync_api.expect(tip).to_be_hidden()


@pytest.mark.parametrize("target", ["#state_TIME_WAIT", "#edge_FIN_WAIT_1__rcv_fin_ack text"])
def test_standalone_tooltip_at_the_bottom_is_readable(tab, standalone, target, request) -> None:
    """A tooltip of the bottom row of the diagram must not be cut off by the diagram's frame."""
    standalone.locator(target).first.hover()
    tip = standalone.locator('[data-testid="tooltip"]')
    sync_api.expect(tip).to_be_visible()
    if target.startswith("#edge"):
        assert "Note 2" in tip.inner_text()  # the row's note travels to the tooltip
    shoot(tab, request, "tooltip")
    assert tip.evaluate(TOOLTIP_SEEN_JS), "the tooltip is clipped: part of it cannot be seen"


# The colours a reader sees, read from the page after the theme's CSS has been applied.
COLOURS_JS = """
(root) => {
  const style = (el, prop) => getComputedStyle(el)[prop];
  const shape = (id) => root.querySelector(`#${id} path, #${id} polygon`);
  return {
    widget: style(root, "backgroundColor"),
    state_name: style(root.querySelector('[data-testid="state-name"]'), "color"),
    description: style(root.querySelector('[data-testid="description"]'), "color"),
    diagram: style(root.querySelector("svg polygon.tcpviz-background") || root, "fill"),
    idle_fill: style(shape("state_LISTEN"), "fill"),
    idle_label: style(root.querySelector("#state_LISTEN text"), "fill"),
    current_fill: style(shape("state_ESTABLISHED"), "fill"),
    current_label: style(root.querySelector("#state_ESTABLISHED text"), "fill"),
    edge_label: style(root.querySelector("#edge_CLOSED__passive_open text"), "fill"),
  };
}
"""


def _luminance(css_colour: str) -> float:
    """WCAG relative luminance (0 black .. 1 white) of an ``rgb(...)``/``rgba(...)`` colour."""
    channels = [int(x) / 255 for x in re.findall(r"\d+", css_colour)[:3]]
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _contrast(one: str, other: str) -> float:
    """WCAG contrast ratio of two colours: 1 (none) to 21 (black on white)."""
    high, low = sorted((_luminance(one), _luminance(other)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def assert_dark_and_readable(colours: dict[str, str]) -> None:
    """Dark backgrounds, and every text readable on what it sits on (WCAG AA: 4.5:1)."""
    for background in ("widget", "diagram", "idle_fill"):
        assert _luminance(colours[background]) < 0.05, (background, colours)
    pairs = [
        ("state_name", "widget"),
        ("description", "widget"),
        ("idle_label", "idle_fill"),
        ("current_label", "current_fill"),
        ("edge_label", "diagram"),
    ]
    for text, background in pairs:
        ratio = _contrast(colours[text], colours[background])
        assert ratio >= 4.5, (text, background, round(ratio, 2), colours)
    # The current state stands out from the others.
    assert _contrast(colours["current_fill"], colours["idle_fill"]) >= 3, colours


def test_standalone_dark_theme(tab, tmp_path: Path, request) -> None:
    tab.goto(save_html(tmp_path / "dark.html", theme="dark").as_uri())
    root = tab.locator(".tcpviz-widget")
    root.wait_for()
    assert "tcpviz-theme-dark" in (root.get_attribute("class") or "")
    assert "tcpviz-theme-dark" in (root.locator("svg").get_attribute("class") or "")
    expected = Expected(tcp_table())
    for event in CLIENT[:2]:
        click_event(root, expected.fire(event))
    assert_shows(root, expected)
    shoot(tab, request, "dark-ESTABLISHED")
    assert _luminance(tab.evaluate("getComputedStyle(document.body).backgroundColor")) < 0.05
    assert_dark_and_readable(root.evaluate(COLOURS_JS))


def test_standalone_scenario_and_quiz(tab, standalone, request) -> None:
    """Scenario mode steps a named scenario; quiz mode grades answers (all in the tab)."""
    table = tcp_table()
    standalone.locator('[data-testid="mode-scenario"]').click()
    standalone.locator('[data-testid="scenario-select"]').select_option("handshake-server")
    expected = Expected(table)
    for event in SERVER[:3]:
        standalone.locator('[data-testid="step"]').click()
        expected.fire(event)
        seen = snapshot_when(standalone, lambda seen: seen["current"] == [expected.state_id])
        assert seen["current"] == [expected.state_id]
        assert seen["last"] == [expected.last_edge]
    assert "Done" in standalone.locator('[data-testid="scenario-progress"]').inner_text()
    shoot(tab, request, "scenario-done")

    standalone.locator('[data-testid="mode-quiz"]').click()
    sync_api.expect(standalone.locator('[data-testid="quiz-question"]')).to_contain_text("1")
    score = standalone.locator('[data-testid="quiz-score"]')
    by_id = {state_id: state for state, state_id in table.state_ids.items()}
    for asked in range(1, 4):
        # The diagram lights the question's state; the question names the event. The page
        # paints the new question in an animation frame: let two frames pass before looking.
        sync_api.expect(standalone.locator('[data-testid="quiz-question"]')).to_contain_text(
            f"Question {asked} of"
        )
        standalone.evaluate(TWO_FRAMES_JS)
        (shown,) = standalone.evaluate(SNAPSHOT_JS)["current"]
        words = standalone.locator('[data-testid="quiz-event"]').inner_text()
        # Work the answer out from the table, as a student would from the figure.
        targets = {
            t.target for t in table.outgoing(by_id[shown]) if table.events[t.event].text == words
        }
        assert len(targets) == 1, (shown, words)
        standalone.locator(f'[data-testid="quiz-choice"][data-state="{targets.pop()}"]').click()
        feedback = standalone.locator('[data-testid="quiz-feedback"]')
        sync_api.expect(feedback).to_contain_text(f"Question {asked}")
        assert "Right." in feedback.inner_text()
        assert re.search(rf"\b{asked}\D+{asked}\b", score.inner_text()), score.inner_text()
    shoot(tab, request, "quiz")


# -- a notebook served by Voila, and by JupyterLab ----------------------------------------------

# The test notebook: the widget, plus a line of text that Python (not the tab) keeps up to
# date from the machine, so the test can see that the kernel agrees with the tab.
NOTEBOOK_SOURCE = """\
import html

import ipywidgets
from IPython.display import display

from tcpviz import Machine
from tcpviz.web.widget import TCPWidget

machine = Machine()
widget = TCPWidget(machine, theme="{theme}")
python_side = ipywidgets.HTML()


def report(machine, change=None):
    # Runs in the kernel after every change, whatever caused it.
    python_side.value = (
        f'<span data-testid="python-state" data-steps="{{len(machine.history)}}">'
        f"{{html.escape(machine.state)}}</span>"
    )


report(machine)
machine.subscribe(report)
display(widget, python_side)
"""


def write_notebook(folder: Path, theme: str = "light") -> Path:
    return code_notebook(folder / "widget-test.ipynb", NOTEBOOK_SOURCE.format(theme=theme))


def assert_python_agrees(page, expected: Expected) -> None:
    """The kernel's machine is where the page says: its own report (set from Python) matches."""
    python_state = page.locator('[data-testid="python-state"]')
    sync_api.expect(python_state).to_have_text(expected.machine.state)
    sync_api.expect(python_state).to_have_attribute(
        "data-steps", str(len(expected.machine.history))
    )


def click_through_in_notebook(page, root, request, events: list[str]) -> Expected:
    expected = Expected(tcp_table())
    assert_shows(root, expected, timeout_ms=3 * WAIT_MS)
    assert_python_agrees(page, expected)
    for event in events:
        click_event(root, expected.fire(event))
        # The page paints the click at once; Python's answer then confirms it (or would
        # correct it, and the snapshot would not match).
        assert_python_agrees(page, expected)
        assert_shows(root, expected)
        if expected.machine.state in KEY_STATES:
            shoot(page, request, expected.machine.state)
    return expected


@pytest.fixture
def voila_page(tab, tmp_path: Path):
    """A Voila tab showing the test notebook's widget; yields (tab, widget root)."""
    notebook = write_notebook(tmp_path)
    warnings: list[str] = []
    tab.on(
        "console",
        lambda message: warnings.append(message.text) if message.type == "warning" else None,
    )
    tab.tcpviz_warnings = warnings  # read by the tests: anywidget must not warn about us
    with voila(notebook, tmp_path) as url:
        tab.goto(url, timeout=60_000)
        root = tab.locator(".tcpviz-widget")
        # Voila runs the notebook when the tab is requested: allow for a cold kernel.
        root.wait_for(timeout=60_000)
        yield tab, root


def test_voila_client_handshake_and_active_close(voila_page, request) -> None:
    page, root = voila_page
    expected = click_through_in_notebook(page, root, request, CLIENT)
    assert expected.machine.state == "CLOSED"
    # anywidget's "Direct export of a 'render' will likely be deprecated" (issue 6, item 12).
    assert not [w for w in page.tcpviz_warnings if "[anywidget]" in w], page.tcpviz_warnings


def test_voila_server_handshake_passive_close_undo_redo(voila_page, request) -> None:
    page, root = voila_page
    expected = click_through_in_notebook(page, root, request, SERVER[:3])
    root.locator('[data-testid="undo"]').click()
    expected.machine.undo()
    assert_python_agrees(page, expected)
    assert_shows(root, expected)
    root.focus()
    page.keyboard.press("ArrowRight")  # redo
    expected.machine.redo()
    assert_python_agrees(page, expected)
    assert_shows(root, expected)
    for event in SERVER[3:]:
        click_event(root, expected.fire(event))
        assert_python_agrees(page, expected)
        assert_shows(root, expected)
    root.locator('[data-testid="history-item"][data-index="3"]').click()
    expected.machine.jump(3)
    assert_python_agrees(page, expected)
    assert_shows(root, expected)
    shoot(page, request, "jumped-back-to-ESTABLISHED")


def test_voila_dark_theme_auto(tab, tmp_path: Path, request) -> None:
    """With theme "auto" the widget follows Voila's dark theme (JupyterLab's variables)."""
    notebook = write_notebook(tmp_path, theme="auto")
    with voila(notebook, tmp_path, theme="dark") as url:
        tab.goto(url, timeout=60_000)
        root = tab.locator(".tcpviz-widget")
        root.wait_for(timeout=60_000)
        expected = click_through_in_notebook(tab, root, request, CLIENT[:2])
        colours = root.evaluate(COLOURS_JS)
        shoot(tab, request, "voila-dark")
        tab.close()
    assert expected.machine.state == "ESTABLISHED"
    assert_dark_and_readable(colours)


def test_jupyterlab_widget_keeps_its_keys(tab, tmp_path: Path, request) -> None:
    """In JupyterLab: run the cell, step with clicks and keys, and check that the widget's keys
    (digits, arrows) never reach JupyterLab's notebook shortcuts ("1" would turn the cell into
    a Markdown heading, the arrows would move between cells)."""
    root_dir = tmp_path / "notebooks"
    root_dir.mkdir()
    notebook = write_notebook(root_dir)
    with jupyterlab(root_dir, tmp_path) as url:
        tab.goto(f"{url}lab/tree/{notebook.name}", timeout=60_000)
        cell = tab.locator(".jp-Notebook .jp-Cell").first
        cell.wait_for(timeout=60_000)
        # Run the cell only once the page is connected to an idle kernel: JupyterLab drops a run
        # requested earlier (the cell stays "[ ]").
        wait_for_connected_kernel(url)
        cell.locator(".jp-InputArea-editor").click()
        tab.keyboard.press("Shift+Enter")
        root = tab.locator(".tcpviz-widget")
        root.wait_for(timeout=30_000)
        expected = click_through_in_notebook(tab, root, request, CLIENT[:1])

        root.focus()
        # "3" is the third event in SYN-SENT (receive SYN,ACK); in command mode JupyterLab would
        # turn the cell into a level-3 heading.
        tab.keyboard.press("3")
        expected.fire("rcv SYN,ACK")
        assert_python_agrees(tab, expected)
        assert_shows(root, expected)
        tab.keyboard.press("ArrowLeft")
        expected.machine.undo()
        assert_python_agrees(tab, expected)
        assert_shows(root, expected)
        tab.keyboard.press("ArrowRight")
        expected.machine.redo()
        assert_python_agrees(tab, expected)
        assert_shows(root, expected)
        shoot(tab, request, "jupyterlab")

        # Single keys are JupyterLab's notebook commands ("d d" deletes the cell, "x" cuts it,
        # "a"/"b" insert one, "m" makes it Markdown): with the focus in the widget, none
        # reaches them, and Esc resets nothing.
        root.focus()
        for key in ("d", "d", "x", "a", "b", "m", "z", "Escape"):
            tab.keyboard.press(key)
        assert_shows(root, expected)
        assert_python_agrees(tab, expected)

        cells = tab.locator(".jp-Notebook .jp-Cell")
        assert cells.count() == 2  # the code cell and the empty one Shift+Enter added
        assert tab.locator(".jp-Notebook .jp-MarkdownCell").count() == 0
        sync_api.expect(tab.locator(".jp-Dialog")).to_have_count(0)  # no kernel dialog
        tab.close()


# -- the standalone page and Python, walked side by side --------------------------------------
#
# Python decides, the page looks up (DESIGN.md, decision 7): whatever a student does, the page
# must show what the Python machine (and tcpviz.teach.quiz.Quiz) says. Random walks, seeded and
# bounded, through both, compared step by step.

WALK_STEPS = 60

# Runs every action in the page, one animation frame pair apart, and reads the page after each.
WALK_JS = """
async ([actions]) => {
  const root = document.querySelector(".tcpviz-widget");
  const frames = () => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)));
  const click = (selector) => {
    const el = root.querySelector(selector);
    if (!el) throw new Error(`nothing to click: ${selector}`);
    el.dispatchEvent(new MouseEvent("click", { bubbles: true }));
  };
  const read = () => {
    const error = root.querySelector('[data-testid="error"]');
    return {
      current: [...root.querySelectorAll("svg .current")].map((g) => g.id),
      last: [...root.querySelectorAll("svg .last")].map((g) => g.id),
      enabled: [...root.querySelectorAll('[data-testid="event-button"]')].map((b) => b.dataset.edge),
      state: root.querySelector('[data-testid="state-name"]').textContent,
      error: error.closest("[hidden]") ? "" : error.textContent,
    };
  };
  const seen = [];
  for (const a of actions) {
    if (a.kind === "fire") click(`[data-testid="event-button"][data-edge="${a.edge}"]`);
    else if (a.kind === "arrow") click(`#${a.edge} text`);
    else if (a.kind === "jump") click(`[data-testid="history"] button[data-index="${a.index}"]`);
    else click(`[data-testid="${a.kind}"]`);
    await frames();
    seen.push(read());
  }
  return seen;
}
"""


def random_walk(table, seed: int, steps: int = WALK_STEPS) -> tuple[list[dict], list[dict]]:
    """Seeded random actions a student could take, and what Python says the page shows after each."""
    import random

    from tcpviz import Machine
    from tcpviz.web.payload import refusal

    rng = random.Random(seed)
    machine = Machine(table)
    ids = table.edge_ids
    actions, expected = [], []
    for _ in range(steps):  # bounded
        enabled = machine.enabled()
        error = ""
        roll = rng.random()
        if roll < 0.6 and enabled:
            t = rng.choice(enabled)
            machine.fire(t)
            action = {"kind": "fire", "edge": ids[t]}
        elif roll < 0.72:
            # An arrow that cannot be taken now: refused with Python's reason, nothing moves.
            t = rng.choice([t for t in table.transitions if t not in enabled])
            error = refusal(table, t, machine.state)
            action = {"kind": "arrow", "edge": ids[t]}
        elif roll < 0.82 and machine.history:
            machine.undo()
            action = {"kind": "undo"}
        elif roll < 0.9 and machine.future:
            machine.redo()
            action = {"kind": "redo"}
        elif roll < 0.98 and (machine.history or machine.future):
            index = rng.randrange(len(machine.history) + len(machine.future) + 1)
            machine.jump(index)
            action = {"kind": "jump", "index": index}
        else:
            machine.reset()
            action = {"kind": "reset"}
        actions.append(action)
        expected.append(
            {
                "current": [table.state_ids[machine.state]],
                "last": [ids[machine.last]] if machine.last else [],
                "enabled": [ids[t] for t in machine.enabled()],
                "state": machine.state,
                "error": error,
            }
        )
    return actions, expected


@pytest.mark.parametrize("extended", [False, True], ids=["classic", "extended"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_walks_agree_with_python_step_by_step(tab, tmp_path: Path, extended, seed) -> None:
    table = tcp_table(extended)
    tab.goto(save_html(tmp_path / "walk.html", extended=extended, theme="light").as_uri())
    tab.locator(".tcpviz-widget").wait_for()
    actions, expected = random_walk(table, seed)
    seen = tab.evaluate(WALK_JS, [actions])
    for number, (action, want, got) in enumerate(zip(actions, expected, seen, strict=True), 1):
        assert got == want, f"step {number}: {action}"


QUIZ_WALK_JS = """
async ([answers]) => {
  const root = document.querySelector(".tcpviz-widget");
  const frames = () => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)));
  const text = (id) => root.querySelector(`[data-testid="${id}"]`).textContent;
  const seen = [];
  await frames(); // the page paints a new quiz in the next animation frame
  for (const state of answers) {
    const question = text("quiz-question");
    const choices = [...root.querySelectorAll('[data-testid="quiz-choice"]')].map((b) => b.dataset.state);
    // Any state of the diagram is an answer, not only the offered ones.
    root.querySelector(`svg g[data-state="${state}"]`).dispatchEvent(new MouseEvent("click", { bubbles: true }));
    await frames();
    seen.push({ question, choices, feedback: text("quiz-feedback"), score: text("quiz-score") });
  }
  seen.push({ question: text("quiz-question") });
  return seen;
}
"""


@pytest.mark.parametrize("extended", [False, True], ids=["classic", "extended"])
def test_the_page_quiz_is_pythons_quiz_answer_by_answer(tab, tmp_path: Path, extended) -> None:
    import random

    from tcpviz.teach.quiz import Quiz
    from tcpviz.web.payload import QUIZ_SEEDS

    table = tcp_table(extended)
    tab.goto(save_html(tmp_path / "quiz.html", extended=extended, theme="light").as_uri())
    root = tab.locator(".tcpviz-widget")
    root.wait_for()
    root.locator('[data-testid="mode-quiz"]').click()
    for round_, seed in enumerate(QUIZ_SEEDS[:2]):
        if round_:
            root.locator('[data-testid="quiz-restart"]').click()  # the page's next quiz
        quiz, rng = Quiz(table, seed=seed), random.Random(seed)
        answers, expected = [], []
        while quiz.question is not None:  # bounded by the quiz's length
            q = quiz.question
            # Mostly the offered choices, sometimes any state at all.
            pool = q.choices if rng.random() < 0.8 else table.states
            state = rng.choice(pool)
            feedback = quiz.answer(state)
            right, asked = quiz.score
            verdict = (
                f"Question {q.number}: ✓ right, {feedback.expected}"
                if feedback.correct
                else f"Question {q.number}: ✗ not {state}, it goes to {feedback.expected}"
            )
            answers.append(state)
            expected.append(
                {
                    "question_has": [f"Question {q.number} of {q.total}", q.state, q.event_words],
                    "choices": list(q.choices),
                    "feedback": verdict + feedback.explanation,
                    "score": f"Score: {right} of {asked} (quiz of {quiz.length})",
                }
            )
        seen = tab.evaluate(QUIZ_WALK_JS, [answers])
        assert seen[-1]["question"].startswith("Quiz finished")
        for number, (want, got) in enumerate(zip(expected, seen, strict=False), 1):
            for part in want["question_has"]:
                assert part in got["question"], (seed, number, got["question"])
            assert got["choices"] == want["choices"], (seed, number)
            assert got["feedback"] == want["feedback"], (seed, number)
            assert got["score"] == want["score"], (seed, number)


EVENT_NAMES_JS = """
([data, tries]) => {
  const model = window.tcpvizLocalModel(data);
  const out = [];
  for (const [prefix, name] of tries) {
    model.send({ type: "reset" });
    for (const edge of prefix) model.send({ type: "fire", edge });
    model.send({ type: "fire", event: name });
    out.push([model.get("state"), model.get("last"), model.get("error")]);
  }
  return out;
}
"""


def test_event_names_mean_on_the_page_what_they_mean_in_python(tab) -> None:
    """The page reads an event name through Python's spellings: "listen" is a passive open."""
    from tcpviz import Machine
    from tcpviz.errors import InvalidTransition
    from tcpviz.web.html import _STATIC
    from tcpviz.web.payload import event_lookup, moves_payload, table_payload

    table = tcp_table(extended=True)
    script = (_STATIC / "widget.js").read_text(encoding="utf-8")
    tab.set_content(
        f'<!DOCTYPE html><html><body><script type="module">{script}\n'
        "window.tcpvizLocalModel = localModel;</script></body></html>"
    )
    tab.wait_for_function("() => window.tcpvizLocalModel")
    data = {"table": table_payload(table), "moves": moves_payload(table), "svg": ""}
    names = [*event_lookup(table), "LISTEN", "  Syn,Ack ", "nope", "rcv ACK of nothing"]
    walk = ["active open", "rcv SYN", "rcv ACK of SYN", "CLOSE", "rcv FIN", "rcv ACK of FIN"]
    tries, expected = [], []
    for k in range(len(walk) + 1):  # every state along the walk, every spelling
        machine = Machine(table)
        prefix = [table.edge_ids[t] for t in machine.run(*walk[:k])]
        for name in names:
            tries.append([prefix, name])
            try:
                t = machine.fire(name)
                expected.append((t.target, table.edge_ids[t], ""))
                machine.undo()
            except InvalidTransition as error:
                last = table.edge_ids[machine.last] if machine.last else ""
                expected.append((machine.state, last, str(error)))
    seen = tab.evaluate(EVENT_NAMES_JS, [data, tries])
    for (prefix, name), want, got in zip(tries, expected, seen, strict=True):
        assert got[:2] == list(want[:2]), (len(prefix), name)
        assert bool(got[2]) == bool(want[2]), (len(prefix), name, got[2], want[2])


def test_the_kernel_wait_retries_on_a_server_error_and_is_bounded(monkeypatch) -> None:
    """A 500 from GET /api/kernels (seen once in five full runs) is retried, not fatal."""
    import io

    answers = [
        urllib.error.HTTPError("http://x/api/kernels", 500, "busy", {}, None),
        ConnectionResetError("reset"),
        io.BytesIO(b'[{"execution_state": "idle", "connections": 1}]'),
    ]

    def fake_urlopen(url, timeout):
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    monkeypatch.setattr(urllib.request, "urlopen", fake_urlopen)
    monkeypatch.setattr(time, "sleep", lambda seconds: None)
    wait_for_connected_kernel("http://x/", timeout=5)
    assert answers == []

    def always_500(url, timeout):
        raise urllib.error.HTTPError(url, 500, "busy", {}, None)

    monkeypatch.setattr(urllib.request, "urlopen", always_500)
    clock = iter(range(0, 1000, 1))
    monkeypatch.setattr(time, "monotonic", lambda: next(clock))
    with pytest.raises(AssertionError, match="HTTPError"):
        wait_for_connected_kernel("http://x/", timeout=3)


# -- progress kept across reloads, and shared as a link ---------------------------------------


def test_the_page_remembers_progress_and_shares_it_as_a_link(chromium, tmp_path: Path) -> None:
    """Reloading keeps the steps (localStorage, per page); the link opens the same position
    elsewhere; a bad link is ignored with a visible note and nothing in it runs."""
    path = save_html(tmp_path / "tcp.html", theme="light")
    other = save_html(tmp_path / "other.html", theme="light", title="Another page")
    context = chromium.new_context(viewport=VIEWPORT)
    context.set_default_timeout(WAIT_MS)
    errors: list[str] = []
    try:
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("dialog", lambda dialog: errors.append(f"dialog: {dialog.message}"))
        page.goto(path.as_uri())
        root = page.locator(".tcpviz-widget")
        expected = Expected(tcp_table())
        for event in CLIENT[:3]:
            click_event(root, expected.fire(event))
        assert_shows(root, expected)

        page.reload()
        assert_shows(root, expected)
        note = page.locator('[data-testid="page-note"]')
        sync_api.expect(note).to_contain_text("your 3 steps were restored")
        # The link holds the steps; opened in a fresh browser (no saved progress), it shows them.
        href = page.locator('[data-testid="share-link"]').get_attribute("href")
        assert href.startswith("#steps=")
        fresh = chromium.new_context(viewport=VIEWPORT)
        try:
            shared = fresh.new_page()
            shared.goto(path.as_uri() + href)
            assert_shows(shared.locator(".tcpviz-widget"), expected)
            sync_api.expect(shared.locator('[data-testid="page-note"]')).to_contain_text(
                "Opened the position of the link: 3 steps"
            )
        finally:
            fresh.close()

        # Another page (another title) does not read this page's progress.
        page.goto(other.as_uri())
        assert_shows(page.locator(".tcpviz-widget"), Expected(tcp_table()))

        # Bad links: an arrow that cannot happen there, a made-up id, markup. Each is ignored,
        # visibly, and the page starts afresh.
        for bad in (
            "#steps=edge_LISTEN__rcv_syn",
            "#steps=edge_CLOSED__active_open.nope",
            "#steps=<img src=x onerror=alert(1)>",
            "#somewhere-else",
        ):
            page.goto(path.as_uri() + bad)
            page.reload()  # a fragment change alone does not reload a page
            root = page.locator(".tcpviz-widget")
            assert_shows(root, Expected(tcp_table()))
            sync_api.expect(page.locator('[data-testid="page-note"]')).to_contain_text(
                "The link's position was ignored"
            )
            assert page.locator("img[src=x]").count() == 0
        # None of this overwrote the progress the browser kept for the page.
        page.goto(path.as_uri())
        assert_shows(page.locator(".tcpviz-widget"), expected)
    finally:
        context.close()
    assert errors == []


def test_a_scenario_starts_where_it_matters(tab, standalone, request) -> None:
    """The simultaneous close does not replay the handshake: its lead steps are taken at once."""
    from tcpviz import Machine
    from tcpviz.teach.player import ScenarioPlayer

    python = ScenarioPlayer(Machine(tcp_table()))
    python.select("simultaneous-close")
    standalone.locator('[data-testid="mode-scenario"]').click()
    standalone.locator('[data-testid="scenario-select"]').select_option("simultaneous-close")
    progress = standalone.locator('[data-testid="scenario-progress"]')
    sync_api.expect(progress).to_have_text("Step 2 of 6")
    seen = snapshot_when(standalone, lambda seen: seen["state"] == python.machine.state)
    assert seen["state"] == "ESTABLISHED" == python.machine.state
    for _ in range(4):
        standalone.locator('[data-testid="step"]').click()
        python.step()
        seen = snapshot_when(standalone, lambda seen: seen["state"] == python.machine.state)
        assert seen["state"] == python.machine.state
        assert seen["last"] == [tcp_table().edge_ids[python.machine.last]]
    sync_api.expect(progress).to_have_text("Done: all 6 steps.")
    shoot(tab, request, "simultaneous-close-done")


def test_jupyterlab_running_the_widget_cell_again_keeps_the_clicks(
    tab, tmp_path: Path, request
) -> None:
    """A click makes the widget's cell the active one; Shift+Enter then runs that cell again.
    `client = TCPWidget()` must give back the same widget, still where the student left it."""
    root_dir = tmp_path / "notebooks"
    root_dir.mkdir()
    path = code_notebook(
        root_dir / "rerun.ipynb",
        "from tcpviz.web.widget import TCPWidget\n\nclient = TCPWidget()\nclient",
    )
    with jupyterlab(root_dir, tmp_path) as url:
        tab.goto(f"{url}lab/tree/{path.name}", timeout=60_000)
        cell = tab.locator(".jp-Notebook .jp-Cell").first
        cell.wait_for(timeout=60_000)
        wait_for_connected_kernel(url)
        cell.locator(".jp-InputArea-editor").click()
        tab.keyboard.press("Shift+Enter")
        root = tab.locator(".tcpviz-widget")
        root.wait_for(timeout=30_000)
        expected = Expected(tcp_table())
        click_event(root, expected.fire("active open"))
        assert_shows(root, expected)
        # Run the widget's cell again, as "Shift+Enter to run the next cell" does after a click.
        cell.locator(".jp-InputArea-editor").click()
        tab.keyboard.press("Escape")
        tab.keyboard.press("Shift+Enter")
        tab.wait_for_function(
            "() => document.querySelector('.jp-Notebook .jp-Cell .jp-InputPrompt')?.textContent.includes('[2]')",
            timeout=30_000,
        )
        root = tab.locator(".tcpviz-widget")
        root.first.wait_for(timeout=30_000)
        assert root.count() == 1
        assert_shows(root, expected)  # still SYN-SENT, the step in its history
        shoot(tab, request, "rerun-kept")
        tab.close()
