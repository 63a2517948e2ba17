"""The live sockets widget: what Python sends, bounded refreshing, and the page it draws."""

from __future__ import annotations

import asyncio
import json
import socket
import sys
import time
import xml.etree.ElementTree as ET

import pytest

from tcpviz.drawing import heat_level
from tcpviz.errors import InvalidFilter
from tcpviz.model import DESCRIPTIONS, STATES, tcp_table
from tcpviz.traffic import Snapshot, Socket
from tcpviz.web import live_widget
from tcpviz.web.live_widget import LiveSocketsWidget, SocketsDiagram, live_svg

linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="sock_diag and /proc")


@pytest.fixture
def server():
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(5)
    client = socket.create_connection(("127.0.0.1", listener.getsockname()[1]), timeout=5)
    accepted, _ = listener.accept()
    try:
        yield listener.getsockname()[1]
    finally:
        for s in (client, accepted, listener):
            s.close()


@linux
def test_the_widget_sends_counts_on_the_diagram_and_the_descriptions(server):
    w = LiveSocketsWidget(port=server, start=False)
    try:
        assert not w.running and w.error == ""
        assert [s["state"] for s in w.states] == list(STATES)
        counts = {s["state"]: s["count"] for s in w.states}
        assert counts["LISTEN"] == 1 and counts["ESTABLISHED"] == 2
        assert all(s["description"] == DESCRIPTIONS[s["state"]] for s in w.states)
        assert {s["state"]: s["level"] for s in w.states if s["count"]} == {
            "LISTEN": heat_level(1, 2),
            "ESTABLISHED": 5,
        }
        # The diagram has no badges of its own; the marks say where the page puts them.
        assert 'class="tcpviz-count"' not in w.svg
        assert set(w.heat) == set(tcp_table().state_ids.values())
        counted = {m["state"]: m for m in w.heat.values() if m["count"]}
        assert set(counted) == {"LISTEN", "ESTABLISHED"}
        assert counted["ESTABLISHED"]["label"].startswith("ESTABLISHED, 2 sockets: The third")
        assert counted["ESTABLISHED"]["badge"]["font"] >= 14
        assert all(
            m["badge"] is None and m["fill"] is None for m in w.heat.values() if not m["count"]
        )
        # The still picture draws the same marks itself.
        svg = ET.fromstring(w.diagram().svg())
        badges = {
            g.findtext("{http://www.w3.org/2000/svg}text")
            for g in svg.iter("{http://www.w3.org/2000/svg}g")
            if g.get("class") == "tcpviz-count"
        }
        assert badges == {"1", "2"}
        assert sorted(r["state"] for r in w.sockets) == ["ESTABLISHED", "ESTABLISHED", "LISTEN"]
        assert all(r["process"] for r in w.sockets)  # this test's own process holds them
        assert f"(port {server})" in w.heading
        assert "3 sockets, read from" in w.status and "not refreshing" in w.status
        json.dumps({"states": w.states, "sockets": w.sockets})  # what travels must be JSON
    finally:
        w.close()


@linux
def test_a_refresh_sends_the_marks_not_the_diagram_and_only_when_they_change(server):
    w = LiveSocketsWidget(port=server, start=False)
    try:
        sent = {"svg": [], "heat": []}
        w.observe(lambda change: sent[change["name"]].append(change["new"]), names=["svg", "heat"])
        w.refresh()
        assert sent == {"svg": [], "heat": []}  # nothing changed: nothing travels
        extra = socket.create_connection(("127.0.0.1", server), timeout=5)
        with extra:
            deadline = time.monotonic() + 3
            while not sent["heat"] and time.monotonic() < deadline:
                w.refresh()
                time.sleep(0.05)
        assert sent["svg"] == [] and len(sent["heat"]) == 1
        established = next(m for m in sent["heat"][0].values() if m["state"] == "ESTABLISHED")
        assert established["count"] == 4  # and the new client's end, and its queued server end
        assert len(json.dumps(sent["heat"][0])) < 8000  # against about 40 KB for the SVG
        w.theme = "dark"  # a new theme: the diagram travels again, once
        assert len(sent["svg"]) == 1 and "tcpviz-theme-dark" in sent["svg"][0]
    finally:
        w.close()


def test_refreshing_stops_after_the_limit():
    async def run() -> LiveSocketsWidget:
        w = LiveSocketsWidget(port=1, interval=0.5, limit=2)
        assert w.running
        deadline = time.monotonic() + 10
        while w.running and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        return w

    w = asyncio.run(run())
    try:
        assert not w.running and w.refreshes == 2
        assert "stopped after 2 refreshes" in w.status
    finally:
        w.close()


def test_closing_or_stop_ends_the_refreshing_task():
    async def run() -> None:
        w = LiveSocketsWidget(port=1, interval=0.5, limit=100)
        task = w._task
        assert w.running and task is not None
        w._on_message(w, {"action": "stop"}, [])
        await asyncio.sleep(0)
        assert not w.running and (task.cancelled() or task.done())
        w._on_message(w, {"action": "start"}, [])
        task = w._task
        assert w.running and task is not None
        w.close()
        await asyncio.sleep(0.05)
        assert not w.running and task.done()
        assert w.comm is None  # closed

    asyncio.run(run())


def test_without_an_event_loop_the_widget_says_to_refresh_by_hand():
    w = LiveSocketsWidget(port=1)
    try:
        assert not w.running and "call refresh()" in w.status
        assert w.refresh() is not None
    finally:
        w.close()


def test_a_reading_that_fails_is_shown_not_raised(monkeypatch):
    w = LiveSocketsWidget(port=1, start=False)
    try:

        def broken():
            raise live_widget.TcpvizError("no /proc here")

        monkeypatch.setattr(w.view, "snapshot", broken)
        assert w.refresh() is None
        assert w.error == "cannot read the sockets: no /proc here" and not w.running
    finally:
        w.close()


def test_bad_settings_are_refused():
    with pytest.raises(InvalidFilter, match=r"interval must be from 0\.5 to 60\.0 seconds"):
        LiveSocketsWidget(interval=0.1, start=False)
    with pytest.raises(InvalidFilter, match="interval"):
        LiveSocketsWidget(interval=float("nan"), start=False)
    with pytest.raises(InvalidFilter, match="limit must be a whole number of refreshes"):
        LiveSocketsWidget(limit=0, start=False)
    with pytest.raises(InvalidFilter, match=r"unknown theme: 'pink' \(must be one of"):
        LiveSocketsWidget(theme="pink", start=False)
    with pytest.raises(InvalidFilter, match="a port must be a number"):
        LiveSocketsWidget(port=0, start=False)


def _snapshot(count: int) -> Snapshot:
    sockets = tuple(
        Socket(4, "TIME-WAIT", "127.0.0.1", 40000 + i, "127.0.0.1", 80, "time-wait", 30.0)
        for i in range(count)
    )
    return Snapshot(sockets, "proc", time.time(), 0.001)


def test_a_long_list_is_cut_but_every_socket_is_counted():
    w = LiveSocketsWidget(port=1, start=False)
    try:
        w._show(_snapshot(live_widget.MAX_ROWS + 5))
        assert len(w.sockets) == live_widget.MAX_ROWS and w.hidden == 5
        assert {s["state"]: s["count"] for s in w.states}["TIME-WAIT"] == live_widget.MAX_ROWS + 5
        assert w.sockets[0]["timer"] == "time-wait 30.0 s"
    finally:
        w.close()


def test_a_still_picture_for_slides(tmp_path):
    picture = SocketsDiagram(_snapshot(3), theme="dark")
    assert picture._repr_svg_() == live_svg(_snapshot(3), "dark")
    path = picture.save(tmp_path / "sockets.svg")
    root = ET.parse(path).getroot()
    assert "tcpviz-theme-dark" in root.get("class")
    assert ">3</text>" in path.read_text()


@pytest.mark.browser
def test_the_page_shows_the_counts_the_descriptions_and_the_sockets(tmp_path):
    from browser_support import artifact_path, launch_options, require_chromium
    from playwright.sync_api import sync_playwright

    require_chromium()
    snapshot = Snapshot(
        (
            Socket(4, "LISTEN", "127.0.0.1", 8080, "0.0.0.0", 0, pid=7, process="python3"),
            Socket(4, "ESTABLISHED", "127.0.0.1", 8080, "127.0.0.1", 50000, pid=7, process="python3"),
            Socket(4, "ESTABLISHED", "127.0.0.1", 50000, "127.0.0.1", 8080, pid=7, process="python3"),
            Socket(
                4, "TIME-WAIT", "127.0.0.1", 50002, "127.0.0.1", 8080,
                timer="time-wait", expires=41.5, orphan=True,
            ),
        ),
        "sock_diag",
        time.time(),
        0.004,
        {"port": [8080]},
    )  # fmt: skip
    w = LiveSocketsWidget(port=8080, start=False, theme="light")
    w._show(snapshot)
    state = {
        name: getattr(w, name)
        for name in (
            "svg",
            "heat",
            "badge_colours",
            "changes",
            "states",
            "sockets",
            "hidden",
            "heading",
            "status",
            "error",
            "running",
            "theme",
        )
    }
    w.close()
    module = (live_widget._STATIC / "live_widget.js").read_text()
    css = (live_widget._STATIC / "live_widget.css").read_text()
    page = tmp_path / "live.html"
    page.write_text(
        f"""<!doctype html><html><head><meta charset="utf-8"><style>{css}</style></head>
<body style="margin:0"><div id="root" style="width:1024px"></div>
<script type="module">
const state = {json.dumps(state)};
const sent = [];
const handlers = {{}};
const model = {{
  get: (name) => state[name],
  on: (events, f) => {{ for (const e of events.split(" ")) (handlers[e] ||= []).push(f); }},
  off: () => {{}},
  send: (message) => sent.push(message),
}};
window.sent = sent;
window.setTrait = (name, value) => {{
  state[name] = value;
  for (const f of handlers["change:" + name] || []) f();
}};
const url = URL.createObjectURL(new Blob([{json.dumps(module)}], {{ type: "text/javascript" }}));
const {{ render }} = await import(url);
render({{ model, el: document.getElementById("root") }});
window.ready = true;
</script></body></html>"""
    )
    with sync_playwright() as p:
        browser = p.chromium.launch(**launch_options())
        try:
            tab = browser.new_page(viewport={"width": 1024, "height": 768})
            tab.goto(page.as_uri())
            tab.wait_for_function("window.ready === true", timeout=5000)
            names = tab.locator(".tl-state .tl-name").all_text_contents()
            assert names == ["LISTEN", "ESTABLISHED", "TIME-WAIT"]
            assert tab.locator(".tl-state .tl-count").all_text_contents() == ["1", "2", "1"]
            assert DESCRIPTIONS["TIME-WAIT"] in tab.locator(".tl-description").all_text_contents()
            assert tab.locator("svg .tcpviz-count text").all_text_contents() == ["1", "2", "1"]
            assert (
                tab.locator(".tl-sockets td.tl-col-timer").all_text_contents()[-1]
                == "time-wait 41.5 s"
            )
            # Legible at projector size: the state names in the list at 16 px, the badge
            # numbers on the diagram at least as large as the state names there.
            size = tab.locator(".tl-name").first.evaluate("e => getComputedStyle(e).fontSize")
            assert size == "16px"
            badge = tab.locator("svg .tcpviz-count text").first.bounding_box()
            name = tab.locator("svg #state_LISTEN text").first.bounding_box()
            assert badge["height"] >= name["height"] * 0.95
            tab.screenshot(path=str(artifact_path("live_widget", "page")), full_page=True)
            # Stop is sent to Python, which decides; a new status is painted.
            tab.locator(".tl-button").click()
            assert tab.evaluate("window.sent") == [{"action": "start"}]
            tab.evaluate("window.setTrait('running', true)")
            assert tab.locator(".tl-button").text_content() == "Stop"
            tab.evaluate(
                "window.setTrait('changes', ['127.0.0.1:50000 -> 127.0.0.1:8080: ESTABLISHED -> FIN-WAIT-2'])"
            )
            assert "ESTABLISHED -> FIN-WAIT-2" in tab.locator(".tl-changes li").text_content()
            tab.evaluate("window.setTrait('states', [])")
            assert tab.locator(".tl-none").text_content() == "No TCP sockets match."
        finally:
            browser.close()


@pytest.mark.browser
@linux
def test_in_voila_the_widget_refreshes_on_its_own_and_stops(tmp_path):
    """In a real front end: the kernel's listener shows at once; a connection the test then
    opens appears at the next refresh, with nothing run in the kernel; Stop stops it."""
    import re

    import nbformat
    from browser_support import artifact_path, launch_options, require_chromium, voila
    from nbformat.v4 import new_code_cell, new_notebook
    from playwright.sync_api import expect, sync_playwright

    require_chromium()
    notebook = new_notebook(
        cells=[
            new_code_cell(
                "import socket\n"
                "from tcpviz.web import LiveSocketsWidget\n"
                'server = socket.create_server(("127.0.0.1", 0))\n'
                "live = LiveSocketsWidget(port=server.getsockname()[1], interval=0.5, limit=60)\n"
                "live"
            )
        ]
    )
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    path = tmp_path / "live.ipynb"
    nbformat.write(notebook, path)
    with voila(path, tmp_path) as url, sync_playwright() as p:
        browser = p.chromium.launch(**launch_options())
        try:
            tab = browser.new_page(viewport={"width": 1024, "height": 768})
            tab.goto(url, timeout=60_000)
            root = tab.locator(".tcpviz-live")
            root.wait_for(timeout=60_000)
            names = root.locator(".tl-state .tl-name")
            names.first.wait_for(timeout=10_000)
            assert names.all_text_contents() == ["LISTEN"]
            port = int(re.search(r"port (\d+)", root.locator(".tl-heading").text_content())[1])
            with socket.create_connection(("127.0.0.1", port), timeout=5):
                # The handshake completes in the kernel; no cell runs; the refresh shows it.
                established = root.locator(".tl-state", has_text="ESTABLISHED")
                established.wait_for(timeout=10_000)
                # A refresh can fall between the client's ESTABLISHED and the server's (the
                # final ACK is microseconds behind on loopback): the next refresh has both.
                expect(established.locator(".tl-count")).to_have_text("2", timeout=10_000)
                assert root.locator("svg .tcpviz-count text").all_text_contents() == ["1", "2"]
                assert "not accept()-ed yet" in root.locator(".tl-sockets").text_content()
                assert re.search(r"refresh \d+ of 60", root.locator(".tl-status").text_content())
                tab.screenshot(path=str(artifact_path("live_widget", "voila")), full_page=True)
                root.locator(".tl-button", has_text="Stop").click()
                root.locator(".tl-button", has_text="Start").wait_for(timeout=10_000)
                assert "not refreshing" in root.locator(".tl-status").text_content()
        finally:
            browser.close()


@linux
def test_the_widget_lists_what_moved_since_the_last_refresh(server):
    w = LiveSocketsWidget(port=server, start=False)
    try:
        assert w.changes == []
        with socket.create_connection(("127.0.0.1", server), timeout=5):
            deadline = time.monotonic() + 3
            while not w.changes and time.monotonic() < deadline:
                w.refresh()
                time.sleep(0.05)
            assert len(w.changes) == 2 and all("(new) -> ESTABLISHED" in c for c in w.changes)
            w.refresh()
            assert w.changes == []  # nothing moved since
    finally:
        w.close()
