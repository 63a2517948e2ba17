"""The connection widget's Python side: positions, the one-step lookahead (what every button
leads to must be exactly what clicking it gives), scenarios, history, following a shared
connection, errors, and the standalone page recorded from it."""

from __future__ import annotations

import json
import re

import pytest
from connection_layout import SHOWN_TEXT_JS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tcpviz.errors import SimError, WidgetError
from tcpviz.sim import Connection
from tcpviz.teach.connection_scenarios import CONNECTION_SCENARIOS, get_connection_scenario
from tcpviz.web.connection_page import connection_html, save_connection_html
from tcpviz.web.connection_widget import ConnectionView, ConnectionWidget, record_scenario


def without(position, *keys):
    return {k: v for k, v in position.items() if k not in keys}


def snapshot(connection: Connection):
    """Everything about a connection a preview must not change."""
    return (
        connection.step,
        tuple(op.label for op in connection.history),
        tuple(op.label for op in connection.future),
        tuple(e.text for e in connection.trace),
        connection.states,
        tuple(f.label for f in connection.in_flight),
        connection.now,
    )


def test_a_fresh_view_shows_both_ends_closed_and_what_each_can_do():
    view = ConnectionView()
    p = view.position()
    assert [e["state"] for e in p["ends"]] == ["CLOSED", "CLOSED"]
    assert p["index"] == 0 and not p["can_undo"] and not p["can_redo"]
    assert {c["label"] for c in p["ends"][1]["calls"]} >= {"listen", "connect"}
    assert p["flight"] == [] and p["clock"]["key"] == ""
    assert dict(p["ends"][0]["tcb"])["ISS"] == "–"
    assert p["ends"][0]["state_id"] == view.table.state_ids["CLOSED"]


def test_handshake_by_hand_cards_tcb_and_why():
    view = ConnectionView()
    view.act("op:server listen")
    view.act("op:client connect")
    p = view.position()
    assert [c["label"] for c in p["flight"]] == ["#1 SYN seq=100"]
    assert set(p["flight"][0]["keys"]) == {"deliver", "drop", "duplicate"}
    assert p["clock"]["key"] == "op:advance" and "RTO timer at 1 s" in p["clock"]["next"]
    view.act(p["flight"][0]["keys"]["deliver"])
    p = view.position()
    assert p["ends"][1]["state"] == "SYN-RECEIVED"
    assert dict(p["ends"][1]["tcb"])["IRS"] == "100"
    assert "SYN" in p["why"] and "3.10.7.2" in p["why"]
    assert p["ends"][1]["last_edge"] in view.table.edge_ids.values()


def test_why_says_what_the_network_and_the_timers_did():
    view = ConnectionView()
    view.act("op:server listen")
    assert view.position()["why"] == "server: listen. 3.10.1: passive OPEN: waiting for a SYN"
    view.act("op:client connect")
    view.act(view.position()["flight"][0]["keys"]["duplicate"])
    assert view.position()["why"] == "The network copied SYN seq=100 (the copy is #2)."
    view.act(view.position()["flight"][0]["keys"]["drop"])
    assert view.position()["why"] == "The network lost SYN seq=100 on its way to server."
    view.act("op:advance")
    assert view.position()["why"] == "client's RTO timer ran out."


def handshake_started() -> ConnectionView:
    view = ConnectionView()
    for key in ["op:server listen", "op:client connect", "op:deliver 1", "op:deliver 2"]:
        view.act(key)
    view.act("undo")  # something to redo, too
    return view


def test_the_preview_of_every_button_is_what_the_click_gives_and_changes_nothing():
    view = handshake_started()
    before = snapshot(view.connection)
    p = view.position()
    assert snapshot(view.connection) == before  # the lookahead ran on the scratch copy
    assert {"undo", "redo", "op:deliver 2", "op:drop 2", "op:duplicate 2"} <= set(p["next"])
    for key, preview in p["next"].items():
        fresh = handshake_started()
        fresh.act(key)
        got = fresh.position(lookahead=False)
        assert without(got, "history", "next", "error") == without(preview, "history", "error"), key


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(0, 10**6), min_size=1, max_size=25))
def test_random_clicks_always_land_on_the_previewed_position(choices):
    view = ConnectionView()
    for choice in choices:
        p = view.position()
        keys = sorted(p["next"])
        if not keys:
            break
        key = keys[choice % len(keys)]
        expected = p["next"][key]
        view.act(key)
        got = view.position(lookahead=False)
        assert without(got, "history", "next", "error") == without(expected, "history", "error")
        # Segments are all accounted for, whatever the student did.
        counts = view.connection.counts
        assert counts["sent"] == counts["delivered"] + counts["dropped"] + counts["in_flight"]


def test_undo_redo_and_goto_keep_the_story():
    view = ConnectionView()
    for key in ["op:server listen", "op:client connect", "op:deliver 1", "op:deliver 2"]:
        view.act(key)
    view.act("undo")
    p = view.position()
    assert p["index"] == 3 and p["can_redo"] and p["total"] == 4
    assert p["next"]["redo"]["index"] == 4
    view.act("goto:1")
    assert view.connection.states == ("CLOSED", "LISTEN")
    assert [row[1] for row in view.position()["history"]][:3] == [
        "start",
        "server listen",
        "client connect",
    ]
    view.act("redo")
    assert view.connection.step == 2


def test_a_scenario_loads_ready_to_step_with_its_reasons():
    view = ConnectionView()
    view.act("scenario:simultaneous-close")
    scenario = get_connection_scenario("simultaneous-close")
    p = view.position()
    assert p["index"] == 0 and p["total"] == len(scenario.steps) and p["can_redo"]
    assert p["why"] == scenario.summary and p["scenario"] == "simultaneous-close"
    for n, step in enumerate(scenario.steps, start=1):
        view.act("redo")
        p = view.position()
        assert p["index"] == n and step.why in p["why"] and step.section in p["why"]
    assert tuple(e["state"] for e in p["ends"]) == scenario.ends_in
    # The ladder is the whole story, drawn once when the scenario loaded.
    svg = view.ladder_svg()
    assert svg.count('class="edge ladder-segment') == view.connection.counts["sent"]


def test_the_view_follows_a_shared_connection_moved_by_code():
    connection = Connection()
    view = ConnectionView(connection)
    connection.apply("server listen")
    connection.run("client connect", "deliver 1")
    assert view.position()["ends"][1]["state"] == "SYN-RECEIVED"
    connection.undo()
    p = view.position()
    assert p["index"] == 2 and p["next"]["redo"]["ends"][1]["state"] == "SYN-RECEIVED"
    connection.reset()
    assert view.position()["total"] == 0


def test_bad_actions_raise_and_change_nothing():
    view = ConnectionView()
    view.act("op:server listen")
    before = snapshot(view.connection)
    with pytest.raises(WidgetError, match=r"unknown action 'fly' \(expected op:OPERATION"):
        view.act("fly")
    with pytest.raises(WidgetError, match="goto needs a step number"):
        view.act("goto:x")
    with pytest.raises(SimError, match="no segment is in flight"):
        view.act("op:deliver 9")
    assert snapshot(view.connection) == before
    with pytest.raises(WidgetError, match="unknown theme"):
        ConnectionView(theme="neon")


def test_the_widget_syncs_positions_and_shows_errors_without_raising():
    w = ConnectionWidget(scenario="handshake", theme="dark")
    assert w.diagram.startswith("<svg") and "tcpviz-ladder" in w.ladder
    assert w.position["index"] == 0 and {s["name"] for s in w.scenarios} == set(
        CONNECTION_SCENARIOS
    )
    assert w.lookahead["version"] == w.position["version"]
    assert w.lookahead["next"]["redo"]["index"] == 1
    w._on_message(w, {"action": "redo"}, [])
    assert w.position["index"] == 1
    w._on_message(w, {"action": "op:deliver 42"}, [])
    assert "no segment is in flight" in w.position["error"] and w.position["index"] == 1
    assert w.position["can_redo"]  # a refused step keeps what could be redone
    ladder = w.ladder
    w.act("undo")
    assert w.ladder == ladder  # moving in the story does not redraw the ladder
    w.connection.apply("client connect")  # from a cell: followed
    assert w.position["ends"][0]["state"] == "SYN-SENT" and w.ladder != ladder
    w.close()


def test_one_step_message_stays_small_in_a_long_session():
    view = ConnectionView()
    for key in ["server listen", "client connect", "deliver", "deliver", "deliver"]:
        view.act(f"op:{key}")
    sizes = []
    for _ in range(50):  # data and its ACK, again and again
        for key in ["client send 1", "deliver", "deliver"]:
            view.act(f"op:{key}")
        sizes.append(len(json.dumps(view.position())))
    # Only the numbers grow (seq and ack get longer): no list grows with the history.
    assert max(sizes[-10:]) <= max(sizes[:10]) * 1.1


# -- the standalone page --------------------------------------------------------------------------


def test_recording_has_every_position_and_nothing_to_click_but_time():
    recording = record_scenario("lost-final-ack", theme="light")
    scenario = get_connection_scenario("lost-final-ack")
    positions = recording["positions"]
    assert len(positions) == len(scenario.steps) + 1
    assert [p["index"] for p in positions] == list(range(len(positions)))
    assert all(not e["calls"] for p in positions for e in p["ends"])
    assert all(not c["keys"] for p in positions for c in p["flight"])
    assert tuple(e["state"] for e in positions[-1]["ends"]) == scenario.ends_in
    assert "tcpviz-ladder" in recording["ladder"]


@pytest.mark.parametrize("name", list(CONNECTION_SCENARIOS))
def test_every_scenario_steps_in_the_widget_and_records_for_the_page(name):
    """Every position of every scenario, with its lookahead, as the widget and the page show
    it (an old duplicate SYN once broke the lookahead: a fork lost where SYN-RECEIVED was
    entered from)."""
    scenario = get_connection_scenario(name)
    view = ConnectionView()
    view.play(name)
    for n in range(len(scenario.steps) + 1):
        p = view.position()
        assert p["index"] == n
        if n < len(scenario.steps):
            want = p["next"]["redo"]
            view.act("redo")
            assert without(view.position(lookahead=False), "history", "next") == without(
                want, "history"
            )
    assert tuple(e["state"] for e in view.position()["ends"]) == scenario.ends_in
    recording = record_scenario(name)
    assert len(recording["positions"]) == len(scenario.steps) + 1


def test_the_page_inlines_everything_and_loads_nothing(tmp_path):
    page = connection_html(record_scenario("handshake"), title="Handshake <homework>")
    assert page.startswith("<!DOCTYPE html>")
    assert "http://" not in page and "https://" not in page
    assert "Handshake &lt;homework&gt;" in page
    assert len(re.findall(r"<script", page)) == 2
    path = save_connection_html(tmp_path / "h.html", record_scenario("handshake"))
    assert path.read_text().count("tcpviz-connection") >= 1
    from tcpviz.errors import HtmlError

    with pytest.raises(HtmlError, match="needs 'ladder'"):
        connection_html({"diagram": "", "positions": [], "theme": "auto"})


# -- in a real browser: the standalone page, and the widget's page code driven by Python -----

MEASURE_JS = (
    "\n() => {"
    + SHOWN_TEXT_JS
    + """
  const ladder = [...document.querySelectorAll(".tvc-ladder svg text")].filter(visible);
  const diagram = [...document.querySelectorAll(".tvc-diagram svg g.edge text")].filter(visible);
  const states = [...document.querySelectorAll(".tvc-diagram svg g.node text")].filter(visible);
  const buttons = [...document.querySelectorAll(".tcpviz-conn button, .tcpviz-conn select")]
    .filter((b) => !b.hidden && b.offsetParent);
  const root = document.querySelector(".tcpviz-conn").getBoundingClientRect();
  return {
    ladder: ladder.map(px), diagram: diagram.map(px), states: states.map(px),
    buttons: buttons.map((b) => parseFloat(getComputedStyle(b).fontSize)),
    bottom: root.bottom, width: root.width,
    clientState: document.querySelector('[data-testid="end-client-state"]').textContent,
    serverState: document.querySelector('[data-testid="end-server-state"]').textContent,
    cards: document.querySelectorAll('[data-testid="segment-card"]').length,
    index: Number(document.querySelector(".tcpviz-conn").dataset.index),
  };
}
"""
)


def assert_legible(m, arrows_shown=True):
    assert m["ladder"] and min(m["ladder"]) >= 12.0, min(m["ladder"] or [0])
    # Each end's diagram is zoomed on its state: the arrow labels in view are all legible (in
    # the narrow layout's short panels there may be none in view, only the state and arrows).
    assert not arrows_shown or m["diagram"], "no arrow label in view in the end panels"
    assert min(m["diagram"] or [99]) >= 12.0, min(m["diagram"])
    assert m["states"] and min(m["states"]) >= 16.0, min(m["states"] or [0])
    assert min(m["buttons"]) >= 14.0


@pytest.mark.browser
# 1280 px: the page, or Voila; 900 px: about what JupyterLab leaves a notebook at 1280x800 with
# the file browser open (the widget then puts both ends in a column beside the ladder).
@pytest.mark.parametrize("width", [1280, 900])
def test_standalone_page_steps_back_and_forth_and_the_ladder_takes_every_view_there(
    tmp_path, width
):
    from browser_support import artifact_path, launch_options
    from playwright import sync_api

    scenario = get_connection_scenario("simultaneous-close")
    recording = record_scenario(scenario.name, theme="light")
    page_file = save_connection_html(tmp_path / "page.html", recording)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(**launch_options())
        try:
            page = browser.new_page(viewport={"width": width, "height": 800})
            errors = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(page_file.as_uri())
            page.wait_for_selector('[data-testid="connection-widget"]', timeout=5000)
            for n in range(1, len(scenario.steps) + 1):
                page.keyboard.press("ArrowRight")
                page.wait_for_function(
                    f"document.querySelector('.tcpviz-conn').dataset.index == {n}", timeout=5000
                )
                m = page.evaluate(MEASURE_JS)
                want = recording["positions"][n]
                assert [m["clientState"], m["serverState"]] == [e["state"] for e in want["ends"]]
                assert m["cards"] == len(want["flight"])
                if n == 7:
                    assert_legible(m, arrows_shown=width >= 1280)
                    page.screenshot(path=artifact_path("connection_page", f"crossing-fins-{width}"))
            assert (m["clientState"], m["serverState"]) == scenario.ends_in
            # A simulation's story is undone and redone (a replay's buttons say back, forward).
            assert page.get_by_test_id("undo-button").inner_text() == "◀ undo"
            assert page.get_by_test_id("redo-button").inner_text() == "redo ▶"
            # A click on the first FIN on the ladder: every view goes to the moment it was sent.
            fin = page.locator("g.ladder-segment", has_text="FIN,ACK").first
            step = int(fin.get_attribute("data-sent-step"))
            fin.click()
            page.wait_for_function(
                f"document.querySelector('.tcpviz-conn').dataset.index == {step}", timeout=5000
            )
            m = page.evaluate(MEASURE_JS)
            want = recording["positions"][step]
            assert [m["clientState"], m["serverState"]] == [e["state"] for e in want["ends"]]
            assert page.locator("g.ladder-segment.later").count() > 0
            page.get_by_test_id("undo-button").click()
            page.wait_for_function(
                f"document.querySelector('.tcpviz-conn').dataset.index == {step - 1}", timeout=5000
            )
            page.screenshot(path=artifact_path("connection_page", f"after-ladder-click-{width}"))
            # With the focus inside the widget, the arrows are the widget's: one step, not two
            # (the page's own arrow keys must not act as well).
            page.get_by_test_id("undo-button").focus()
            page.keyboard.press("ArrowRight")
            page.wait_for_function(
                f"document.querySelector('.tcpviz-conn').dataset.index == {step}", timeout=5000
            )
            page.wait_for_timeout(300)
            index = page.evaluate("document.querySelector('.tcpviz-conn').dataset.index")
            assert index == str(step)
            assert errors == []
        finally:
            browser.close()


@pytest.mark.browser
@pytest.mark.parametrize("viewport", [(900, 800), (1024, 768), (1280, 800)], ids=str)
def test_nothing_is_clipped_or_scrolls_inside_a_panel_at_any_step_of_any_scenario(
    tmp_path, viewport
):
    """Every step of every scenario as the notebook widget shows it (call buttons, cards with
    their buttons, the scenario menu): each end's TCB, the history menu, every button and line
    inside its panel's visible box, and no panel scrolling."""
    from browser_support import artifact_path, launch_options
    from connection_layout import (
        VIEWPORTS,
        assert_ladder_legible,
        assert_nothing_clipped,
        widget_recording,
    )
    from playwright import sync_api

    assert viewport in VIEWPORTS
    width, height = viewport
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(**launch_options())
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            errors = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            smallest: dict[str, float] = {}
            for name in CONNECTION_SCENARIOS:
                recording = widget_recording(name)
                path = save_connection_html(tmp_path / f"{name}.html", recording)
                page.goto(path.as_uri())
                page.wait_for_selector('[data-testid="connection-widget"]', timeout=5000)
                assert page.get_by_test_id("scenarios").is_visible()
                for n in range(len(recording["positions"])):
                    if n:
                        page.keyboard.press("ArrowRight")
                        page.wait_for_function(
                            f"document.querySelector('.tcpviz-conn').dataset.index == {n}",
                            timeout=5000,
                        )
                    assert_nothing_clipped(page, f"{name} step {n} at {width}x{height}")
                # Every scenario's ladder (the whole story, drawn once) at 12 px or more.
                smallest[name] = assert_ladder_legible(page, f"{name} at {width}x{height}")
                if name in ("lost-syn", "lost-syn-ack", "lost-final-ack"):
                    page.screenshot(path=artifact_path("connection_layout", f"{name}-{width}"))
            print(f"smallest ladder text at {width}px:", json.dumps(smallest))
            assert errors == []
        finally:
            browser.close()


BRIDGE_PAGE = """<!doctype html><html><head><meta charset="utf-8"><style>{css}</style></head>
<body style="margin:0"><div id="w"></div><script type="module">
{js}
const traits = JSON.parse(document.getElementById("t").textContent);
const listeners = {{}};
const model = {{
  get: (k) => traits[k],
  on: (k, f) => (listeners[k] = listeners[k] || []).push(f),
  off: () => {{}},
  // Python answers later than a frame, as a kernel does: the page must paint at once anyway.
  send: (msg) => setTimeout(async () => {{
    const changed = await window.tcpvizAct(msg.action);
    for (const [k, v] of Object.entries(changed)) {{ traits[k] = v; (listeners["change:" + k] || []).forEach((f) => f()); }}
    document.body.dataset.confirmed = String(Number(document.body.dataset.confirmed || 0) + 1);
  }}, 250),
}};
render({{ model, el: document.getElementById("w") }});
</script><script type="application/json" id="t">{traits}</script></body></html>"""


@pytest.mark.browser
def test_widget_page_clicks_paint_from_the_lookahead_then_python_confirms(tmp_path):
    from pathlib import Path

    from browser_support import artifact_path, launch_options
    from playwright import sync_api

    from tcpviz.web.html import json_for_script

    view = ConnectionView(theme="light")
    static = Path(__file__).resolve().parents[2] / "tcpviz" / "web" / "static"
    version = 0

    def moment():  # what the widget sends after each step: the position, then its lookahead
        nonlocal version
        version += 1
        return {
            "position": {**view.position(lookahead=False), "version": version},
            "lookahead": {"version": version, "next": view.lookahead()},
        }

    def traits():
        return {
            "diagram": view.diagram_svg(),
            "ladder": view.ladder_svg(),
            **moment(),
            "scenarios": [
                {"name": s.name, "title": s.title} for s in CONNECTION_SCENARIOS.values()
            ],
            "theme": "light",
        }

    page_file = tmp_path / "bridge.html"
    page_file.write_text(
        BRIDGE_PAGE.format(
            css=(static / "connection.css").read_text(),
            js=(static / "connection.js").read_text(),
            traits=json_for_script(traits()),
        )
    )

    def act(action):
        view.act(action)
        return {**moment(), "ladder": view.ladder_svg()}

    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(**launch_options())
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            errors = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.expose_function("tcpvizAct", act)
            page.goto(page_file.as_uri())
            page.wait_for_selector('[data-testid="connection-widget"]', timeout=5000)
            confirmed = 0

            def click(locator, expect_client, expect_server):
                nonlocal confirmed
                locator.click()
                # Painted from Python's lookahead before Python has answered (250 ms later).
                quick = page.evaluate(MEASURE_JS)
                assert [quick["clientState"], quick["serverState"]] == [
                    expect_client,
                    expect_server,
                ]
                confirmed += 1
                page.wait_for_function(
                    f"document.body.dataset.confirmed == '{confirmed}'", timeout=5000
                )
                m = page.evaluate(MEASURE_JS)
                p = view.position()
                assert [m["clientState"], m["serverState"]] == [e["state"] for e in p["ends"]]
                assert m["cards"] == len(p["flight"]) and m["index"] == p["index"]
                return m

            server = page.get_by_test_id("end-server")
            client = page.get_by_test_id("end-client")
            click(server.get_by_role("button", name="listen", exact=True), "CLOSED", "LISTEN")
            click(client.get_by_role("button", name="connect", exact=True), "SYN-SENT", "LISTEN")
            click(page.get_by_test_id("drop-button").first, "SYN-SENT", "LISTEN")
            assert view.connection.counts["dropped"] == 1
            click(page.get_by_test_id("advance-button"), "SYN-SENT", "LISTEN")  # retransmits
            click(page.get_by_test_id("deliver-button").first, "SYN-SENT", "SYN-RECEIVED")
            click(page.get_by_test_id("duplicate-button").first, "SYN-SENT", "SYN-RECEIVED")
            m = click(page.get_by_test_id("deliver-button").first, "ESTABLISHED", "SYN-RECEIVED")
            assert_legible(m)
            assert m["bottom"] <= 800 and m["width"] <= 1280
            page.screenshot(path=artifact_path("connection_widget", "lost-syn-by-hand"))
            click(page.get_by_test_id("undo-button"), "SYN-SENT", "SYN-RECEIVED")
            # The ladder shows the loss and the retransmission Python recorded.
            assert page.locator("g.ladder-segment.dropped").count() == 1
            assert page.locator("g.ladder-segment.retransmission").count() == 1
            page.get_by_test_id("scenarios").select_option("lost-final-ack")
            confirmed += 1
            page.wait_for_function(
                f"document.body.dataset.confirmed == '{confirmed}'", timeout=5000
            )
            for _ in range(len(get_connection_scenario("lost-final-ack").steps)):
                click(
                    page.get_by_test_id("redo-button"),
                    *[e["state"] for e in view.position()["next"]["redo"]["ends"]],
                )
            page.screenshot(path=artifact_path("connection_widget", "lost-final-ack"))
            assert errors == []
        finally:
            browser.close()


@pytest.mark.browser
def test_in_voila_the_widget_steps_a_scenario_and_is_legible_at_1280x800(tmp_path):
    from browser_support import artifact_path, code_notebook, launch_options, voila
    from connection_layout import assert_nothing_clipped
    from playwright import sync_api

    notebook = code_notebook(
        tmp_path / "both-ends.ipynb",
        "from tcpviz.web.connection_widget import ConnectionWidget\n"
        'ConnectionWidget(scenario="lost-syn", theme="light")',
    )
    scenario = get_connection_scenario("lost-syn")
    played = ConnectionView()
    played.play("lost-syn")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(**launch_options())
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            errors = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            with voila(notebook, tmp_path) as url:
                page.goto(url, timeout=60_000)
                page.locator(".tcpviz-conn").wait_for(timeout=60_000)
                for n in range(1, len(scenario.steps) + 1):
                    page.get_by_test_id("redo-button").click()
                    page.wait_for_function(
                        f"document.querySelector('.tcpviz-conn').dataset.index == {n}"
                        " && !document.querySelector('.tcpviz-conn').classList.contains('tvc-pending')",
                        timeout=10_000,
                    )
                    played.act("redo")
                    m = page.evaluate(MEASURE_JS)
                    want = played.position(lookahead=False)
                    assert [m["clientState"], m["serverState"]] == [
                        e["state"] for e in want["ends"]
                    ]
                    assert m["cards"] == len(want["flight"])
                page.evaluate("document.querySelector('.tcpviz-conn').scrollIntoView()")
                m = page.evaluate(MEASURE_JS)
                assert_legible(m)
                assert_nothing_clipped(page, "Voila at 1280x800")
                page.screenshot(path=artifact_path("connection_voila", "lost-syn-done"))
                # Keyboard: Enter on the first segment of the ladder goes back to its moment.
                first = page.locator("g.ladder-segment").first
                step = int(first.get_attribute("data-sent-step"))
                first.focus()
                page.keyboard.press("Enter")
                page.wait_for_function(
                    f"document.querySelector('.tcpviz-conn').dataset.index == {step}",
                    timeout=10_000,
                )
            assert errors == []
        finally:
            browser.close()


@pytest.mark.browser
def test_in_jupyterlab_with_the_file_browser_open_the_widget_is_legible(tmp_path):
    from browser_support import (
        artifact_path,
        code_notebook,
        jupyterlab,
        launch_options,
        wait_for_connected_kernel,
    )
    from connection_layout import assert_nothing_clipped
    from playwright import sync_api

    root_dir = tmp_path / "notebooks"
    root_dir.mkdir()
    notebook = code_notebook(
        root_dir / "both-ends.ipynb",
        "from tcpviz.web.connection_widget import ConnectionWidget\n"
        'ConnectionWidget(scenario="simultaneous-close", theme="light")',
    )
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(**launch_options())
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            with jupyterlab(root_dir, tmp_path) as url:
                page.goto(f"{url}lab/tree/{notebook.name}", timeout=60_000)
                cell = page.locator(".jp-Notebook .jp-Cell").first
                cell.wait_for(timeout=60_000)
                wait_for_connected_kernel(url)
                if not page.locator(".jp-FileBrowser").first.is_visible():
                    page.keyboard.press("Control+Shift+F")  # show the file browser
                page.locator(".jp-FileBrowser").first.wait_for(state="visible", timeout=10_000)
                cell.locator(".jp-InputArea-editor").click()
                page.keyboard.press("Shift+Enter")
                widget = page.locator(".tcpviz-conn")
                widget.wait_for(timeout=60_000)
                for n in range(1, 8):
                    widget.get_by_test_id("redo-button").click()
                    page.wait_for_function(
                        f"document.querySelector('.tcpviz-conn').dataset.index == {n}"
                        " && !document.querySelector('.tcpviz-conn').classList.contains('tvc-pending')",
                        timeout=20_000,
                    )
                widget.evaluate("el => el.scrollIntoView()")
                m = page.evaluate(MEASURE_JS)
                page.screenshot(path=artifact_path("connection_jupyterlab", "file-browser-open"))
                assert_legible(m, arrows_shown=False)
                assert_nothing_clipped(page, "JupyterLab with the file browser open")
                assert [m["clientState"], m["serverState"]] == ["FIN-WAIT-1", "FIN-WAIT-1"]
        finally:
            browser.close()
