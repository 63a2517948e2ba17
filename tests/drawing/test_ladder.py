"""The ladder diagram: geometry (labels never overlap, nothing outside the picture), the SVG,
the themes, Mermaid text, PNG and PDF through Graphviz, and bad input."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tcpviz.drawing import THEMES
from tcpviz.drawing.ladder import (
    LADDER_FORMATS,
    Box,
    Ladder,
    LadderSegment,
    LadderTrace,
    StateChange,
    TimerSpan,
    UserCall,
    layout_ladder,
    text_width,
)
from tcpviz.errors import RenderError

NS = "{http://www.w3.org/2000/svg}"
S = LadderSegment


def simultaneous_close_lost_ack() -> LadderTrace:
    """A made-up story with every kind of mark: crossing arrows, a loss, a retransmission, a
    segment in flight, timers that fired and run, calls."""
    return LadderTrace(
        segments=(
            S(1, 0, "SYN", 100, None, 0, 1, 0.0, "delivered", 2, 0.0),
            S(2, 1, "SYN,ACK", 300, 101, 0, 2, 0.0, "delivered", 3, 0.0),
            S(3, 0, "ACK", 101, 301, 0, 3, 0.0, "delivered", 4, 0.0),
            S(4, 0, "FIN,ACK", 101, 301, 0, 5, 0.0, "delivered", 7, 0.0),
            S(5, 1, "FIN,ACK", 301, 101, 0, 6, 0.0, "delivered", 8, 0.0),
            S(6, 0, "ACK", 102, 302, 0, 7, 0.0, "dropped", 9, 0.0),
            S(7, 1, "ACK", 302, 102, 0, 8, 0.0, "delivered", 10, 0.0),
            S(8, 1, "FIN,ACK", 301, 102, 0, 11, 1.0, "delivered", 12, 1.0, retransmission=True),
            S(9, 0, "ACK", 102, 302, 20, 12, 1.0, "in flight"),
        ),
        states=(
            StateChange(0, 0, "CLOSED"),
            StateChange(1, 0, "LISTEN"),
            StateChange(0, 1, "SYN-SENT"),
            StateChange(1, 2, "SYN-RECEIVED"),
            StateChange(0, 3, "ESTABLISHED"),
            StateChange(1, 4, "ESTABLISHED"),
            StateChange(0, 5, "FIN-WAIT-1"),
            StateChange(1, 6, "FIN-WAIT-1"),
            StateChange(0, 7, "CLOSING"),
            StateChange(1, 8, "CLOSING"),
            StateChange(1, 10, "TIME-WAIT"),
        ),
        timers=(
            TimerSpan(1, "RTO 1 s", 6, 0.0, 11, 1.0, "fired"),
            TimerSpan(1, "2MSL", 10, 1.0, None, None, "running"),
        ),
        calls=(UserCall(0, 1, "OPEN"), UserCall(0, 5, "CLOSE"), UserCall(1, 6, "CLOSE")),
        now_step=12,
        now_time=1.0,
    )


def assert_no_overlaps(boxes: list[Box]) -> None:
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert not a.overlaps(b), f"{a} overlaps {b}"


def assert_inside(layout) -> None:
    for box in layout.labels:
        assert box.x >= 0 and box.y >= 0, box
        assert box.right <= layout.width and box.bottom <= layout.height, box


@pytest.mark.parametrize("time", ["logical", "real"])
def test_no_label_overlaps_another_and_all_fit_in_the_picture(time):
    layout = layout_ladder(simultaneous_close_lost_ack(), time=time)
    kinds = {box.kind for box in layout.labels}
    assert {"label", "state", "timer", "call", "end", "loss"} <= kinds
    assert len([b for b in layout.labels if b.kind == "label"]) == 9
    assert_no_overlaps(layout.labels)
    assert_inside(layout)


def test_arrow_labels_sit_between_the_timelines():
    layout = layout_ladder(simultaneous_close_lost_ack())
    lines = [line for g in layout.groups if g.id.startswith("ladder_end_") for line in g.lines]
    left, right = sorted(line.x1 for line in lines)
    for box in layout.labels:
        if box.kind == "label":
            assert left < box.x and box.right < right


def test_time_runs_down_and_real_time_spaces_rows_by_the_clock():
    trace = simultaneous_close_lost_ack()
    logical = layout_ladder(trace, time="logical").rows
    real = layout_ladder(trace, time="real").rows
    for rows in (logical, real):
        ys = [rows[s] for s in sorted(rows)]
        assert ys == sorted(ys) and len(set(ys)) == len(ys)
    # Logical: equal rows. Real: the second between step 10 and 11 (the RTO) is wider than a
    # step that took no time.
    assert logical[11] - logical[10] == pytest.approx(logical[2] - logical[1])
    assert real[11] - real[10] > 1.5 * (real[2] - real[1])


def test_a_long_wait_is_drawn_with_a_break_not_in_proportion():
    trace = LadderTrace(
        states=(StateChange(0, 0, "TIME-WAIT", 0.0), StateChange(0, 1, "CLOSED", 240.0)),
    )
    layout = layout_ladder(trace, time="real")
    assert layout.rows[1] - layout.rows[0] < 300
    breaks = [line for g in layout.groups for line in g.lines if line.role == "break"]
    assert len(breaks) == 4  # two strokes on each timeline


def test_segments_sent_in_one_step_by_one_end_get_rows_of_their_own():
    trace = LadderTrace(
        segments=(
            S(1, 0, "ACK", 1, 1, 10, 1, fate="delivered", end_step=2),
            S(2, 0, "FIN,ACK", 11, 1, 0, 1, fate="delivered", end_step=3),
        )
    )
    layout = layout_ladder(trace)
    starts = [g.lines[0].y1 for g in layout.groups if g.id.startswith("ladder_segment_")]
    assert len(set(starts)) == 2
    assert_no_overlaps(layout.labels)


def test_text_width_is_the_fonts_and_bold_is_wider():
    assert text_width("", 14) == 0
    assert text_width("SYN-RECEIVED", 16, "bold") > text_width("SYN-RECEIVED", 16)
    assert text_width("ii", 10) < text_width("MM", 10)
    assert text_width("→", 10) == 10  # outside the table: one em


# -- random stories -------------------------------------------------------------------------------


@st.composite
def traces(draw):
    """A random story: sends from either end, deliveries and drops in any order, some segments
    left in flight, state changes, timers."""
    segments: list[LadderSegment] = []
    flying: list[tuple[int, int, int]] = []  # (id, sender, sent_step)
    states = [StateChange(0, 0, "CLOSED"), StateChange(1, 0, "LISTEN")]
    timers = []
    names = ["SYN-SENT", "ESTABLISHED", "FIN-WAIT-1", "SYN-RECEIVED", "TIME-WAIT", "CLOSING"]
    flags = ["SYN", "SYN,ACK", "ACK", "FIN,ACK", "RST", "ACK,PSH"]
    clock = 0.0
    n_steps = draw(st.integers(1, 40))
    done = []
    for step in range(1, n_steps + 1):
        action = draw(st.sampled_from(["send", "send", "end", "state", "timer", "wait"]))
        if action == "wait":
            clock += draw(st.sampled_from([0.5, 1.0, 3.0, 60.0]))
        if action == "send" or not flying:
            sender = draw(st.integers(0, 1))
            for _ in range(draw(st.integers(1, 2))):
                flying.append((len(flying) + len(done) + 1, sender, step))
            states.append(StateChange(sender, step, draw(st.sampled_from(names)), clock))
        elif action == "end":
            k = draw(st.integers(0, len(flying) - 1))
            sid, sender, sent = flying.pop(k)
            done.append(
                S(
                    sid,
                    sender,
                    draw(st.sampled_from(flags)),
                    draw(st.integers(0, 2**32 - 1)),
                    draw(st.one_of(st.none(), st.integers(0, 2**32 - 1))),
                    draw(st.sampled_from([0, 0, 1, 1460])),
                    sent,
                    0.0,
                    draw(st.sampled_from(["delivered", "dropped"])),
                    step,
                    clock,
                    retransmission=draw(st.booleans()),
                )
            )
        elif action == "state":
            states.append(
                StateChange(draw(st.integers(0, 1)), step, draw(st.sampled_from(names)), clock)
            )
        else:
            end = draw(st.integers(0, 1))
            stop = draw(st.one_of(st.none(), st.integers(step + 1, n_steps + 2)))
            timers.append(
                TimerSpan(end, "RTO 1 s", step, clock, stop, None, "fired" if stop else "running")
            )
    for sid, sender, sent in flying:
        segments.append(S(sid, sender, "ACK", 1, 1, 0, sent))
    segments.extend(done)
    return LadderTrace(
        segments=tuple(segments),
        states=tuple(states),
        timers=tuple(timers),
        now_step=n_steps + 2,
        now_time=clock,
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(traces(), st.sampled_from(["logical", "real"]))
def test_in_any_story_no_label_overlaps_another(trace, time):
    layout = layout_ladder(trace, time=time)
    assert_no_overlaps(layout.labels)
    assert_inside(layout)
    assert len([b for b in layout.labels if b.kind == "label"]) == len(trace.segments)


# -- the SVG ------------------------------------------------------------------------------------


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def test_the_svg_has_one_labelled_group_per_segment_state_and_timer():
    trace = simultaneous_close_lost_ack()
    root = parse(Ladder(trace).svg())
    assert root.get("class") == "tcpviz-ladder tcpviz-theme-light"
    assert root.get("role") == "group" and "9 segments" in root.get("aria-label")
    groups = {g.get("id"): g for g in root.iter(f"{NS}g")}
    assert len(groups) == len(list(root.iter(f"{NS}g")))  # ids unique
    segments = [g for g in groups.values() if "ladder-segment" in g.get("class")]
    assert len(segments) == 9
    for g in segments:
        title = g.find(f"{NS}title").text
        assert "seq=" in title and g.get("aria-label") == title
        assert [t.text for t in g.iter(f"{NS}text")][1].startswith("seq=")
    lost = groups["ladder_segment_6"]
    assert "dropped" in lost.get("class") and "lost on the way" in lost.get("aria-label")
    assert len([line for line in lost.iter(f"{NS}line") if line.get("class") == "loss"]) == 2
    assert lost.find(f"{NS}path") is None  # no arrowhead: it never arrived
    rtx = groups["ladder_segment_8"]
    assert "retransmission" in rtx.get("class")
    assert "FIN,ACK (retransmission)" in [t.text for t in rtx.iter(f"{NS}text")]
    assert rtx.find(f"{NS}line").get("stroke-dasharray")
    flying = groups["ladder_segment_9"]
    assert "in-flight" in flying.get("class") and "len=20" in flying.get("aria-label")
    states = [g for g in groups.values() if "ladder-state" in g.get("class")]
    assert [g.get("data-state") for g in states].count("ESTABLISHED") == 2
    timers = [g for g in groups.values() if "ladder-timer" in g.get("class")]
    assert {g.get("class") for g in timers} == {"ladder-timer fired", "ladder-timer running"}


@pytest.mark.parametrize("theme", THEMES)
def test_every_theme_of_the_state_diagram(theme):
    svg = Ladder(simultaneous_close_lost_ack(), theme=theme).svg()
    root = parse(svg)
    assert f"tcpviz-theme-{theme}" in root.get("class")
    assert f"svg.tcpviz-ladder.tcpviz-theme-{theme}" in root.find(f"{NS}style").text
    segment = root.find(f"{NS}g[@id='ladder_segment_1']/{NS}line")
    if theme == "auto":  # follows the page: nothing baked that would beat the variables
        assert segment.get("stroke") is None
    else:
        assert segment.get("stroke", "").startswith("#")
    if theme == "print":
        colours = {e.get("stroke") for e in root.iter() if e.get("stroke")}
        colours |= {e.get("fill") for e in root.iter() if e.get("fill")}
        assert colours <= {"#000000", "#ffffff", "#555555", "#d9d9d9"}


def test_dark_theme_draws_light_on_dark():
    root = parse(Ladder(simultaneous_close_lost_ack(), theme="dark").svg())
    assert root.find(f"{NS}rect").get("fill") == "#1e1e1e"
    assert root.find(f"{NS}g[@id='ladder_end_0']/{NS}text").get("fill") == "#e8e8e8"


def test_text_is_escaped():
    trace = LadderTrace(ends=("a<b", 'c"d'), states=(StateChange(0, 0, "X&Y"),), title="<script>")
    svg = Ladder(trace).svg()
    parse(svg)
    assert "<script>" not in svg and "X&amp;Y" in svg


def test_repr_and_jupyter_display():
    ladder = Ladder(simultaneous_close_lost_ack(), time="real")
    assert ladder._repr_svg_().startswith("<svg")
    bundle = ladder._repr_mimebundle_(include=["image/svg+xml"])
    assert list(bundle) == ["image/svg+xml"]
    assert "9 segments, real time" in repr(ladder)
    dark = ladder.with_theme("dark")
    assert dark.layout is ladder.layout and "theme-dark" in dark.svg()


# -- Mermaid ------------------------------------------------------------------------------------


def test_mermaid_sequence_diagram():
    text = Ladder(simultaneous_close_lost_ack()).mermaid()
    lines = text.splitlines()
    assert lines[0] == "sequenceDiagram"
    assert "    participant client as client" in lines
    assert "    client->>server: SYN seq=100" in lines
    assert "    client-xserver: ACK seq=102 ack=302 (lost)" in lines
    assert "    client-)server: ACK seq=102 ack=302 len=20 (in flight)" in lines
    assert "    Note right of server: TIME-WAIT" in lines
    # Sent order: the SYN before its SYN,ACK; the state a segment leads to after it.
    assert lines.index("    client->>server: SYN seq=100") < lines.index(
        "    server->>client: SYN,ACK seq=300 ack=101"
    )
    assert Ladder(simultaneous_close_lost_ack()).pipe("mermaid").decode() == text


# -- files --------------------------------------------------------------------------------------


def test_save_svg_and_mermaid_by_suffix(tmp_path):
    ladder = Ladder(simultaneous_close_lost_ack())
    svg = ladder.save(tmp_path / "l.svg")
    assert svg.read_text().startswith('<?xml version="1.0"')
    parse(svg.read_text().split("?>", 1)[1])
    assert ladder.save(tmp_path / "l.mmd").read_text().startswith("sequenceDiagram")


def test_bad_format_suffix_time_theme_and_trace(tmp_path):
    trace = simultaneous_close_lost_ack()
    with pytest.raises(RenderError, match=r"unknown format: 'gif' \(must be one of"):
        Ladder(trace).pipe("gif")
    with pytest.raises(RenderError, match=r"suffix '\.txt'"):
        Ladder(trace).save(tmp_path / "l.txt")
    assert not (tmp_path / "l.txt").exists()
    with pytest.raises(RenderError, match=r"unknown time: 'wall' \(must be one of \['logical'"):
        Ladder(trace, time="wall")
    with pytest.raises(RenderError, match="unknown theme"):
        Ladder(trace, theme="neon")
    with pytest.raises(RenderError, match="cannot draw a ladder of int"):
        Ladder(3)
    with pytest.raises(RenderError, match="sender must be 0 or 1"):
        LadderTrace(segments=(S(1, 2, "SYN", 0, None, 0, 1),))
    with pytest.raises(RenderError, match="ends at step 1, not after it was sent"):
        LadderTrace(segments=(S(1, 0, "SYN", 0, None, 0, 1, fate="delivered", end_step=1),))
    with pytest.raises(RenderError, match="unknown fate 'lost'"):
        LadderTrace(segments=(S(1, 0, "SYN", 0, None, 0, 1, fate="lost", end_step=2),))
    with pytest.raises(RenderError, match="scale must be between"):
        Ladder(trace).pipe("png", scale=0)


@pytest.mark.exe
@pytest.mark.parametrize("scale", [1.0, 2.0])
def test_png_through_graphviz_at_a_scale(tmp_path, scale):
    import struct

    ladder = Ladder(simultaneous_close_lost_ack())
    data = ladder.save(tmp_path / "l.png", scale=scale).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert abs(width - ladder.layout.width * scale) <= 2 * scale
    assert abs(height - ladder.layout.height * scale) <= 2 * scale


@pytest.mark.exe
def test_pdf_through_graphviz(tmp_path):
    data = Ladder(simultaneous_close_lost_ack(), theme="print").save(tmp_path / "l.pdf")
    assert data.read_bytes()[:5] == b"%PDF-"


def test_the_dot_source_pins_every_position():
    dot = Ladder(simultaneous_close_lost_ack()).dot()
    assert "layout=nop2" in dot
    assert dot.count('label="SYN,ACK"') == 1 and 'label="seq=300 ack=101"' in dot


def test_formats_listed():
    assert set(LADDER_FORMATS) == {"svg", "png", "pdf", "mermaid"}


# -- in a real browser ------------------------------------------------------------------------

MEASURE_JS = """
() => [...document.querySelectorAll("svg.tcpviz-ladder text")].map((t) => {
  const r = t.getBoundingClientRect();
  return {text: t.textContent, group: t.closest("g").id, x: r.x, y: r.y, w: r.width,
          h: r.height, size: parseFloat(getComputedStyle(t).fontSize)};
})
"""


@pytest.mark.browser
@pytest.mark.parametrize("time", ["logical", "real"])
def test_rendered_labels_do_not_overlap_and_are_legible(tmp_path, time):
    from browser_support import artifact_path, launch_options
    from playwright import sync_api

    ladder = Ladder(simultaneous_close_lost_ack(), time=time)
    page_file = tmp_path / "ladder.html"
    page_file.write_text(f"<!doctype html><body style='margin:0'>{ladder.svg()}</body>")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(**launch_options())
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(page_file.as_uri())
            texts = page.evaluate(MEASURE_JS)
            page.screenshot(path=artifact_path(f"test_ladder_{time}", "ladder"), full_page=True)
        finally:
            browser.close()
    assert len(texts) >= 9 * 2 + 11
    assert min(t["size"] for t in texts) >= 14
    # Rendered boxes: no text runs into another (two lines of one label may touch).
    for i, a in enumerate(texts):
        for b in texts[i + 1 :]:
            if a["group"] == b["group"]:
                continue
            apart = (
                a["x"] + a["w"] <= b["x"]
                or b["x"] + b["w"] <= a["x"]
                or a["y"] + a["h"] <= b["y"]
                or b["y"] + b["h"] <= a["y"]
            )
            assert apart, f"{a['text']!r} overlaps {b['text']!r}"
    # The estimate the layout used is at least the width the browser drew.
    boxes = {b.ref: b for b in ladder.layout.labels if b.kind == "state"}
    for t in texts:
        if t["text"] in boxes:
            assert t["w"] <= boxes[t["text"]].w + 0.5
    for t in texts:
        assert t["x"] >= 0 and t["x"] + t["w"] <= ladder.layout.width
        assert t["y"] >= 0 and t["y"] + t["h"] <= ladder.layout.height


def test_a_window_of_a_long_story_keeps_what_crosses_its_edges():
    trace = simultaneous_close_lost_ack()
    part = trace.window(6, 10)
    ids = {s.id: s for s in part.segments}
    # Sent before 6 and arriving at 7: starts at the window's top, says when it was sent.
    assert ids[4].sent_step == 6 and "sent at step 5" in ids[4].note
    # Sent at 8, delivered at 10: kept; delivered at 12 (after the window): left out, sent later.
    assert ids[7].fate == "delivered" and 8 not in ids and 3 not in ids
    # The states the ends are in when the window opens are written at its top.
    assert {(c.end, c.state) for c in part.states if c.step == 6} == {
        (0, "FIN-WAIT-1"),
        (1, "FIN-WAIT-1"),
    }
    assert part.steps()[0] == 6 and part.steps()[-1] == 10
    layout = layout_ladder(part)
    assert_no_overlaps(layout.labels)
    with pytest.raises(RenderError, match="the last is before the first"):
        trace.window(5, 4)


def test_a_window_opening_as_a_segment_arrives_leaves_that_segment_out():
    trace = simultaneous_close_lost_ack()
    arriving = [s for s in trace.segments if s.end_step is not None and s.sent_step < s.end_step]
    for s in arriving:
        part = trace.window(s.end_step, s.end_step + 4)  # was: "ends at step N, not after it"
        assert s.id not in {kept.id for kept in part.segments}
        assert_no_overlaps(layout_ladder(part).labels)


# -- from the simulator's trace (events read by their kind, as tcpviz.sim writes them) --------


def _event(kind, step, end, time=0.0, **fields):
    from types import SimpleNamespace

    return SimpleNamespace(kind=kind, step=step, time=time, end=end, **fields)


def _segment(flags, seq, ack=0, payload=0):
    from types import SimpleNamespace

    return SimpleNamespace(
        flag_text=flags, flags=frozenset(flags.split(",")), seq=seq, ack=ack, payload=payload
    )


def test_trace_from_events_reads_every_kind():
    from tcpviz.drawing.ladder import trace_from_events

    syn = _segment("SYN", 100)
    events = [
        _event("call", 1, "client", call="connect", reason=""),
        _event("state", 1, "client", previous="CLOSED", state="SYN-SENT", transition=None),
        _event("sent", 1, "client", segment_id=1, segment=syn),
        _event("timer-start", 1, "client", timer="retransmit", deadline=1.0),
        _event("timer-start", 1, "client", timer="user-timeout", deadline=300.0),
        _event("duplicated", 2, "server", segment_id=1, segment=syn, copy_id=2),
        _event("dropped", 3, "server", segment_id=1, segment=syn),
        _event("timer-fire", 4, "client", 1.0, timer="retransmit"),
        _event("sent", 4, "client", 1.0, segment_id=3, segment=syn, retransmission=True),
        _event("timer-start", 4, "client", 1.0, timer="retransmit", deadline=3.0),
        _event(
            "delivered",
            5,
            "server",
            1.0,
            segment_id=2,
            segment=syn,
            response="ok",
            reason="a SYN in LISTEN",
            section="3.10.7.2",
        ),
        _event("delayed", 6, "server", 1.0, segment_id=3, segment=syn),
    ]
    trace = trace_from_events(events, initial=("CLOSED", "LISTEN"))
    by_id = {s.id: s for s in trace.segments}
    assert by_id[1].fate == "dropped" and by_id[1].end_step == 3 and by_id[1].ack is None
    assert by_id[2].duplicate and by_id[2].sent_step == 1 and by_id[2].fate == "delivered"
    assert "3.10.7.2" in by_id[2].note
    assert by_id[3].retransmission and by_id[3].fate == "in flight"
    assert [(c.end, c.step, c.state) for c in trace.states] == [
        (0, 0, "CLOSED"),
        (1, 0, "LISTEN"),
        (0, 1, "SYN-SENT"),
    ]
    assert [(t.name, t.outcome, t.stop_step) for t in trace.timers] == [
        ("RTO 1 s", "fired", 4),
        ("RTO 2 s", "running", None),
    ]  # the user timeout is left out by default
    assert trace.calls[0].call == "connect" and trace.now_step == 6
    layout = layout_ladder(trace)
    assert_no_overlaps(layout.labels)
    with pytest.raises(RenderError, match="the trace names an end 'router'"):
        trace_from_events([_event("call", 1, "router", call="connect", reason="")])


# -- with the simulator: every connection scenario, and `tcpviz ladder` ------------------------


def scenario_names():
    from tcpviz.teach.connection_scenarios import CONNECTION_SCENARIOS

    return list(CONNECTION_SCENARIOS)


@pytest.mark.parametrize("name", scenario_names())
@pytest.mark.parametrize("time", ["logical", "real"])
def test_every_connection_scenario_lays_out_without_overlaps(name, time):
    from tcpviz.teach.connection_scenarios import get_connection_scenario

    scenario = get_connection_scenario(name)
    connection = scenario.play()
    ladder = Ladder(connection, time=time)
    assert_no_overlaps(ladder.layout.labels)
    assert_inside(ladder.layout)
    # Every segment the connection put on the network has its arrow, and the final states are
    # written on the timelines.
    assert len(ladder.trace.segments) == connection.counts["sent"]
    last = {c.end: c.state for c in sorted(ladder.trace.states, key=lambda c: c.step)}
    assert (last[0], last[1]) == scenario.ends_in


def test_lost_final_ack_shows_the_loss_and_the_retransmitted_fin():
    from tcpviz.teach.connection_scenarios import get_connection_scenario

    trace = Ladder(get_connection_scenario("lost-final-ack").play()).trace
    assert any(s.fate == "dropped" and s.flags == "ACK" for s in trace.segments)
    assert any(s.retransmission and "FIN" in s.flags for s in trace.segments)
    assert any(t.name == "2MSL 240 s" for t in trace.timers)


def run_cli(*argv):
    from tcpviz.cli import main

    return main(list(argv))


def test_cli_ladder_writes_svg_mermaid_and_stdout(tmp_path, capsys):
    assert run_cli("ladder", "simultaneous-close", "-o", str(tmp_path / "l.svg")) == 0
    root = parse((tmp_path / "l.svg").read_text().split("?>", 1)[1])
    assert "Simultaneous close" in root.get("aria-label")
    assert run_cli("ladder", "handshake", "-o", str(tmp_path / "l.mmd"), "--time", "real") == 0
    assert (tmp_path / "l.mmd").read_text().startswith("sequenceDiagram")
    capsys.readouterr()
    assert run_cli("ladder", "handshake", "--format", "mermaid", "--theme", "dark") == 0
    assert capsys.readouterr().out.startswith("sequenceDiagram")


def test_cli_ladder_errors_name_what_is_right(tmp_path, capsys):
    assert run_cli("ladder", "handshak", "-o", str(tmp_path / "l.svg")) == 2
    err = capsys.readouterr().err
    assert "unknown connection scenario 'handshak'" in err and "'lost-final-ack'" in err
    assert err.count("\n") == 1 and not (tmp_path / "l.svg").exists()
    assert run_cli("ladder", "handshake", "-o", str(tmp_path / "l.gif")) == 2
    assert "'.mmd'" in capsys.readouterr().err
    assert run_cli("ladder", "handshake", "--format", "png") == 2
    assert "png is binary" in capsys.readouterr().err


@pytest.mark.exe
def test_cli_ladder_png_and_pdf(tmp_path):
    assert run_cli("ladder", "lost-syn", "-o", str(tmp_path / "l.png"), "--scale", "2") == 0
    assert (tmp_path / "l.png").read_bytes()[:4] == b"\x89PNG"
    assert run_cli("ladder", "lost-syn", "-o", str(tmp_path / "l.pdf")) == 0
    assert (tmp_path / "l.pdf").read_bytes()[:5] == b"%PDF-"


# -- the ladders in diagrams/ ---------------------------------------------------------------------


def test_the_committed_ladders_are_exactly_what_the_code_draws():
    # The ladder is tcpviz's own drawing (no Graphviz), so its files can be compared byte for
    # byte, stricter than diagrams' structural check (which also covers them).
    from pathlib import Path

    from tcpviz.diagrams import SLIDES, slide_files

    root = Path(__file__).resolve().parents[2] / "diagrams"
    ladders = [s.file for s in SLIDES if s.file.startswith("ladder-")]
    assert len(ladders) == 6
    fresh = {f.path.name: f.data for f in slide_files(root)}
    for name in ladders:
        assert (root / name).read_bytes() == fresh[name], (
            f"diagrams/{name} is stale: run `python -m tcpviz.diagrams` and commit what it writes"
        )


def test_the_ladder_slides_are_pictures_with_named_segments_and_no_buttons():
    from pathlib import Path

    from tcpviz.diagrams import SLIDES

    root = Path(__file__).resolve().parents[2] / "diagrams"
    for slide in (s for s in SLIDES if s.file.startswith("ladder-")):
        svg = (root / slide.file).read_bytes()
        assert b"tabindex" not in svg and b'role="button"' not in svg
        tree = parse(svg.decode().split("?>", 1)[1])
        segments = [g for g in tree.iter(f"{NS}g") if "ladder-segment" in g.get("class")]
        assert segments and all(g.get("role") == "img" and g.get("aria-label") for g in segments)


def test_compact_ladders_are_narrower_and_still_never_overlap():
    from tcpviz.teach.connection_scenarios import CONNECTION_SCENARIOS

    for scenario in CONNECTION_SCENARIOS.values():
        connection = scenario.play()
        wide, narrow = Ladder(connection), Ladder(connection, compact=True)
        assert narrow.layout.width < wide.layout.width
        assert_no_overlaps(narrow.layout.labels)
        assert_inside(narrow.layout)


def test_every_scenarios_compact_ladder_fits_the_narrow_widget_at_12_px():
    """At 900 px (JupyterLab at 1280x800 with the file browser open) the widget's ladder pane
    is about 590 px wide, and the ladder is scaled down to it: its 14 px labels stay at 12 px
    or more only while the ladder is at most 14/12 of that (688 px; 670 leaves a margin). The
    browser tests measure the same in the widget (tests/web/test_connection_widget.py)."""
    from tcpviz.teach.connection_scenarios import CONNECTION_SCENARIOS

    widths = {
        name: Ladder(scenario.play(), compact=True).layout.width
        for name, scenario in CONNECTION_SCENARIOS.items()
    }
    assert max(widths.values()) <= 670.0, widths


@pytest.mark.parametrize("compact", [False, True], ids=["paper", "compact"])
def test_a_lost_segments_label_leaves_its_short_arrow_in_view(compact):
    """A lost arrow stops half-way, shorter than its label: the label goes above or below it
    (clear of every point of it) and clear of its cross, so the arrow can be seen."""
    from tcpviz.teach.connection_scenarios import CONNECTION_SCENARIOS

    checked = 0
    for name in ("lost-syn", "lost-syn-ack", "lost-final-ack"):
        layout = Ladder(CONNECTION_SCENARIOS[name].play(), compact=compact).layout
        for g in layout.groups:
            if "dropped" not in g.classes.split():
                continue
            (arrow,) = [line for line in g.lines if line.role == "segment"]
            (box,) = g.backs
            for k in range(101):  # every point of the arrow, a hundredth apart
                x = arrow.x1 + (arrow.x2 - arrow.x1) * k / 100
                y = arrow.y1 + (arrow.y2 - arrow.y1) * k / 100
                assert not (box.x < x < box.right and box.y < y < box.bottom), (name, g.id)
            checked += 1
    assert checked >= 3


# -- the ends' names: never overlapping, never outside the picture ------------------------------

LONG_NAMES = [
    ("client", "server"),
    ("[2001:db8:1234:5678::101]:50000", "[2001:db8:1234:5678::2]:80"),
    ("[2001:db8:1234:5678:9abc:def0:1234:5678]:65535", "[fe80::1]:22"),
    ("192.168.100.200:54321", "10.0.0.1:443"),
    ("a-very-long-host-name-without-any-place-to-break.example.org", "b"),
    ("the client on the left", "the server on the right"),
]


def end_name_extents(layout) -> list[tuple[float, float, float, list[str]]]:
    """Each end's name as drawn: its left and right (the text width estimate the layout uses,
    centred as the SVG anchors it), its size, its lines."""
    found = []
    for end in (0, 1):
        (group,) = [g for g in layout.groups if g.id == f"ladder_end_{end}"]
        texts = [t for t in group.texts if t.role == "end"]
        assert texts and all(t.anchor == "middle" for t in texts)
        left = min(t.x - text_width(t.text, t.size, t.weight) / 2 for t in texts)
        right = max(t.x + text_width(t.text, t.size, t.weight) / 2 for t in texts)
        found.append((left, right, min(t.size for t in texts), [t.text for t in texts]))
    return found


@pytest.mark.parametrize("compact", [False, True], ids=["paper", "compact"])
@pytest.mark.parametrize("ends", LONG_NAMES, ids=lambda e: e[0][:12])
def test_the_ends_names_never_overlap_nor_leave_the_picture(ends, compact):
    trace = LadderTrace(
        ends=ends,
        segments=(S(1, 0, "SYN", 100, None, 0, 1, fate="delivered", end_step=2),),
        states=(StateChange(0, 1, "SYN-SENT"), StateChange(1, 2, "SYN-RECEIVED")),
    )
    layout = layout_ladder(trace, compact=compact)
    (l0, r0, size0, lines0), (l1, r1, size1, lines1) = end_name_extents(layout)
    assert r0 + 4 < l1, f"the names overlap: {lines0} to {r0:.1f}, {lines1} from {l1:.1f}"
    assert l0 >= 0 and r1 <= layout.width, (l0, r1, layout.width)
    assert min(size0, size1) >= 14.0  # never smaller than the arrow labels
    # Broken, if at all, before the port: the lines are the name, nothing left out.
    assert "".join(lines0).replace(" ", "") == ends[0].replace(" ", "")
    assert "".join(lines1).replace(" ", "") == ends[1].replace(" ", "")
    assert_no_overlaps(layout.labels)
    assert_inside(layout)
    # Under the names: the timelines start below the last line.
    name_boxes = [b for b in layout.labels if b.kind == "end"]
    timelines = [g.lines[0] for g in layout.groups if g.id.startswith("ladder_end_")]
    assert all(line.y1 > max(b.bottom for b in name_boxes) for line in timelines)
    if ends == ("client", "server"):
        assert (size0, size1, lines0, lines1) == (18.0, 18.0, ["client"], ["server"])
    if compact and ends[0].startswith("[2001:db8:1234:5678::101]"):
        # Two IPv6 ends of a replay fit the compact ladder without widening it: broken there.
        assert lines0 == ["[2001:db8:1234:5678::101]", ":50000"]
        plain = layout_ladder(replace(trace, ends=("client", "server")), compact=True)
        assert layout.width == plain.width


@settings(max_examples=40, deadline=None)
@given(
    st.tuples(
        st.text(st.characters(min_codepoint=32, max_codepoint=126), min_size=1, max_size=60),
        st.text(st.characters(min_codepoint=32, max_codepoint=126), min_size=1, max_size=60),
    ),
    st.booleans(),
)
def test_any_two_names_keep_apart_and_inside(ends, compact):
    layout = layout_ladder(LadderTrace(ends=ends), compact=compact)
    (_, r0, _, _), (l1, r1, _, _) = end_name_extents(layout)
    assert r0 < l1 and r1 <= layout.width
    assert_no_overlaps(layout.labels)
    assert_inside(layout)


def test_cli_ladder_writes_the_standalone_page_of_a_scenario(tmp_path, capsys):
    assert run_cli("ladder", "lost-final-ack", "-o", str(tmp_path / "p.html")) == 0
    page = (tmp_path / "p.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "tcpviz-ladder" in page
    assert "http://" not in page
    capsys.readouterr()
    assert run_cli("ladder", "handshake", "--format", "html", "--theme", "dark") == 0
    assert "tcpviz-page-dark" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("cls", "values"),
    [
        (
            LadderSegment,
            (7, 1, "PSH,ACK", 101, 301, 5, 3, 0.25, "delivered", 4, 0.5, True, False, "x"),
        ),
        (TimerSpan, (0, "RTO 1 s", 2, 0.0, 4, 1.0, "fired")),
        (UserCall, (1, 3, "SEND 5 bytes", 0.5)),
    ],
)
def test_records_made_for_speed_are_the_records_the_constructor_makes(cls, values):
    """trace_from_events makes its records with _made (no per-field setattr): the same object."""
    from tcpviz.drawing.ladder import _made

    made, built = _made(cls, values), cls(*values)
    assert made == built and hash(made) == hash(built) and repr(made) == repr(built)
    assert vars(made) == vars(built) and list(vars(made)) == list(vars(built))
    with pytest.raises(AttributeError):
        made.end = 0  # still frozen
    with pytest.raises(ValueError):
        _made(cls, values[:-1])  # every field, or nothing
