"""The notebook widget, without a browser: traits, messages from the page, the shared machine.

The page's messages are simulated the way ipywidgets delivers them, through
``widget._handle_custom_msg(content, buffers)``; what goes back to the page is recorded by
replacing the widget's ``_send``.
"""

from __future__ import annotations

import gc
import json
import logging
import re
import subprocess
import time
import warnings
from pathlib import Path

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

import tcpviz.drawing.diagram
import tcpviz.drawing.layout
import tcpviz.web.widget
from tcpviz.drawing.diagram import THEMES
from tcpviz.errors import InvalidTransition, NothingToUndo, TcpvizError, UnknownEvent
from tcpviz.model.machine import Machine
from tcpviz.model.table import Table, Transition, tcp_table
from tcpviz.teach.quiz import Quiz
from tcpviz.teach.scenarios import SCENARIOS
from tcpviz.web.payload import machine_payload, scenarios_payload, table_payload
from tcpviz.web.widget import MODES, StateMachineWidget, TCPWidget, WidgetError

STATIC = Path(tcpviz.web.widget.__file__).parent / "static"


class Page:
    """Records what a widget sends to its front end: state updates and custom messages."""

    def __init__(self, widget: TCPWidget):
        self.widget = widget
        self.updates: list[dict] = []
        self.custom: list[dict] = []
        widget._send = self._send  # type: ignore[method-assign]
        self.count = 0

    def _send(self, msg: dict, buffers=None) -> None:
        if msg.get("method") == "update":
            self.updates.append(msg["state"])
        elif msg.get("method") == "custom":
            self.custom.append(msg["content"])

    def send(self, **content) -> None:
        """What model.send(content) in the page does: one custom message to Python."""
        self.count += 1
        content.setdefault("id", f"m{self.count}")
        self.widget._handle_custom_msg(content, [])

    def clear(self) -> None:
        self.updates.clear()
        self.custom.clear()


@pytest.fixture
def widget() -> TCPWidget:
    w = TCPWidget()
    yield w
    w.close()


@pytest.fixture
def page(widget: TCPWidget) -> Page:
    return Page(widget)


def machine_traits(widget: TCPWidget) -> dict:
    return {key: getattr(widget, key) for key in machine_payload(widget.machine)}


# -- construction ---------------------------------------------------------------------------------


def test_a_new_widget_shows_the_start_of_the_classic_figure(widget, classic):
    assert widget.machine.table == classic
    assert widget.state == "CLOSED"
    assert widget.description == classic.descriptions["CLOSED"]
    assert widget.last == ""
    assert widget.visited == ["state_CLOSED"]
    assert widget.history == [] and widget.future == []
    assert (widget.history_shown, widget.history_hidden) == ([], 0)
    assert (widget.future_shown, widget.future_hidden) == ([], 0)
    assert widget.taken == []
    assert widget.enabled == ["edge_CLOSED__passive_open", "edge_CLOSED__active_open"]
    assert widget.error == ""
    assert widget.mode == "explore"
    assert widget.theme == "auto"
    assert widget.quiz == {}
    assert widget.scenario["name"] == "" and widget.scenario["playing"] is False


def test_the_widget_sends_the_laid_out_svg_the_table_and_the_scenarios(widget, classic):
    assert widget.svg == tcpviz.drawing.diagram.layout_svg(classic)
    assert widget.table == table_payload(classic)
    assert widget.scenarios == scenarios_payload(classic)
    for state_id in classic.state_ids.values():
        assert f'id="{state_id}"' in widget.svg
    for edge_id in classic.edge_ids.values():
        assert f'id="{edge_id}"' in widget.svg


def test_every_synced_trait_is_json(widget):
    state = widget.get_state()
    assert {"svg", "table", "scenarios", "history_shown", "future_shown", "taken"} <= set(state)
    for key, value in state.items():
        if not key.startswith("_"):  # ours; ipywidgets' own (a tuple of classes) are not
            assert json.loads(json.dumps(value)) == value, key


def test_the_front_end_files_exist_and_are_a_module_and_a_scoped_style_sheet():
    js = (STATIC / "widget.js").read_text(encoding="utf-8")
    assert "export default" in js and "function render(" in js
    assert "export function localModel(" in js
    assert not re.search(r"^\s*import\b", js, re.M), "the module must load nothing"
    assert "http://" not in js and "https://" not in js
    # The widget carries a small loader; the module and style sheet it delivers are these.
    module, style = tcpviz.web.widget.front_end()
    assert module.strip() == js.strip()
    css = (STATIC / "widget.css").read_text(encoding="utf-8")
    assert style.strip() == css.strip()


def test_every_css_rule_is_scoped_under_the_widget_root():
    # anywidget's _css is global: an unscoped rule would restyle the whole notebook.
    css = re.sub(r"/\*.*?\*/", "", (STATIC / "widget.css").read_text(encoding="utf-8"), flags=re.S)
    selectors = []
    for match in re.finditer(r"([^{}]+)\{", css):
        text = match.group(1).strip()
        if text.startswith("@"):
            continue  # @media: its inner rules are checked on their own
        selectors += [s.strip() for s in text.split(",")]
    assert len(selectors) > 50
    unscoped = [s for s in selectors if not s.startswith(".tcpviz-widget")]
    assert unscoped == []


def test_the_page_testids_the_browser_tests_rely_on_are_in_the_module():
    js = (STATIC / "widget.js").read_text(encoding="utf-8")
    for testid in (
        "state-name",
        "description",
        "event-button",
        "undo",
        "redo",
        "reset",
        "history-item",
        "history-start",
        "history-future",
        "history-earlier",
        "history-later",
        "error",
        "last-step",
        "scenario-select",
        "play",
        "pause",
        "step",
        "speed",
        "quiz-score",
        "quiz-feedback",
        "quiz-choice",
        "quiz-question",
        "tooltip",
    ):
        assert f'"{testid}"' in js, testid
    assert 'setAttr(button, "data-edge", t.id)' in js
    assert "`mode-${mode}`" in js


def test_extended_and_theme_and_mode_options():
    w = TCPWidget(extended=True, theme="dark", mode="scenario")
    try:
        assert w.machine.table == tcp_table(extended=True)
        assert any(t["extended"] for t in w.table["transitions"])
        assert [s["name"] for s in w.scenarios] == list(SCENARIOS)
        assert (w.theme, w.mode) == ("dark", "scenario")
    finally:
        w.close()


def test_every_theme_is_accepted_and_an_unknown_one_names_the_valid_ones(widget):
    for theme in THEMES:
        widget.theme = theme
        assert widget.theme == theme
    with pytest.raises(WidgetError, match=r"unknown theme: 'neon' \(must be one of \["):
        widget.theme = "neon"
    with pytest.raises(WidgetError, match="unknown theme"):
        TCPWidget(theme="neon")
    assert isinstance(WidgetError("x"), TcpvizError) and isinstance(WidgetError("x"), ValueError)


def test_an_unknown_mode_is_refused(widget):
    with pytest.raises(WidgetError, match=r"unknown mode: 'play' \(must be one of"):
        TCPWidget(mode="play")
    with pytest.raises(WidgetError):
        widget.mode = "play"
    assert widget.mode == "explore"


def test_a_machine_and_a_different_table_are_refused(classic, extended):
    with pytest.raises(WidgetError, match="give one of them"):
        TCPWidget(Machine(classic), table=extended)


def test_a_classic_machine_with_extended_is_refused(classic):
    with pytest.raises(WidgetError, match=r"Machine\(extended=True\)"):
        TCPWidget(Machine(classic), extended=True)
    w = TCPWidget(Machine(extended=True), extended=True)
    assert any(t["extended"] for t in w.table["transitions"])
    w.close()


def test_state_machine_widget_is_the_same_class():
    assert StateMachineWidget is TCPWidget


@pytest.mark.exe
def test_a_custom_table_is_laid_out_once_and_stepped():
    table = Table(
        [Transition("OFF", "press", "ON"), Transition("ON", "press", "OFF")],
        descriptions={"OFF": "dark", "ON": "light"},
        name="switch",
    )
    w = TCPWidget(table=table)
    page = Page(w)
    try:
        assert w.scenarios == []  # no TCP scenario plays on a light switch
        page.send(type="fire", event="press")
        assert (w.state, w.description, w.last) == ("ON", "light", "edge_OFF__press")
    finally:
        w.close()


# -- messages from the page --------------------------------------------------------------------------


def test_fire_by_edge_id_steps_the_machine_and_every_trait(widget, page, classic):
    page.send(type="fire", edge="edge_CLOSED__passive_open")
    assert widget.machine.state == "LISTEN"
    assert machine_traits(widget) == machine_payload(widget.machine)
    assert widget.last == "edge_CLOSED__passive_open"
    assert widget.history == [
        {
            "edge": "edge_CLOSED__passive_open",
            "label": "passive OPEN / create TCB",
            "source": "CLOSED",
            "target": "LISTEN",
        }
    ]
    assert widget.visited == ["state_CLOSED", "state_LISTEN"]
    assert widget.history_shown == ["edge_CLOSED__passive_open"]
    assert widget.error == ""


def test_fire_by_event_name_or_alias(widget, page):
    page.send(type="fire", event="listen")
    page.send(type="fire", event="SYN")
    page.send(type="fire", event="ACK")
    assert widget.state == "ESTABLISHED"
    assert [h["target"] for h in widget.history] == ["LISTEN", "SYN-RECEIVED", "ESTABLISHED"]


def test_undo_redo_reset_and_jump(widget, page):
    for event in ("active open", "SYN,ACK", "close"):
        page.send(type="fire", event=event)
    page.send(type="undo")
    assert widget.state == "ESTABLISHED"
    assert [f["edge"] for f in widget.future] == ["edge_ESTABLISHED__close"]
    page.send(type="redo")
    assert widget.state == "FIN-WAIT-1" and widget.future == []
    page.send(type="jump", index=1)
    assert widget.state == "SYN-SENT"
    assert len(widget.history) == 1 and len(widget.future) == 2
    page.send(type="jump", index=3)
    assert widget.state == "FIN-WAIT-1"
    page.send(type="reset")
    assert (widget.state, widget.history, widget.future) == ("CLOSED", [], [])
    assert widget.error == ""


def test_every_message_is_acknowledged_with_its_id(widget, page):
    page.send(type="fire", edge="edge_CLOSED__passive_open", id="a1")
    page.send(type="fire", edge="edge_CLOSED__passive_open", id="a2")  # not enabled now
    page.send(type="nonsense", id="a3")
    widget._handle_custom_msg("not even a dict", [])
    assert page.custom == [
        {"type": "ack", "id": "a1"},
        {"type": "ack", "id": "a2"},
        {"type": "ack", "id": "a3"},
        {"type": "ack", "id": None},
    ]


def test_one_step_is_one_small_update_without_the_svg(widget, page):
    page.send(type="fire", edge="edge_CLOSED__active_open")
    assert len(page.updates) == 1  # hold_sync: the page gets the step in one message
    update = page.updates[0]
    assert {"state", "last", "history_shown", "enabled", "visited"} <= set(update)
    assert not {"svg", "table", "scenarios"} & set(update)
    assert len(json.dumps(update)) < 2000


def client_and_server(table: Table) -> list[Transition]:
    """A client's life then a server's: CLOSED back to CLOSED in twelve steps."""
    machine = Machine(table)
    machine.run("active open", "SYN,ACK", "close", "ACK of FIN", "FIN", "timeout")
    machine.run("passive open", "SYN", "ACK of SYN", "FIN", "close", "ACK of FIN")
    return list(machine.history)


def test_a_step_sends_the_same_few_values_after_a_long_session(widget, page, classic):
    loop = client_and_server(classic)
    sizes = []
    for history in (len(loop), 10 * len(loop), 100 * len(loop)):
        widget.reset()
        widget.machine.run(*(loop * (history // len(loop))))
        page.clear()
        page.send(type="fire", edge=classic.edge_ids[loop[0]])
        (update,) = page.updates
        assert "history" not in update and "future" not in update
        assert len(json.dumps(update)) < 3000
        update.pop("history_hidden", None)  # a count: one more digit for ten times the steps
        sizes.append(len(json.dumps(update)))
    # Only the window travels: the message after 1,200 steps is as big as after 120.
    assert sizes[1] == sizes[2]
    assert len(widget.history_shown) == TCPWidget.history_window
    assert widget.history_hidden == 100 * len(loop) + 1 - TCPWidget.history_window
    assert len(widget.history) == 100 * len(loop) + 1  # Python still has every step


class SmallWindow(TCPWidget):
    history_window = 3


def test_the_page_gets_a_window_of_the_history_and_of_the_steps_to_redo(classic):
    w = SmallWindow()
    page = Page(w)
    loop = client_and_server(classic)
    ids = [classic.edge_ids[t] for t in loop]
    try:
        for edge in ids[:5]:
            page.send(type="fire", edge=edge)
        assert (w.history_shown, w.history_hidden) == (ids[2:5], 2)
        assert (w.future_shown, w.future_hidden) == ([], 0)
        # Every arrow taken before the last step stays marked, listed or not.
        assert w.taken == ids[:4] and w.last == ids[4]
        assert w.visited == [classic.state_ids[s] for s in w.machine.visited]
        # "… 2 earlier steps" goes back to step 2: the list then shows the steps before it.
        page.send(type="jump", index=2)
        assert (w.history_shown, w.history_hidden) == (ids[:2], 0)
        assert (w.future_shown, w.future_hidden) == (ids[2:5], 0)
        assert w.taken == ids[:1]
        page.send(type="jump", index=0)
        assert (w.history_shown, w.history_hidden) == ([], 0)
        assert (w.future_shown, w.future_hidden) == (ids[:3], 2)
        # "… 2 later steps" goes forward to step 4, the first one not listed.
        page.send(type="jump", index=4)
        assert (w.history_shown, w.history_hidden) == (ids[1:4], 1)
        assert (w.future_shown, w.future_hidden) == (ids[4:5], 0)
        page.send(type="undo")
        assert (w.history_shown, w.history_hidden) == (ids[:3], 0)
        assert w.future_shown == ids[3:5]
        page.send(type="redo")
        page.send(type="redo")
        assert (w.history_shown, w.history_hidden, w.future_shown) == (ids[2:5], 2, [])
        # Python keeps the whole history, in the format it always had.
        assert [h["edge"] for h in w.history] == ids[:5]
        assert w.history[0] == {
            "edge": ids[0],
            "label": loop[0].label,
            "source": "CLOSED",
            "target": "SYN-SENT",
        }
        assert w.error == ""
    finally:
        w.close()


def test_the_window_follows_a_machine_moved_from_a_cell(classic):
    machine = Machine(classic)
    w = SmallWindow(machine)
    loop = client_and_server(classic)
    try:
        machine.run(*loop)  # one change for the whole run
        assert machine_traits(w) == machine_payload(machine, window=3)
        machine.jump(2)  # ESTABLISHED
        assert machine_traits(w) == machine_payload(machine, window=3)
        assert w.future_hidden == len(loop) - 2 - 3
        machine.fire("close")  # forgets what could be redone
        assert (w.future_shown, w.future_hidden) == ([], 0)
        assert machine_traits(w) == machine_payload(machine, window=3)
        assert [h["edge"] for h in w.future] == []
    finally:
        w.close()


def test_the_history_window_must_be_a_positive_number():
    class NoWindow(TCPWidget):
        history_window = 0

    with pytest.raises(ValueError, match="window must be a whole number of steps >= 1, not 0"):
        NoWindow()
    w = TCPWidget()
    try:
        with pytest.raises(WidgetError, match="history_shown must list edge ids"):
            w.history_shown = [1, 2]
    finally:
        w.close()


def test_a_transition_not_enabled_is_an_error_in_the_widget_and_changes_nothing(widget, page):
    page.send(type="fire", edge="edge_LISTEN__rcv_syn")
    assert widget.state == "CLOSED" and widget.machine.state == "CLOSED"
    assert "not allowed in CLOSED" in widget.error
    assert "'passive OPEN'" in widget.error  # the message lists what is allowed


def test_errors_from_the_page_are_shown_never_raised(widget, page):
    cases = [
        ({"type": "fire", "edge": "edge_nowhere"}, "unknown transition: 'edge_nowhere'"),
        ({"type": "fire", "event": "bogus"}, "unknown event: 'bogus'"),
        ({"type": "fire"}, "unknown event"),
        ({"type": "undo"}, "nothing to undo"),
        ({"type": "redo"}, "nothing to redo"),
        ({"type": "jump", "index": 5}, "cannot jump to step 5"),
        ({"type": "jump", "index": True}, "cannot jump to step True"),
        ({"type": "jump", "index": "1"}, "cannot jump to step '1'"),
        ({"type": "mode", "mode": "play"}, "unknown mode"),
        ({"type": "explode"}, "unknown message type: 'explode'"),
        ({}, "unknown message type: None"),
        ({"type": "scenario", "action": "rewind"}, "unknown scenario action"),
        ({"type": "scenario", "action": "step"}, "choose a scenario first"),
        ({"type": "scenario", "action": "select", "name": "nope"}, "unknown scenario"),
        ({"type": "quiz_answer", "state": "LISTEN"}, "no quiz is running"),
    ]
    for content, message in cases:
        widget.error = ""
        page.send(**content)
        assert message in widget.error, (content, widget.error)
        assert widget.state == "CLOSED" and widget.machine.history == ()


def test_a_successful_step_clears_the_error(widget, page):
    page.send(type="undo")
    assert widget.error
    page.send(type="fire", event="listen")
    assert widget.error == ""
    page.send(type="redo")
    assert widget.error
    page.send(type="dismiss")
    assert widget.error == ""


def test_a_bug_in_a_handler_is_logged_and_shown_but_never_escapes(
    widget, page, monkeypatch, caplog
):
    def broken(self, event):
        raise RuntimeError("disk on fire")

    # Machine has __slots__ (replay keeps thousands): patch the class, for this test only.
    monkeypatch.setattr(type(widget.machine), "fire", broken)
    with caplog.at_level(logging.ERROR, logger="tcpviz.web.widget"):
        page.send(type="fire", event="listen")
    assert "internal error" in widget.error and "disk on fire" in widget.error
    assert "disk on fire" in caplog.text
    assert page.custom[-1]["type"] == "ack"


def test_a_front_end_that_cannot_be_reached_breaks_nothing(widget):
    def closed(*args, **kwargs):
        raise RuntimeError("comm closed")

    widget._send = closed  # type: ignore[method-assign]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the machine turns observer errors into warnings
        widget._handle_custom_msg({"type": "fire", "event": "listen"}, [])
        widget.machine.fire("SYN")
    assert widget.machine.state == "SYN-RECEIVED"


# -- Python is the authority --------------------------------------------------------------------------


def test_python_fire_updates_the_traits_and_returns_the_transition(widget):
    t = widget.fire("active open")
    assert t.target == "SYN-SENT" and widget.state == "SYN-SENT"
    assert widget.run("SYN,ACK", "close")[-1].target == "FIN-WAIT-1"
    assert widget.undo().event == "CLOSE"
    assert widget.redo().event == "CLOSE"
    widget.jump(1)
    assert widget.state == "SYN-SENT"
    widget.reset()
    assert widget.state == "CLOSED"


def test_a_bad_event_from_python_raises_and_is_shown(widget):
    with pytest.raises(UnknownEvent, match="unknown event: 'bogus'"):
        widget.fire("bogus")
    assert "unknown event: 'bogus'" in widget.error
    with pytest.raises(InvalidTransition, match="not allowed in CLOSED"):
        widget.fire("rcv FIN")
    assert "not allowed in CLOSED" in widget.error
    with pytest.raises(NothingToUndo):
        widget.undo()
    with pytest.raises(InvalidTransition):
        widget.run("listen", "FIN")
    assert widget.state == "CLOSED"  # run is all or nothing


def test_the_machine_fired_from_a_cell_updates_the_widget(classic):
    machine = Machine(classic)
    w = TCPWidget(machine)
    try:
        machine.fire("listen")
        machine.fire("SYN")
        assert w.state == "SYN-RECEIVED"
        assert machine_traits(w) == machine_payload(machine)
        machine.undo()
        assert w.state == "LISTEN" and len(w.future) == 1
    finally:
        w.close()


def test_two_widgets_on_one_machine_stay_consistent():
    machine = Machine()
    first, second = TCPWidget(machine), TCPWidget(machine, theme="dark")
    try:
        Page(first).send(type="fire", event="active open")
        assert second.state == "SYN-SENT"
        Page(second).send(type="fire", event="SYN")
        assert first.state == "SYN-RECEIVED"
        assert machine_traits(first) == machine_traits(second) == machine_payload(machine)
        first.undo()
        assert second.state == "SYN-SENT" and second.future == first.future
        assert (first.theme, second.theme) == ("auto", "dark")  # the view stays each one's own
    finally:
        first.close()
        second.close()


def test_observers_of_the_machine_still_hear_every_change(widget, page):
    heard = []
    widget.machine.subscribe(lambda machine, change: heard.append((change.action, change.state)))
    page.send(type="fire", event="listen")
    page.send(type="undo")
    page.send(type="redo")
    page.send(type="reset")
    assert heard == [
        ("fire", "LISTEN"),
        ("undo", "CLOSED"),
        ("redo", "LISTEN"),
        ("reset", "CLOSED"),
    ]


def test_a_closed_widget_stops_following_the_machine():
    machine = Machine()
    w = TCPWidget(machine)
    w.close()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        machine.fire("listen")
    assert w.state == "CLOSED"  # no longer updated, and nothing broke


def test_a_widget_that_failed_to_follow_does_not_break_the_machine(widget, monkeypatch, caplog):
    def broken(machine, change):
        raise RuntimeError("view exploded")

    monkeypatch.setattr(widget, "_on_change", broken)
    with warnings.catch_warnings(), caplog.at_level(logging.ERROR, logger="tcpviz.web.widget"):
        warnings.simplefilter("error")
        widget.machine.fire("listen")
    assert widget.machine.state == "LISTEN"
    assert "view exploded" in caplog.text


def test_a_forgotten_widget_does_not_stay_subscribed():
    machine = Machine()
    w = TCPWidget(machine)
    observers = len(machine._observers)
    w.close()  # ipywidgets keeps open widgets alive; once closed, the machine lets go
    del w
    gc.collect()
    assert len(machine._observers) == observers - 1
    machine.fire("listen")


def test_the_svg_is_sent_once_and_graphviz_never_runs_per_step(monkeypatch):
    svg_sets = []
    w = TCPWidget()
    w.observe(lambda change: svg_sets.append(change), names="svg")

    def no_graphviz(*args, **kwargs):
        raise AssertionError("Graphviz ran after the widget was built")

    monkeypatch.setattr(subprocess, "run", no_graphviz)
    monkeypatch.setattr(subprocess, "Popen", no_graphviz)
    # Where the names are looked up: the layout module runs dot, the widget calls layout_svg.
    monkeypatch.setattr(tcpviz.drawing.layout, "run_dot", no_graphviz)
    monkeypatch.setattr(tcpviz.web.widget, "layout_svg", no_graphviz)
    page = Page(w)
    try:
        for _ in range(5):
            for event in ("active open", "SYN,ACK", "close", "ACK", "FIN", "timeout"):
                page.send(type="fire", event=event)
            page.send(type="undo")
            page.send(type="jump", index=0)
        page.send(type="scenario", action="play", name="active-close")
        for _ in range(6):
            page.send(type="scenario", action="step")
        page.send(type="quiz_start", seed=1)
        page.send(type="quiz_answer", state="LISTEN")
        w.theme = "dark"
        assert w.error == ""
        assert svg_sets == []
        assert not any("svg" in update for update in page.updates)
    finally:
        w.close()


# -- scenarios -----------------------------------------------------------------------------------------


def test_play_resets_to_the_start_and_steps_to_the_end(widget, page):
    widget.fire("listen")
    widget.play("active-close", autoplay=False)
    assert widget.mode == "scenario"
    assert widget.state == "CLOSED" and widget.history == []
    assert widget.scenario == {
        "name": "active-close",
        "index": 0,
        "total": 6,
        "playing": False,
        "speed": 1.0,
        "on_track": True,
    }
    states = []
    for index in range(6):
        page.send(type="scenario", action="step", index=index)
        states.append(widget.state)
        assert widget.scenario["index"] == index + 1
    assert states == [
        "SYN-SENT",
        "ESTABLISHED",
        "FIN-WAIT-1",
        "FIN-WAIT-2",
        "TIME-WAIT",
        "CLOSED",
    ]
    assert widget.error == ""
    page.send(type="scenario", action="step")
    assert "is finished" in widget.error
    with pytest.raises(WidgetError, match="is finished"):
        widget.step()


def test_playing_stops_by_itself_at_the_end(widget, page):
    page.send(type="scenario", action="play", name="handshake-client")
    assert widget.scenario["playing"] is True
    page.send(type="scenario", action="step", index=0)
    assert widget.scenario["playing"] is True
    page.send(type="scenario", action="step", index=1)
    assert widget.state == "ESTABLISHED"
    assert widget.scenario["playing"] is False and widget.scenario["index"] == 2
    page.send(type="scenario", action="play")  # again, from the start
    assert widget.state == "CLOSED" and widget.scenario["playing"] is True


def test_a_late_timer_from_a_second_view_does_not_step_twice(widget, page):
    widget.play("handshake-server")
    page.send(type="scenario", action="step", index=0)
    page.send(type="scenario", action="step", index=0)  # the other view saw index 0 too
    assert widget.state == "LISTEN" and widget.scenario["index"] == 1
    assert widget.error == ""


def test_leaving_the_path_pauses_and_step_brings_it_back(widget, page):
    widget.play("handshake-client")
    widget.step()  # SYN-SENT
    page.send(type="fire", event="close")  # off the scenario's path
    assert widget.scenario["on_track"] is False
    assert widget.scenario["playing"] is False
    assert widget.step() is None  # back on track: to SYN-SENT, one step done
    assert widget.state == "SYN-SENT"
    assert widget.scenario["on_track"] is True and widget.scenario["index"] == 1
    assert widget.step().target == "ESTABLISHED"


def test_undo_during_a_scenario_moves_the_scenario_back(widget):
    widget.play("handshake-server", autoplay=False)
    widget.step()
    widget.step()
    widget.undo()
    assert widget.scenario["index"] == 1 and widget.scenario["on_track"] is True
    widget.reset()  # the machine's start is the scenario's: back at step 0
    assert widget.scenario["index"] == 0 and widget.scenario["on_track"] is True
    assert widget.step().target == "LISTEN"


def test_play_off_track_recovers_and_plays(widget, page):
    widget.play("handshake-client", autoplay=False)
    widget.step()
    widget.fire("close")
    page.send(type="scenario", action="play")
    assert widget.scenario["playing"] is True and widget.scenario["on_track"] is True
    assert widget.state == "SYN-SENT"


def test_pause_and_speed(widget, page):
    page.send(type="scenario", action="play", name="passive-close")
    page.send(type="scenario", action="speed", value=2.5)
    assert widget.scenario["speed"] == 2.5
    page.send(type="scenario", action="pause")
    assert widget.scenario["playing"] is False
    for bad in (0.1, 10, "fast", True, None):
        widget.error = ""
        page.send(type="scenario", action="speed", value=bad)
        assert "speed must be" in widget.error
    assert widget.scenario["speed"] == 2.5


def test_leaving_scenario_mode_pauses_playback(widget, page):
    widget.play("handshake-client")
    page.send(type="mode", mode="explore")
    assert widget.scenario["playing"] is False


def test_scenario_names_are_friendly_and_errors_list_the_playable_ones(widget):
    widget.play("Handshake client", autoplay=False)
    assert widget.scenario["name"] == "handshake-client"
    # An extended scenario does not play on the classic figure: the error says what does.
    with pytest.raises(WidgetError, match="unknown scenario for this table: 'abort'") as error:
        widget.play("abort")
    assert "'handshake-server'" in str(error.value)
    assert "unknown scenario" in widget.error
    extended = TCPWidget(extended=True)
    try:
        extended.play("abort", autoplay=False)
        extended.step()
        extended.step()
        assert extended.step().sent == "RST"
    finally:
        extended.close()


def test_a_scenario_on_a_machine_that_starts_elsewhere_first_walks_to_its_start():
    machine = Machine(state="ESTABLISHED")
    w = TCPWidget(machine)
    try:
        w.play("handshake-client", autoplay=False)
        # ESTABLISHED -> CLOSED the shortest way the table allows, then the scenario.
        assert w.state == "CLOSED"
        assert w.scenario["index"] == 0 and w.scenario["on_track"] is True
        assert w.step().target == "SYN-SENT"
        assert w.step().target == "ESTABLISHED"
        assert w.scenario["index"] == 2
    finally:
        w.close()


# -- the quiz ------------------------------------------------------------------------------------------


def test_a_quiz_asks_the_same_questions_as_tcpviz_quiz(widget, page):
    quiz = widget.start_quiz(seed=7)
    reference = Quiz(tcp_table(), seed=7)
    assert widget.mode == "quiz"
    assert widget.active_quiz is quiz
    for _ in range(quiz.length):
        assert widget.quiz["question"] == reference.question.as_dict()
        page.send(type="quiz_answer", state=reference.expected)
        reference.answer(reference.expected)
    assert widget.quiz["finished"] is True
    assert widget.quiz["score"] == [quiz.length, quiz.length]


def test_a_wrong_answer_is_explained_and_marks_the_right_arrow(widget, page):
    widget.start_quiz(seed=1)
    question = widget.quiz["question"]
    wrong = next(s for s in question["choices"] if s != widget.active_quiz.expected)
    page.send(type="quiz_answer", state=wrong)
    last = widget.quiz["last"]
    assert last["correct"] is False and last["given"] == wrong
    assert last["explanation"].startswith(f"Not {wrong}")
    assert widget.quiz["score"] == [0, 1]
    edge = widget.machine.table.edge_ids[widget.active_quiz.history[-1].transition]
    assert last["edge"] == edge
    assert widget.state == "CLOSED"  # the quiz does not move the machine


def test_quiz_errors_are_shown(widget, page):
    widget.start_quiz(seed=2, length=1)
    page.send(type="quiz_answer", state="NOWHERE")
    assert "unknown state: 'NOWHERE'" in widget.error
    assert widget.quiz["score"] == [0, 0]
    page.send(type="quiz_answer", state=widget.active_quiz.expected)
    page.send(type="quiz_answer", state="LISTEN")
    assert "the quiz is finished" in widget.error
    page.send(type="quiz_start", seed=2)
    assert widget.quiz["score"] == [0, 0] and widget.quiz["seed"] == 2


def test_switching_to_quiz_mode_starts_a_quiz(widget, page):
    page.send(type="mode", mode="quiz")
    assert widget.mode == "quiz" and widget.quiz["question"]["number"] == 1
    w = TCPWidget(mode="quiz")
    try:
        assert w.quiz["question"] is not None
    finally:
        w.close()


def test_a_scenario_quiz(widget):
    widget.start_quiz(scenario="handshake-server")
    assert widget.quiz["scenario"] == "handshake-server"
    assert widget.quiz["question"]["event"] == "passive OPEN"


def test_the_modes_constant():
    assert MODES == ("explore", "scenario", "quiz")


# -- a property test: the widget driven by page messages behaves as a plain machine ---------------


class SmallWindow2(TCPWidget):
    history_window = 2


class WidgetDrivenByThePage(RuleBasedStateMachine):
    """Two widgets on one machine, driven by messages; a separate plain machine is the oracle."""

    def __init__(self):
        super().__init__()
        self.table = tcp_table(extended=True)
        self.oracle = Machine(self.table)
        self.machine = Machine(self.table)
        # The second one sends a window of two steps, so that windows are crossed often.
        self.widgets = [TCPWidget(self.machine), SmallWindow2(self.machine)]
        self.pages = [Page(w) for w in self.widgets]
        self.edges = list(self.table.edge_ids.values())
        self.by_id = {v: k for k, v in self.table.edge_ids.items()}
        self.ok = True

    def apply(self, which: int, content: dict, oracle_action) -> None:
        try:
            oracle_action()
            self.ok = True
        except TcpvizError:
            self.ok = False
        self.which = which
        self.pages[which].send(**content)

    @rule(which=st.integers(0, 1), data=st.data())
    def fire_an_enabled_edge(self, which, data):
        enabled = self.widgets[which].enabled
        edge = data.draw(st.sampled_from(enabled)) if enabled else self.edges[0]
        self.apply(
            which, {"type": "fire", "edge": edge}, lambda: self.oracle.fire(self.by_id[edge])
        )

    @rule(which=st.integers(0, 1), edge=st.sampled_from(sorted(tcp_table(True).edge_ids.values())))
    def fire_any_edge(self, which, edge):
        self.apply(
            which, {"type": "fire", "edge": edge}, lambda: self.oracle.fire(self.by_id[edge])
        )

    @rule(
        which=st.integers(0, 1),
        event=st.sampled_from(["SYN", "ack", "FIN", "close", "listen", "RST", "timeout", "nope"]),
    )
    def fire_an_event_name(self, which, event):
        self.apply(which, {"type": "fire", "event": event}, lambda: self.oracle.fire(event))

    @rule(which=st.integers(0, 1))
    def undo(self, which):
        self.apply(which, {"type": "undo"}, self.oracle.undo)

    @rule(which=st.integers(0, 1))
    def redo(self, which):
        self.apply(which, {"type": "redo"}, self.oracle.redo)

    @rule(which=st.integers(0, 1), index=st.integers(-1, 12))
    def jump(self, which, index):
        self.apply(which, {"type": "jump", "index": index}, lambda: self.oracle.jump(index))

    @precondition(lambda self: len(self.oracle.history) > 3)
    @rule(which=st.integers(0, 1))
    def reset(self, which):
        self.apply(which, {"type": "reset"}, self.oracle.reset)

    @invariant()
    def the_widgets_show_the_oracle(self):
        for w in self.widgets:
            assert machine_traits(w) == machine_payload(self.oracle, window=w.history_window)
            assert [h["edge"] for h in w.history] == [
                self.table.edge_ids[t] for t in self.oracle.history
            ]
        assert self.machine.history == self.oracle.history

    @invariant()
    def errors_are_shown_exactly_when_the_oracle_refused(self):
        if hasattr(self, "which"):
            error = self.widgets[self.which].error
            assert (error == "") == self.ok, error

    @invariant()
    def every_message_was_acknowledged(self):
        for page in self.pages:
            assert len(page.custom) == page.count

    def teardown(self):
        for w in self.widgets:
            w.close()


WidgetDrivenByThePage.TestCase.settings = settings(
    max_examples=40, stateful_step_count=25, deadline=None
)
TestWidgetDrivenByThePage = WidgetDrivenByThePage.TestCase


# -- the page in a real Chromium, driven by this Python widget ------------------------------------
#
# widget.js runs in headless Chromium against a model that forwards every message to a real
# TCPWidget (through Playwright's exposed functions) and applies the state updates and custom
# messages the widget sends back, in order, as anywidget would. No Jupyter server is needed, so
# the windowed history can be checked click by click.

BRIDGE_JS = """
const listeners = new Map();
const traits = INITIAL;
const emit = (name, value) => { for (const cb of [...(listeners.get(name) || [])]) cb(value); };
function deliver(sent) {
  for (const m of sent) {
    if (m.state) {
      Object.assign(traits, m.state);
      for (const key of Object.keys(m.state)) emit(`change:${key}`, m.state[key]);
    } else {
      emit("msg:custom", m.content);
    }
  }
}
const model = {
  get: (key) => traits[key],
  set: (key, value) => { traits[key] = value; emit(`change:${key}`, value); },
  save_changes() {},
  on(name, cb) { if (!listeners.has(name)) listeners.set(name, new Set()); listeners.get(name).add(cb); },
  off(name, cb) { listeners.get(name)?.delete(cb); },
  // Python answers later, as over a real comm: the page paints the click before it hears back.
  send(msg) { window.pythonHandles(msg).then(deliver); },
};
window.tcpvizDeliver = deliver;
render({ model, el: document.getElementById("widget") });
"""

# What the page shows of the machine, read at once.
SHOWN_JS = """
(root) => ({
  current: [...root.querySelectorAll("svg .current")].map((g) => g.id),
  last: [...root.querySelectorAll("svg .last")].map((g) => g.id),
  taken: [...root.querySelectorAll("svg .taken")].map((g) => g.id).sort(),
  state: root.querySelector('[data-testid="state-name"]').textContent,
  buttons: [...root.querySelectorAll('[data-testid="event-button"]')].map((b) => b.dataset.edge),
  rows: [...root.querySelectorAll('[data-testid="history"] li')].map((li) => {
    const b = li.querySelector("button");
    return [b.dataset.testid, Number(b.dataset.index), li.value, b.textContent];
  }),
  here: root.querySelector('[data-testid="history"] [aria-current="step"]')?.dataset.index,
  focus_inside: root.contains(document.activeElement),
  error: root.querySelector('[data-testid="error-box"]').hidden ? "" : root.querySelector('[data-testid="error"]').textContent,
})
"""


class Bridge:
    """A Python widget and its page in Chromium, wired together."""

    def __init__(self, page, widget: TCPWidget):
        self.page = page
        self.widget = widget
        self.sent: list[dict] = []
        widget._send = self._record  # type: ignore[method-assign]
        page.expose_function("pythonHandles", self._handle)
        state = {k: v for k, v in widget.get_state().items() if not k.startswith("_")}
        script = (STATIC / "widget.js").read_text(encoding="utf-8")
        boot = BRIDGE_JS.replace("INITIAL", json.dumps(state))
        css = (STATIC / "widget.css").read_text(encoding="utf-8")
        page.set_content(
            f'<!DOCTYPE html><html><head><style>{css}</style></head><body><div id="widget">'
            f'</div><script type="module">{script}\n{boot}</script></body></html>'
        )
        self.root = page.locator(".tcpviz-widget")
        self.root.wait_for()

    def _record(self, msg: dict, buffers=None) -> None:
        if msg.get("method") == "update":
            self.sent.append({"state": msg["state"]})
        elif msg.get("method") == "custom":
            self.sent.append({"content": msg["content"]})

    def _handle(self, msg: dict) -> list[dict]:
        self.widget._handle_custom_msg(msg, [])
        sent, self.sent = self.sent, []
        return sent

    def push(self) -> None:
        """Send the page what Python changed on its own (a cell stepping the machine)."""
        sent, self.sent = self.sent, []
        self.page.evaluate("(sent) => window.tcpvizDeliver(sent)", sent)

    def expected(self) -> dict[str, object]:
        """What the page must show for the Python machine, with the widget's window."""
        w, table = self.widget, self.widget.machine.table
        names = {t: t.event for t in table.transitions}
        by_id = {edge: t for t, edge in table.edge_ids.items()}
        here = w.history_hidden + len(w.history_shown)
        rows = [["history-start", 0, 0, f"{w.machine.start} (start)"]]
        if w.history_hidden:
            n = w.history_hidden
            rows.append(["history-earlier", n, n, f"… {n} earlier step{'s' * (n != 1)}"])
        for i, edge in enumerate(w.history_shown + w.future_shown):
            kind = "history-item" if i < len(w.history_shown) else "history-future"
            index = w.history_hidden + i + 1
            t = by_id[edge]
            rows.append([kind, index, index, f"{names[t]} → {t.target}"])
        if w.future_hidden:
            n, index = w.future_hidden, here + len(w.future_shown) + 1
            rows.append(["history-later", index, index, f"… {n} later step{'s' * (n != 1)}"])
        return {
            "current": [table.state_ids[w.machine.state]],
            "last": [w.last] if w.last else [],
            "taken": sorted(w.taken),
            "state": w.machine.state,
            "buttons": w.enabled,
            "rows": rows,
            "here": str(here),
            "error": "",
        }

    def shows(self, *, focus_inside: bool | None = None) -> dict[str, object]:
        """Wait (bounded) until the page shows the Python machine; return what it shows."""
        want = self.expected()
        deadline = time.monotonic() + 5
        while True:  # bounded by the deadline
            seen = self.root.evaluate(SHOWN_JS)
            inside = seen.pop("focus_inside")
            if seen == want or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert seen == want
        if focus_inside is not None:
            assert inside is focus_inside
        return seen


@pytest.fixture
def chromium_page():
    from browser_support import WAIT_MS, launch_options  # skips without Chromium, outside CI
    from playwright.sync_api import sync_playwright

    options = launch_options()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(**options)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(WAIT_MS)
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            yield page
            assert errors == []
        finally:
            browser.close()


@pytest.mark.browser
def test_the_page_lists_a_window_and_goes_back_through_it(chromium_page, classic):
    widget = SmallWindow()
    bridge = Bridge(chromium_page, widget)
    root = bridge.root
    try:
        bridge.shows()
        loop = client_and_server(classic)
        for t in loop[:8]:
            root.locator(f'[data-testid="event-button"][data-edge="{classic.edge_ids[t]}"]').click()
            # The clicked button stays, or the keyboard moves to another one: never lost.
            bridge.shows(focus_inside=True)
        assert widget.history_hidden == 5
        assert len(widget.taken) == 7  # arrows taken long ago stay marked in the diagram

        # "… 5 earlier steps" goes back to step 5, and the list shows the steps before it.
        root.locator('[data-testid="history-earlier"]').click()
        assert widget.machine.state == loop[4].target and len(widget.future) == 3
        bridge.shows()
        root.locator('[data-testid="history-earlier"]').click()  # step 2
        root.locator('[data-testid="history-start"]').click()
        bridge.shows()
        assert widget.future_hidden == len(loop[:8]) - 3
        root.locator('[data-testid="history-later"]').click()  # step 4, the first not listed
        assert len(widget.machine.history) == 4
        bridge.shows()
        root.locator('[data-testid="history-future"][data-index="6"]').click()
        assert len(widget.machine.history) == 6
        bridge.shows()

        # Keys cross the window's edge: the page cannot paint an undo past the steps it was
        # sent, so it waits for Python there.
        root.focus()
        for _ in range(5):
            chromium_page.keyboard.press("ArrowLeft")
        bridge.shows()
        assert len(widget.machine.history) == 1
        chromium_page.keyboard.press("ArrowRight")
        bridge.shows()
        assert len(widget.machine.history) == 2

        # A cell steps the shared machine: Python sends the change, the page follows.
        widget.machine.jump(8)
        bridge.push()
        bridge.shows()
        assert widget.machine.state == loop[7].target
        chromium_page.keyboard.press("Escape")  # resets nothing (JupyterLab's everyday key)
        bridge.shows()
        assert len(widget.machine.history) == 8
        root.locator('[data-testid="reset"]').click()
        bridge.shows()
        assert widget.machine.history == ()
    finally:
        widget.close()


@pytest.mark.browser
def test_a_long_standalone_session_lists_the_last_steps_and_stays_correct(chromium_page, classic):
    """The standalone page keeps every step; past 500 it lists the last 500 and the rest
    behind "… N earlier steps"."""
    from playwright.sync_api import expect

    from tcpviz.web.html import standalone_html

    chromium_page.set_content(standalone_html(classic, theme="light"))
    root = chromium_page.locator(".tcpviz-widget")
    root.wait_for()
    loop = client_and_server(classic)
    steps = 530
    edges = [classic.edge_ids[loop[i % len(loop)]] for i in range(steps)]
    root.evaluate(
        """(root, edges) => { for (const edge of edges)
             root.querySelector(`[data-testid="event-button"][data-edge="${edge}"]`).click(); }""",
        edges,
    )
    machine = Machine(classic)
    machine.run(*(loop[i % len(loop)] for i in range(steps)))
    history = root.locator('[data-testid="history"]')
    state = root.locator('[data-testid="state-name"]')
    expect(history.locator('[data-testid="history-earlier"]')).to_have_text("… 30 earlier steps")
    assert history.locator('[data-testid="history-item"]').count() == 500
    last_item = history.locator('[data-testid="history-item"]').last
    assert last_item.get_attribute("data-index") == str(steps)
    assert last_item.get_attribute("aria-current") == "step"
    assert state.inner_text() == machine.state
    taken = root.evaluate("(root) => [...root.querySelectorAll('svg .taken')].map((g) => g.id)")
    assert sorted(taken) == sorted({classic.edge_ids[t] for t in machine.history[:-1]})

    history.locator('[data-testid="history-earlier"]').click()  # back to step 30
    machine.jump(30)
    expect(state).to_have_text(machine.state)
    assert history.locator('[data-testid="history-earlier"]').count() == 0
    assert history.locator('[data-testid="history-item"]').count() == 30
    assert history.locator('[data-testid="history-future"]').count() == 500
    history.locator('[data-testid="history-start"]').click()
    expect(history.locator('[data-testid="history-later"]')).to_have_text("… 30 later steps")
    history.locator('[data-testid="history-later"]').click()  # forward to step 501
    machine.jump(501)
    expect(state).to_have_text(machine.state)
    expect(history.locator('[data-testid="history-earlier"]')).to_have_text("… 1 earlier step")
    assert history.locator('[data-testid="history-future"]').count() == steps - 501
    # The list's numbers are the steps' numbers.
    assert history.locator("li").nth(2).evaluate("(li) => li.value") == 2
    root.locator('[data-testid="reset"]').click()
    expect(root.locator('[data-testid="history"] li')).to_have_count(1)


def test_a_reset_can_be_taken_back_until_the_next_change(widget, page):
    page.send(type="fire", event="active open")
    page.send(type="fire", event="SYN,ACK")
    page.send(type="undo")
    assert widget.can_undo_reset is False
    page.send(type="reset")
    assert widget.state == "CLOSED" and widget.can_undo_reset is True
    page.send(type="undo_reset")
    assert widget.error == "" and widget.can_undo_reset is False
    assert widget.state == "SYN-SENT"  # where it was, with the undone step to redo again
    assert [h["target"] for h in widget.future] == ["ESTABLISHED"]
    widget.reset()
    widget.fire("listen")  # a change after the reset: its steps would be lost, so no undo
    assert widget.can_undo_reset is False
    page.send(type="undo_reset")
    assert "no reset to undo" in widget.error and widget.state == "LISTEN"
    widget.reset()
    widget.reset()  # forgets nothing: the first reset can still be taken back
    assert widget.can_undo_reset is True
    widget.undo_reset()
    assert widget.state == "LISTEN"


def test_a_re_run_cell_gives_back_the_widget_of_its_machine_and_adds_no_follower():
    machine = Machine()
    first = TCPWidget(machine)
    try:
        followers = len(machine._observers)
        first.fire("listen")
        again = [TCPWidget(machine) for _ in range(300)]  # a cell run 300 times
        gc.collect()
        assert all(w is first for w in again)
        assert len(machine._observers) == followers  # no pile-up of followers
        assert first.state == "LISTEN"  # the clicks are kept
        start = time.perf_counter()
        machine.fire("SYN")
        assert time.perf_counter() - start < 0.05  # one follower, not 300
        # Other options are another widget; a closed widget is never handed out again.
        dark = TCPWidget(machine, theme="dark")
        assert dark is not first and dark.theme == "dark"
        dark.close()
        assert TCPWidget(machine, theme="dark") is not dark
        # Without a machine, each call builds its own (with its own fresh machine).
        assert TCPWidget() is not TCPWidget()
    finally:
        first.close()


# -- the page's module travels once per page -------------------------------------------------------


def test_a_widget_carries_a_small_loader_and_sends_the_module_when_asked(widget, page):
    state = widget.get_state()
    assert len(state["_esm"]) < 4000  # the loader, not the 60 kB module
    assert "_css" not in state or not state["_css"]
    js, css = tcpviz.web.widget.front_end()
    page.send(type="module", hash=widget._module_hash)
    (answer, ack) = page.custom
    assert answer == {"type": "module", "hash": widget._module_hash, "esm": js, "css": css}
    assert ack["type"] == "ack" and widget.error == ""
    # Every widget of this version names the same module: the page keeps one copy.
    other = TCPWidget(extended=True)
    try:
        assert other._module_hash == widget._module_hash
    finally:
        other.close()


LOADER_JS = """
window.tcpvizModel = (name, state, answers) => {
  const listeners = new Map();
  const traits = state;
  const emit = (event, value) => { for (const cb of [...(listeners.get(event) || [])]) cb(value); };
  const model = {
    get: (key) => traits[key],
    set: (key, value) => { traits[key] = value; },
    save_changes() {},
    on(event, cb) { if (!listeners.has(event)) listeners.set(event, new Set()); listeners.get(event).add(cb); },
    off(event, cb) { listeners.get(event)?.delete(cb); },
    send(msg) {
      if (!answers) return; // a notebook without its kernel: nobody answers
      window.pythonHandles(name, msg).then((sent) => {
        for (const m of sent) {
          if (m.state) { Object.assign(traits, m.state); for (const k of Object.keys(m.state)) emit(`change:${k}`, m.state[k]); }
          else emit("msg:custom", m.content);
        }
      });
    },
  };
  return model;
};
"""


@pytest.mark.browser
def test_the_loader_asks_for_the_module_once_per_page(chromium_page):
    """Two widgets in one page: the module is asked for once; both run it."""
    widgets = {"a": TCPWidget(), "b": TCPWidget(extended=True)}
    asked: list[str] = []
    sent: dict[str, list[dict]] = {name: [] for name in widgets}
    for name, w in widgets.items():
        w._send = lambda msg, buffers=None, name=name: sent[name].append(  # type: ignore[method-assign]
            {"state": msg["state"]}
            if msg.get("method") == "update"
            else {"content": msg["content"]}
        )

    def handle(name: str, msg: dict) -> list[dict]:
        if msg.get("type") == "module":
            asked.append(name)
        widgets[name]._handle_custom_msg(msg, [])
        out, sent[name] = sent[name], []
        return out

    try:
        chromium_page.expose_function("pythonHandles", handle)
        loader = (STATIC / "loader.js").read_text(encoding="utf-8")
        states = {n: {k: v for k, v in w.get_state().items()} for n, w in widgets.items()}
        boot = "\n".join(
            f'loader.default.render({{ model: window.tcpvizModel("{n}", {json.dumps(states[n])}, {str(live).lower()}), '
            f'el: document.getElementById("{n}") }});'
            for n, live in (("a", True), ("b", True))
        )
        chromium_page.set_content(
            '<!DOCTYPE html><html><body><div id="a"></div><div id="b"></div><div id="c"></div>'
            f"<script>{LOADER_JS}</script>"
            f'<script type="module">const loader = await import(URL.createObjectURL(new Blob([{json.dumps(loader)}], {{ type: "text/javascript" }})));\n{boot}\n'
            f'loader.default.render({{ model: window.tcpvizModel("c", {json.dumps(states["a"])}, false), el: document.getElementById("c") }});'
            "</script></body></html>"
        )
        chromium_page.locator("#a .tcpviz-widget").wait_for()
        chromium_page.locator("#b .tcpviz-widget").wait_for()
        assert asked == ["a"]  # once per page, not once per widget
        # The style sheet came with the module, once.
        assert chromium_page.locator("style[id^=tcpviz-css-]").count() == 1
        # Both run it, each on its own model.
        chromium_page.locator('#a [data-testid="event-button"]').first.click()
        chromium_page.wait_for_function(
            "() => document.querySelector('#a .current')?.id === 'state_LISTEN'"
        )
        assert widgets["a"].state == "LISTEN" and widgets["b"].state == "CLOSED"
        # "c" asked nobody; it renders from the module the page already has.
        chromium_page.locator("#c .tcpviz-widget").wait_for()

    finally:
        for w in widgets.values():
            w.close()


@pytest.mark.browser
def test_without_a_kernel_the_loader_shows_a_still_picture(chromium_page):
    """A saved notebook opened without running it: nobody answers, so the widget shows its
    laid-out diagram, with a note saying what to do."""
    w = TCPWidget()
    try:
        loader = (STATIC / "loader.js").read_text(encoding="utf-8")
        state = dict(w.get_state())
        chromium_page.set_content(
            f'<!DOCTYPE html><html><body><div id="d"></div><script>{LOADER_JS}</script>'
            f'<script type="module">const loader = await import(URL.createObjectURL(new Blob([{json.dumps(loader)}], {{ type: "text/javascript" }})));\n'
            f'loader.default.render({{ model: window.tcpvizModel("d", {json.dumps(state)}, false), el: document.getElementById("d") }});'
            "</script></body></html>"
        )
        chromium_page.locator("#d svg #state_CLOSED").wait_for()  # after a few seconds
        assert "needs its Python kernel" in chromium_page.locator("#d").inner_text()
        assert chromium_page.locator("#d .tcpviz-widget").count() == 0
    finally:
        w.close()


def test_the_page_holds_no_stepping_rule_no_search_and_no_quiz_logic():
    """Python decides, the page looks up (DESIGN.md, decision 7): the names of the copies that
    once disagreed with Python are gone, and the page never reads the `via` rule itself."""
    js = (STATIC / "widget.js").read_text(encoding="utf-8")
    for gone in ("enabledIn", "pathTo", "LocalQuiz", "mulberry32", "shuffle", "whyNot", "eventKey"):
        assert gone not in js, gone
    assert not re.search(r"\.via\b", js), "the page reads the via rule"
    assert "Math.random() * pool" not in js and "queue.shift()" not in js


def test_a_cell_run_again_gives_back_the_widgets_it_made(monkeypatch):
    """Shift+Enter on the cell of `client = TCPWidget()` (the cell a click made the active one)
    must not replace the student's widget with a fresh one in CLOSED."""
    here = {"cell": ("cell-1", "run-1")}
    monkeypatch.setattr(tcpviz.web.widget._CellWidgets, "_here", staticmethod(lambda: here["cell"]))
    client, server = TCPWidget(), TCPWidget(mode="scenario")
    try:
        client.fire("active open")
        here["cell"] = ("cell-1", "run-2")  # the same cell, run again
        assert (TCPWidget(), TCPWidget(mode="scenario")) == (client, server)
        assert client.state == "SYN-SENT"  # the click is kept
        here["cell"] = ("cell-1", "run-3")
        assert TCPWidget(theme="dark") is not client  # other options: a new widget
        here["cell"] = ("cell-2", "run-4")
        assert TCPWidget() is not client  # another cell: its own widget
        here["cell"] = None  # no notebook (a script): never reused
        assert TCPWidget() is not TCPWidget()
        # Within one run, two calls are two widgets.
        here["cell"] = ("cell-3", "run-5")
        assert TCPWidget() is not TCPWidget()
        client.close()
        here["cell"] = ("cell-1", "run-6")
        assert TCPWidget() is not client  # a closed widget is never handed out
    finally:
        client.close()
        server.close()
