"""The heat map on a laid-out diagram: count badges and shaded states (tcpviz.drawing.heat)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tcpviz.drawing import HEAT_FILLS, Diagram, heat_level, heat_map
from tcpviz.errors import RenderError
from tcpviz.model import STATES, tcp_table

SVG = "{http://www.w3.org/2000/svg}"


def _tree(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def _node(root: ET.Element, state: str) -> ET.Element:
    state_id = tcp_table().state_ids[state]
    (node,) = [g for g in root.iter(f"{SVG}g") if g.get("id") == state_id]
    return node


def _badges(root: ET.Element) -> dict[str, ET.Element]:
    ids = {v: k for k, v in tcp_table().state_ids.items()}
    return {
        ids[g.get("data-state-id")]: g
        for g in root.iter(f"{SVG}g")
        if g.get("class") == "tcpviz-count"
    }


def test_each_counted_state_gets_a_badge_with_its_count_and_a_shade():
    counts = {"LISTEN": 2, "ESTABLISHED": 40, "TIME-WAIT": 3, "SYN-SENT": 0}
    root = _tree(heat_map(Diagram().svg(), None, counts))
    badges = _badges(root)
    assert set(badges) == {"LISTEN", "ESTABLISHED", "TIME-WAIT"}
    for state, badge in badges.items():
        assert badge.find(f"{SVG}text").text == str(counts[state])
    established = _node(root, "ESTABLISHED")
    assert "heat-5" in established.get("class").split()
    shape = established.find(f"{SVG}path")
    assert shape.get("fill") == HEAT_FILLS[4][0]
    assert f"fill:{HEAT_FILLS[4][0]}" in shape.get("style")  # wins over the style sheet
    name = established.find(f"{SVG}text")
    assert name.get("fill") == HEAT_FILLS[4][1] == "#ffffff"
    assert established.get("aria-label").startswith("ESTABLISHED, 40 sockets: The third step")
    assert established.find(f"{SVG}title").text.startswith("ESTABLISHED, 40 sockets:")
    assert _node(root, "LISTEN").get("aria-label").startswith("LISTEN, 2 sockets:")


def test_states_without_a_count_are_left_alone():
    plain = Diagram().svg()
    root = _tree(heat_map(plain, None, {"LISTEN": 1}))
    before = _node(_tree(plain), "SYN-SENT")
    after = _node(root, "SYN-SENT")
    assert ET.tostring(before) == ET.tostring(after)
    assert _node(root, "LISTEN").get("aria-label").startswith("LISTEN, 1 socket:")
    assert heat_map(plain, None, {}) == plain
    assert heat_map(plain, None, dict.fromkeys(STATES, 0)) == plain


def test_badges_sit_on_the_top_right_corner_above_every_arrow_and_are_legible():
    root = _tree(heat_map(Diagram().svg(), None, {"CLOSE-WAIT": 1234}))
    graph = next(g for g in root.iter(f"{SVG}g") if g.get("class") == "graph")
    # Drawn last inside the graph's group (same transform as the states), so on top.
    assert graph[-1].get("class") == "tcpviz-counts"
    badge = _badges(root)["CLOSE-WAIT"]
    rect = badge.find(f"{SVG}rect")
    x, y, w, h = (float(rect.get(k)) for k in ("x", "y", "width", "height"))
    numbers = [
        float(n)
        for n in re.findall(r"-?\d+\.?\d*", _node(root, "CLOSE-WAIT").find(f"{SVG}path").get("d"))
    ]
    right, top = max(numbers[0::2]), min(numbers[1::2])
    assert x < right < x + w and y < top < y + h  # over the corner
    text = badge.find(f"{SVG}text")
    name_size = float(_node(root, "CLOSE-WAIT").find(f"{SVG}text").get("font-size"))
    assert float(text.get("font-size")) >= name_size and text.get("font-weight") == "bold"
    assert w >= 0.55 * float(text.get("font-size")) * 4  # four digits fit


@pytest.mark.parametrize("theme", ["light", "dark", "print", "auto"])
def test_every_theme_and_the_extended_table(theme):
    table = tcp_table(extended=True)
    svg = Diagram(table, theme=theme, state="LISTEN").svg()
    out = heat_map(svg, table, {"LISTEN": 1, "CLOSING": 2})
    assert len(_badges(_tree(out))) == 2
    assert 'aria-current="true"' in out  # the highlight is kept


def test_bad_counts_are_refused_and_name_the_problem():
    svg = Diagram().svg()
    with pytest.raises(RenderError, match=r"unknown state: 'ESTAB' \(must be one of"):
        heat_map(svg, None, {"ESTAB": 1})
    with pytest.raises(RenderError, match="count of LISTEN must be a whole number"):
        heat_map(svg, None, {"LISTEN": -1})
    with pytest.raises(RenderError, match="count of LISTEN"):
        heat_map(svg, None, {"LISTEN": 1.5})
    with pytest.raises(RenderError, match="no element with id 'state_"):
        heat_map("<svg><g id='graph0'></g></svg>", None, {"LISTEN": 1})


@given(st.integers(0, 10**6), st.integers(0, 10**6))
def test_heat_level_is_monotone_and_bounded(a, b):
    low, high = sorted((a, b))
    maximum = max(high, 1)
    assert 0 <= heat_level(low, maximum) <= heat_level(high, maximum) <= len(HEAT_FILLS)
    assert (heat_level(low, maximum) == 0) == (low == 0)
    if high:
        assert heat_level(high, high) == len(HEAT_FILLS)


def test_the_badge_grows_with_the_state_names():
    svg = Diagram().svg()
    start = svg.index('<g id="state_LISTEN"')
    end = svg.index("</g>", start)
    size = re.search(r'font-size="([0-9.]+)"', svg[start:end]).group(1)  # the layout's names
    bigger = (
        svg[:start] + svg[start:end].replace(f'font-size="{size}"', 'font-size="30.00"') + svg[end:]
    )
    badge = _badges(_tree(heat_map(bigger, None, {"LISTEN": 7, "CLOSED": 1})))
    assert float(badge["LISTEN"].find(f"{SVG}text").get("font-size")) == 30
    assert float(badge["CLOSED"].find(f"{SVG}text").get("font-size")) == max(14, float(size))
