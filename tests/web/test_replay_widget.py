"""A replayed capture in the connection widget: stepped segment by segment through the player,
each end's state at every moment (inferred ones marked), the segment shown lit on the ladder;
the Python side, then the page in Chromium at projector size."""

from __future__ import annotations

import pytest
from capture_support import Conversation, handshake_and_close, window_scale_option
from connection_layout import SHOWN_TEXT_JS

from tcpviz.errors import TcpvizError, WidgetError
from tcpviz.traffic import example_capture, replay
from tcpviz.web.connection_page import connection_html
from tcpviz.web.connection_widget import ConnectionWidget, record_scenario
from tcpviz.web.replay import ReplayView, replay_trace, window_scales


def positions(view: ReplayView) -> list[dict]:
    view.act("reset")
    out = [view.position(lookahead=False)]
    while out[-1]["can_redo"]:  # bounded: the recording has an end
        view.act("redo")
        out.append(view.position(lookahead=False))
    return out


def expected_states(connection, moment_row: int, end: int):
    """What the ladder says end ``end`` is in at ladder row ``moment_row`` (written from the
    trace, independently of the view)."""
    trace = replay_trace(connection)
    written = [s for s in trace.states if s.end == end and s.step <= moment_row]
    return written[-1].state


def test_each_moment_shows_both_ends_as_the_ladder_writes_them_and_lights_its_segment():
    connection = replay(example_capture()).connection(1)
    view = ReplayView(connection)
    seen = positions(view)
    segments = connection.segments
    # The start, one moment per segment, and the 2MSL timer after the capture.
    assert len(seen) == len(segments) + 2
    assert [p["segment"] for p in seen] == [None, *(s.number for s in segments), None]
    rows = [p["ladder_step"] for p in seen]
    assert rows == sorted(rows) and len(set(rows)) == len(rows)
    for p in seen:
        for i in (0, 1):
            assert p["ends"][i]["state"] == expected_states(connection, p["ladder_step"], i)
        assert p["replay"] is True and all(not e["calls"] for e in p["ends"])
        assert all(not card["keys"] for card in p["flight"])
        assert p["clock"]["key"] == "" and p["why"]
    # Every state each end went through is shown at some moment, in order.
    for i, end in enumerate(connection.endpoints):
        shown = [p["ends"][i]["state"] for p in seen]
        runs = [state for k, state in enumerate(shown) if k == 0 or shown[k - 1] != state]
        assert runs == end.states[-len(runs) :]  # (of the states before the capture, the last)
    assert [e["state"] for e in seen[-1]["ends"]] == ["CLOSED", "CLOSED"]
    assert "2MSL" in seen[-1]["why"] and "inferred" in seen[-1]["why"]


def test_inferred_states_are_marked_as_tcpviz_replay_does():
    connection = replay(example_capture()).connection(1)
    view = ReplayView(connection)
    seen = positions(view)
    start = seen[0]
    assert [e["state"] for e in start["ends"]] == ["CLOSED", "LISTEN"]
    assert all(e["evidence"] == "inferred" for e in start["ends"])
    assert "LISTEN before the SYN" in start["ends"][1]["evidence_text"]
    for p in seen:
        for i, end in enumerate(p["ends"]):
            entry = next(
                c
                for c in reversed(connection.endpoints[i].changes)
                if c.state == end["state"]
                and c.state == expected_states(connection, p["ladder_step"], i)
            )
            assert end["evidence"] == ("seen" if entry.seen else "inferred")
    fin_wait_2 = next(p for p in seen if p["ends"][0]["state"] == "FIN-WAIT-2")
    assert fin_wait_2["ends"][0]["evidence"] == "inferred"  # an ACK received sends nothing
    # The diagram arrows: the last one taken, and the path so far.
    ids = view.table.state_ids
    last = seen[len(connection.segments)]
    assert last["ends"][0]["state_id"] == ids["TIME-WAIT"]
    assert ids["FIN-WAIT-2"] in last["ends"][0]["visited"]
    assert last["ends"][0]["last_edge"] and last["ends"][0]["taken"]


def test_the_segment_shown_carries_its_numbers_and_the_ends_their_sequence_variables():
    connection = replay(example_capture()).connection(1)
    view = ReplayView(connection)
    view.act("goto:4")
    p = view.position()
    (card,) = p["flight"]
    assert card["label"] == "#4 PSH,ACK seq=1 ack=1 len=12" and card["from"] == 0
    assert "client to server" in card["route"] and "frame" in card["route"]
    client = dict(p["ends"][0]["tcb"])
    server = dict(p["ends"][1]["tcb"])
    assert client["SND.NXT"] == "13" and client["RCV.NXT"] == "1"  # 12 octets sent
    assert server["RCV.NXT"] == "1"  # the server has not acknowledged them yet (#5 does)
    view.act("redo")
    assert dict(view.position()["ends"][1]["tcb"])["RCV.NXT"] == "13"


def scaled_conversation(client_shift, server_shift):
    """A handshake and a request whose SYNs carry window scale options (None: no option)."""
    conv = Conversation()
    option = lambda shift: b"" if shift is None else window_scale_option(shift)  # noqa: E731
    conv.c("S", 100, window=64240, options=option(client_shift))
    conv.s("SA", 300, 101, window=65160, options=option(server_shift))
    conv.c("A", 101, 301, window=502)
    conv.c("PA", 101, 301, b"hello", window=502)
    conv.s("A", 301, 106, window=509)
    return conv


def test_the_window_is_scaled_as_the_syns_said(tmp_path):
    path = scaled_conversation(7, 9).write(tmp_path / "scaled.pcap")
    (connection,) = replay(path).connections
    assert window_scales(path, connection) == (7, 9)
    w = ConnectionWidget.from_capture(path)
    try:
        view = w.view
        assert view.window_scale == (7, 9)
        view.act("goto:1")  # a SYN's own window is never scaled (RFC 7323 2.2)
        p = view.position()
        assert dict(p["ends"][0]["tcb"])["RCV.WND"] == "64240"
        assert p["flight"][0]["route"].endswith("window 64240")
        view.act("goto:3")
        p = view.position()
        assert dict(p["ends"][0]["tcb"])["RCV.WND"] == str(502 << 7)
        assert f"window {502 << 7} (field 502 << 7)" in p["flight"][0]["route"]
        view.act("goto:5")
        assert dict(view.position()["ends"][1]["tcb"])["RCV.WND"] == str(509 << 9)
        assert "as captured" in view.position()["ends"][0]["timers_text"]
    finally:
        w.close()


def test_without_both_options_nothing_is_scaled_and_without_the_syns_the_field_is_raw(tmp_path):
    path = scaled_conversation(7, None).write(tmp_path / "one-sided.pcap")
    (connection,) = replay(path).connections
    assert window_scales(path, connection) == (0, 0)  # RFC 7323: both SYNs or neither
    view = ReplayView(connection, window_scale=window_scales(path, connection))
    view.act("goto:3")
    assert dict(view.position()["ends"][0]["tcb"])["RCV.WND"] == "502"
    # Only the connection, no file: the SYN options are not known; the raw field, said so.
    view = ReplayView(connection)
    view.act("goto:3")
    p = view.position()
    assert dict(p["ends"][0]["tcb"])["window field"] == "502"
    assert "window field 502 (unscaled)" in p["flight"][0]["route"]
    assert "unscaled" in p["ends"][0]["timers_text"]
    # A capture from the middle of a connection holds no SYN.
    conv = Conversation()
    conv.c("A", 500, 700, b"x", window=502)
    conv.s("A", 700, 501, window=509)
    path = conv.write(tmp_path / "middle.pcap")
    (connection,) = replay(path).connections
    assert window_scales(path, connection) is None
    # The example capture (Linux loopback) scales by 2**10: 64 is 65536.
    example = replay(example_capture()).connection(1)
    assert window_scales(example_capture(), example) == (10, 10)
    for bad in [(15, 0), (1,), (-1, 2), "77"]:
        with pytest.raises(WidgetError, match="window_scale must be two shifts from 0 to 14"):
            ReplayView(example, window_scale=bad)


def test_crossing_fins_stay_on_the_wire_until_the_other_fin_has_left(tmp_path):
    conv = Conversation()
    conv.c("S", 100)
    conv.s("SA", 300, 101)
    conv.c("A", 101, 301)
    conv.c("FA", 101, 301)
    conv.s("FA", 301, 101)
    conv.c("A", 102, 302)
    conv.s("A", 302, 102)
    (connection,) = replay(conv.write(tmp_path / "simultaneous-close.pcap")).connections
    view = ReplayView(connection)
    trace = replay_trace(connection)
    fin_a = next(s for s in trace.segments if s.id == 4)
    view.act("goto:4")  # the client's FIN has left; it has not arrived yet
    p = view.position()
    assert p["ladder_step"] < fin_a.end_step
    assert [e["state"] for e in p["ends"]] == ["FIN-WAIT-1", "ESTABLISHED"]
    view.act("redo")  # the server's FIN crosses it: both ends closing at once
    assert [e["state"] for e in view.position()["ends"]] == ["CLOSING", "CLOSING"]


def test_a_retransmission_moves_no_state_and_says_so(tmp_path):
    conv = Conversation()
    conv.c("S", 100)
    conv.c("S", 100, gap=1.0)  # the SYN again: the first was lost or the queue was full
    conv.s("SA", 300, 101)
    conv.c("A", 101, 301)
    (connection,) = replay(conv.write(tmp_path / "rexmit.pcap")).connections
    view = ReplayView(connection)
    view.act("goto:2")
    p = view.position()
    assert "a retransmission: it moves no state" in p["why"]
    assert "retransmission" in p["flight"][0]["route"]


def test_a_capture_from_the_middle_and_a_self_connect(tmp_path):
    conv = Conversation()
    conv.c("A", 500, 700, b"x")  # the capture starts after the handshake
    conv.s("A", 700, 501)
    conv.c("FA", 501, 700)
    (connection,) = replay(conv.write(tmp_path / "middle.pcap")).connections
    seen = positions(ReplayView(connection))
    start = seen[0]["ends"]
    assert [e["state"] for e in start] == ["ESTABLISHED", "ESTABLISHED"]
    assert all("middle of this connection" in e["evidence_text"] for e in start)
    assert [e["state"] for e in seen[3]["ends"]] == ["FIN-WAIT-1", "CLOSE-WAIT"]
    conv = Conversation(client="127.0.0.1", server="127.0.0.1", cport=50000, sport=50000)
    conv.c("S", 100)
    conv.c("SA", 100, 101)
    conv.c("A", 101, 101)
    (connection,) = replay(conv.write(tmp_path / "self.pcap")).connections
    assert connection.self_connect
    seen = positions(ReplayView(connection))
    assert all(p["ends"][0]["state"] == p["ends"][1]["state"] for p in seen)  # one socket
    assert seen[1]["why"].count("CLOSED → SYN-SENT") == 1  # told once, not once per side
    assert seen[-1]["ends"][0]["state"] == "ESTABLISHED"


def test_ladder_clicks_history_and_refusals():
    connection = replay(example_capture()).connection(1)
    view = ReplayView(connection)
    trace = replay_trace(connection)
    for s in trace.segments:  # a click on a segment's arrow: the moment of that segment
        view.act(f"ladder:{s.sent_step}")
        assert view.position()["segment"] == s.id
    view.act("goto:3")
    before = view.position()
    for bad, message in [
        ("op:client connect", "only steps"),
        ("scenario:handshake", "only steps"),
        ("goto:x", "goto needs a step number"),
        ("goto:99", "cannot go to step 99"),
    ]:
        with pytest.raises(TcpvizError, match=message):
            view.act(bad)
        assert view.position() == before
    assert before["next"]["undo"]["index"] == 2 and before["next"]["redo"]["index"] == 4
    rows = before["history"]
    assert rows[0] == [0, "start"] and rows[4] == [4, "#4 client: PSH,ACK seq=1 ack=1 len=12"]


def test_the_widget_from_a_capture_file_or_a_connection(tmp_path):
    conv = Conversation()
    handshake_and_close(conv)
    path = conv.write(tmp_path / "hs.pcap")
    w = ConnectionWidget.from_capture(path, theme="light")
    try:
        assert w.scenarios == [] and w.position["replay"] and w.position["index"] == 0
        assert w.lookahead["next"]["redo"]["segment"] == 1
        w._on_message(w, {"action": "redo"}, [])
        assert w.position["segment"] == 1 and w.position["ends"][0]["state"] == "SYN-SENT"
        w._on_message(w, {"action": "op:deliver 1"}, [])  # shown, not raised
        assert "only steps" in w.position["error"] and w.position["index"] == 1
        assert "tcpviz-ladder" in w.ladder and w.diagram.startswith("<svg")
    finally:
        w.close()
    (connection,) = replay(path).connections
    assert (
        ConnectionWidget.from_capture(connection).position["total"] == len(connection.segments) + 1
    )  # and the 2MSL after the capture
    with pytest.raises(WidgetError, match=r"hs.pcap has no connection 7 \(it holds connections 1"):
        ConnectionWidget.from_capture(path, conn=7)
    with pytest.raises(WidgetError, match="conn=2 but the connection given is number 1"):
        ConnectionWidget.from_capture(connection, conn=2)
    with pytest.raises(WidgetError, match="give a view"):
        ConnectionWidget(view=ReplayView(connection), scenario="handshake")
    junk = tmp_path / "notes.txt"
    junk.write_text("not a capture\n")
    with pytest.raises(TcpvizError, match=r"notes\.txt"):
        ConnectionWidget.from_capture(junk)


def test_a_replay_makes_a_standalone_page_too():
    view = ReplayView(replay(example_capture()).connection(3))
    page = connection_html(view.recording())
    assert "RST,ACK" in page and '"replay": true' in page
    # The page says what it is: a replayed capture stepped through, not a simulation.
    intro = page.split('<p class="tcpviz-intro">')[1].split("</p>")[0]
    assert "replayed from a packet capture" in intro and "back and forward buttons" in intro
    assert "in flight" not in intro and "undo" not in intro
    assert "inferred" in intro
    simulated = connection_html(record_scenario("handshake"))
    intro = simulated.split('<p class="tcpviz-intro">')[1].split("</p>")[0]
    assert "segments in flight" in intro and "capture" not in intro


# -- in Chromium: the page steps a replay; states and the lit segment agree with Python ----------

MEASURE_JS = (
    "\n() => {"
    + SHOWN_TEXT_JS
    + """
  const text = (sel) => [...document.querySelectorAll(sel)].filter(visible);
  const css = (sel) => [...document.querySelectorAll(sel)]
    .filter((el) => el.offsetParent && el.textContent.trim())
    .map((el) => parseFloat(getComputedStyle(el).fontSize));
  const root = document.querySelector(".tcpviz-conn");
  const lit = [...document.querySelectorAll("g.ladder-segment.selected")];
  const shown = (sel) => [...document.querySelectorAll(sel)].filter((b) => b.offsetParent).length;
  return {
    ladder: text(".tvc-ladder svg text").map(px),
    diagram: text(".tvc-diagram svg g.edge text").map(px),
    states: text(".tvc-diagram svg g.node text").map(px),
    html: css(".tcpviz-conn p, .tcpviz-conn dt, .tcpviz-conn dd, .tcpviz-conn h3, " +
      ".tcpviz-conn button, .tcpviz-conn select, .tcpviz-conn .tvc-card-label, " +
      ".tcpviz-conn .tvc-card-route, .tcpviz-conn .tvc-state, .tcpviz-conn .tvc-end-name"),
    bottom: root.getBoundingClientRect().bottom, width: root.getBoundingClientRect().width,
    index: Number(root.dataset.index),
    client: document.querySelector('[data-testid="end-client-state"]').textContent,
    server: document.querySelector('[data-testid="end-server-state"]').textContent,
    clientEvidence: document.querySelector('[data-testid="end-client-evidence"]').textContent,
    serverInferred: document.querySelector('[data-testid="end-server-state"]')
      .classList.contains("tvc-inferred"),
    inferredNodes: document.querySelectorAll(".tvc-diagram g.node.current.inferred").length,
    lit: lit.map((g) => Number(g.dataset.segment)),
    litStates: [...document.querySelectorAll("g.ladder-state.selected")]
      .map((g) => [...g.querySelectorAll("text")].map((t) => t.textContent).join(" ")),
    later: document.querySelectorAll("g.ladder-segment.later").length,
    cards: [...document.querySelectorAll('[data-testid="segment-card"] .tvc-card-label')]
      .map((e) => e.textContent),
    wireTitle: document.querySelector('[data-testid="wire-title"]').textContent,
    calls: shown('[data-testid="call-button"]'),
    networkButtons: shown('[data-testid$="deliver-button"], [data-testid$="drop-button"]'),
    advance: shown('[data-testid="advance-button"]'),
    scenarios: shown('[data-testid="scenarios"]'),
    steps: ["undo-button", "redo-button"].map(
      (id) => document.querySelector(`[data-testid="${id}"]`).textContent),
  };
}
"""
)

BRIDGE_PAGE = """<!doctype html><html><head><meta charset="utf-8"><style>{css}</style></head>
<body style="margin:0"><div id="w"></div><script type="module">
{js}
const traits = JSON.parse(document.getElementById("t").textContent);
const listeners = {{}};
const model = {{
  get: (k) => traits[k],
  on: (k, f) => (listeners[k] = listeners[k] || []).push(f),
  off: () => {{}},
  // Python answers later than a frame, as a kernel does.
  send: (msg) => setTimeout(async () => {{
    const changed = await window.tcpvizAct(msg.action);
    for (const [k, v] of Object.entries(changed)) {{ traits[k] = v; (listeners["change:" + k] || []).forEach((f) => f()); }}
    document.body.dataset.confirmed = String(Number(document.body.dataset.confirmed || 0) + 1);
  }}, 150),
}};
render({{ model, el: document.getElementById("w") }});
</script><script type="application/json" id="t">{traits}</script></body></html>"""


@pytest.mark.browser
def test_the_page_steps_a_replay_with_states_and_lit_segment_as_python_says(tmp_path):
    from pathlib import Path

    from browser_support import artifact_path, launch_options
    from playwright import sync_api

    from tcpviz.web.html import json_for_script

    connection = replay(example_capture()).connection(1)
    widget = ConnectionWidget.from_capture(connection, theme="light")
    trace = replay_trace(connection)
    static = Path(__file__).resolve().parents[2] / "tcpviz" / "web" / "static"

    def traits():
        return {
            "diagram": widget.diagram,
            "ladder": widget.ladder,
            "position": widget.position,
            "lookahead": widget.lookahead,
            "scenarios": widget.scenarios,
            "theme": widget.theme,
        }

    page_file = tmp_path / "replay.html"
    page_file.write_text(
        BRIDGE_PAGE.format(
            css=(static / "connection.css").read_text(),
            js=(static / "connection.js").read_text(),
            traits=json_for_script(traits()),
        )
    )

    def act(action):  # what the kernel does with the page's message, then the traits it sends
        widget._on_message(widget, {"action": action}, [])
        return {"position": widget.position, "lookahead": widget.lookahead}

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

            def check(m):
                want = widget.view.position(lookahead=False)
                assert m["index"] == want["index"]
                assert [m["client"], m["server"]] == [e["state"] for e in want["ends"]]
                assert m["clientEvidence"] == want["ends"][0]["evidence_text"]
                assert m["serverInferred"] == (want["ends"][1]["evidence"] == "inferred")
                assert m["lit"] == ([want["segment"]] if want["segment"] else [])
                # The states written since the moment before are lit with it.
                since, row = want["ladder_since"], want["ladder_step"]
                written = [s.state for s in trace.states if since < s.step <= row]
                assert sorted(m["litStates"]) == sorted(written)
                assert m["cards"] == [c["label"] for c in want["flight"]]
                # A replay only steps: no call, no deliver or drop, no timer, no scenario.
                assert m["calls"] == m["networkButtons"] == m["advance"] == m["scenarios"] == 0

            def wait():
                nonlocal confirmed
                confirmed += 1
                page.wait_for_function(
                    f"document.body.dataset.confirmed == '{confirmed}'", timeout=5000
                )

            m = page.evaluate(MEASURE_JS)
            check(m)
            assert m["wireTitle"] == "The segment shown" and m["inferredNodes"] == 2
            # A recording is moved through, not undone: the same buttons and keys, its words.
            assert m["steps"] == ["◀ back", "forward ▶"]
            for _ in range(len(connection.segments)):
                expected = widget.lookahead["next"]["redo"]
                page.get_by_test_id("redo-button").click()
                quick = page.evaluate(MEASURE_JS)  # painted from the lookahead at once
                assert [quick["client"], quick["server"]] == [e["state"] for e in expected["ends"]]
                wait()
                m = page.evaluate(MEASURE_JS)
                check(m)
                if m["index"] == 8:  # the client's FIN: both sides change, all legible
                    assert m["later"] > 0
                    assert m["ladder"] and min(m["ladder"]) >= 12.0, min(m["ladder"])
                    assert m["diagram"] and min(m["diagram"]) >= 12.0, min(m["diagram"])
                    assert m["states"] and min(m["states"]) >= 16.0, min(m["states"])
                    assert min(m["html"]) >= 14.0, min(m["html"])
                    assert m["bottom"] <= 800 and m["width"] <= 1280
                    page.screenshot(path=artifact_path("replay_widget", "client-fin-1280x800"))
                if m["index"] == 9:  # FIN-WAIT-2: an ACK arrived, nothing sent shows it
                    assert m["inferredNodes"] == 1 and "inferred" in m["clientEvidence"]
                    page.screenshot(path=artifact_path("replay_widget", "inferred-1280x800"))
            # A click on the SYN,ACK on the ladder takes every view back to its moment.
            page.locator("g.ladder-segment", has_text="SYN,ACK").first.click()
            wait()
            m = page.evaluate(MEASURE_JS)
            check(m)
            assert m["lit"] == [2] and [m["client"], m["server"]] == ["ESTABLISHED", "SYN-RECEIVED"]
            page.get_by_test_id("undo-button").click()
            wait()
            check(page.evaluate(MEASURE_JS))
            page.screenshot(path=artifact_path("replay_widget", "first-syn-1280x800"))
            assert errors == []
        finally:
            browser.close()
            widget.close()


@pytest.mark.browser
def test_the_standalone_page_of_a_replay_steps_and_follows_ladder_clicks(tmp_path):
    from browser_support import artifact_path, launch_options
    from playwright import sync_api

    from tcpviz.web.connection_page import save_connection_html

    view = ReplayView(replay(example_capture()).connection(2), theme="light")
    recording = view.recording()
    path = save_connection_html(tmp_path / "replay.html", recording)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(**launch_options())
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            errors = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(path.as_uri())
            page.wait_for_selector('[data-testid="connection-widget"]', timeout=5000)
            for n in range(1, len(recording["positions"])):
                page.keyboard.press("ArrowRight")
                page.wait_for_function(
                    f"document.querySelector('.tcpviz-conn').dataset.index == {n}", timeout=5000
                )
                m = page.evaluate(MEASURE_JS)
                want = recording["positions"][n]
                assert [m["client"], m["server"]] == [e["state"] for e in want["ends"]]
                assert m["lit"] == ([want["segment"]] if want["segment"] else [])
                assert m["calls"] == m["networkButtons"] == m["advance"] == 0
                assert m["steps"] == ["◀ back", "forward ▶"]
            assert "replayed from a packet capture" in page.locator(".tcpviz-intro").inner_text()
            # A click on a segment's arrow: the page finds the moment of that row (no Python).
            fin = page.locator("g.ladder-segment", has_text="FIN").first
            number = int(fin.get_attribute("data-segment"))
            fin.click()
            page.wait_for_function(
                f"document.querySelector('.tcpviz-conn').dataset.index == {number}", timeout=5000
            )
            m = page.evaluate(MEASURE_JS)
            assert m["lit"] == [number]
            assert min(m["ladder"]) >= 12.0 and min(m["html"]) >= 14.0
            page.screenshot(path=artifact_path("replay_page", "server-closes-first"))
            assert errors == []
        finally:
            browser.close()


def layout_captures(tmp_path) -> dict[str, ReplayView]:
    """Replays whose pages are measured: the example capture's connections (a close, the
    server closing first, a refusal), IPv6 with long addresses, a simultaneous close, a
    capture from the middle of a connection (these with the window field unscaled, the longer
    labels)."""
    capture = replay(example_capture())
    views = {  # the windows scaled, as from_capture shows them
        f"example-{n}": ReplayView(
            capture.connection(n),
            theme="light",
            window_scale=window_scales(example_capture(), capture.connection(n)),
        )
        for n in (1, 2, 3)
    }
    conv = Conversation(client="2001:db8:1234:5678::101", server="2001:db8:1234:5678::2", v6=True)
    handshake_and_close(conv, b"GET / HTTP/1.1\r\n\r\n")
    (views["ipv6"],) = [
        ReplayView(c, theme="light") for c in replay(conv.write(tmp_path / "6.pcap")).connections
    ]
    conv = Conversation()
    for who, flags, seq, ack in [
        ("c", "S", 100, 0),
        ("s", "SA", 300, 101),
        ("c", "A", 101, 301),
        ("c", "FA", 101, 301),
        ("s", "FA", 301, 101),
        ("c", "A", 102, 302),
        ("s", "A", 302, 102),
    ]:
        getattr(conv, who)(flags, seq, ack)
    (views["simultaneous-close"],) = [
        ReplayView(c, theme="light") for c in replay(conv.write(tmp_path / "sc.pcap")).connections
    ]
    conv = Conversation()
    conv.c("A", 500, 700, b"x")
    conv.s("A", 700, 501)
    conv.c("FA", 501, 700)
    (views["middle"],) = [
        ReplayView(c, theme="light") for c in replay(conv.write(tmp_path / "mid.pcap")).connections
    ]
    return views


@pytest.mark.browser
@pytest.mark.parametrize("viewport", [(900, 800), (1024, 768), (1280, 800)], ids=str)
def test_nothing_is_clipped_or_scrolls_inside_a_panel_at_any_moment_of_a_replay(tmp_path, viewport):
    from browser_support import artifact_path, launch_options
    from connection_layout import VIEWPORTS, assert_ladder_legible, assert_nothing_clipped
    from playwright import sync_api

    from tcpviz.web.connection_page import save_connection_html

    assert viewport in VIEWPORTS
    width, height = viewport
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(**launch_options())
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            errors = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            for name, view in layout_captures(tmp_path).items():
                recording = view.recording()
                path = save_connection_html(tmp_path / f"{name}.html", recording)
                page.goto(path.as_uri())
                page.wait_for_selector('[data-testid="connection-widget"]', timeout=5000)
                for n in range(len(recording["positions"])):
                    if n:
                        page.keyboard.press("ArrowRight")
                        page.wait_for_function(
                            f"document.querySelector('.tcpviz-conn').dataset.index == {n}",
                            timeout=5000,
                        )
                    assert_nothing_clipped(page, f"replay {name} moment {n} at {width}x{height}")
                    if name == "ipv6" and n == 1:
                        page.screenshot(path=artifact_path("replay_layout", f"ipv6-syn-{width}"))
                assert_ladder_legible(page, f"replay {name} at {width}x{height}")
            assert errors == []
        finally:
            browser.close()


@pytest.mark.browser
def test_in_voila_the_replay_widget_steps_and_answers_a_ladder_click(tmp_path):
    """The real widget, through the kernel: redo and a click on the ladder reach Python."""
    from browser_support import artifact_path, code_notebook, launch_options, voila
    from playwright import sync_api

    notebook = code_notebook(
        tmp_path / "replay.ipynb",
        "from tcpviz.traffic import example_capture\n"
        "from tcpviz.web import ConnectionWidget\n"
        'ConnectionWidget.from_capture(example_capture(), conn=1, theme="light")',
    )
    python = ReplayView(replay(example_capture()).connection(1))
    idle = " && !document.querySelector('.tcpviz-conn').classList.contains('tvc-pending')"
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(**launch_options())
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            errors = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            with voila(notebook, tmp_path) as url:
                page.goto(url, timeout=60_000)
                page.locator(".tcpviz-conn").wait_for(timeout=60_000)
                for n in range(1, 4):
                    page.get_by_test_id("redo-button").click()
                    page.wait_for_function(
                        f"document.querySelector('.tcpviz-conn').dataset.index == {n}" + idle,
                        timeout=10_000,
                    )
                    python.act("redo")
                    m = page.evaluate(MEASURE_JS)
                    want = python.position(lookahead=False)
                    assert [m["client"], m["server"]] == [e["state"] for e in want["ends"]]
                    assert m["lit"] == [want["segment"]]
                fin = page.locator("g.ladder-segment", has_text="FIN,ACK").first
                number = int(fin.get_attribute("data-segment"))
                fin.click()
                page.wait_for_function(
                    f"document.querySelector('.tcpviz-conn').dataset.index == {number}" + idle,
                    timeout=10_000,
                )
                m = page.evaluate(MEASURE_JS)
                python.act(f"goto:{number}")
                assert [m["client"], m["server"]] == [e["state"] for e in python.position()["ends"]]
                assert m["lit"] == [number] and m["calls"] == m["networkButtons"] == 0
                page.screenshot(path=artifact_path("replay_voila", "client-fin"))
            assert errors == []
        finally:
            browser.close()
