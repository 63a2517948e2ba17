"""The committed layouts (tcpviz/drawing/layouts/) and slides (diagrams/) match the code that makes them.

Compared by structure (ids, classes, titles, text, style sheet, colours), not bytes: Graphviz
versions place things differently. When one of these tests fails, run

    python -m tcpviz.diagrams

and commit what it writes.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from tcpviz import diagrams
from tcpviz.diagrams import (
    COMMAND,
    LAYOUTS,
    PLAIN_FILE,
    SLIDES,
    main,
    signature,
    slide_files,
    stale,
)
from tcpviz.drawing import diagram as render
from tcpviz.drawing import layout as layout_module
from tcpviz.drawing.diagram import layout_key, packaged_layouts
from tcpviz.drawing.layout import labels_file

ROOT = Path(__file__).resolve().parent.parent
DIAGRAMS = ROOT / "diagrams"
LAYOUT_DIR = ROOT / "tcpviz" / "drawing" / "layouts"
NS = "{http://www.w3.org/2000/svg}"

needs_dot = pytest.mark.exe  # see conftest.py: skipped without dot, except in CI

REGENERATE = f"run `{COMMAND}` and commit what it writes"


def classes_of(svg: str | bytes, name: str) -> list[str]:
    entries = signature(svg)["elements"]
    return [e["id"] for e in entries if name in e["attributes"]["class"].split()]


# -- the layout cache key -----------------------------------------------------------------------


@pytest.mark.parametrize("layout", LAYOUTS, ids=lambda layout: layout.file)
def test_the_packaged_layout_key_matches_the_current_dot_source(layout):
    index = json.loads((LAYOUT_DIR / "index.json").read_text())
    assert layout.file in index, (
        f"{layout.file} is not in tcpviz/drawing/layouts/index.json: {REGENERATE}"
    )
    assert index[layout.file]["dot_sha256"] == layout_key(layout.table()), (
        f"the DOT source of {layout.expression} changed since {layout.file} was laid out "
        f"(the table or dot_source() was edited): {REGENERATE}"
    )
    assert index[layout.file]["table"] == layout.expression
    assert (LAYOUT_DIR / layout.file).is_file()


def test_every_packaged_layout_is_found_by_layout_svg():
    assert {p.file for p in packaged_layouts().values()} == {layout.file for layout in LAYOUTS}


@needs_dot
@pytest.mark.exe
def test_the_packaged_layouts_have_the_structure_dot_gives_now():
    problems = stale(diagrams.layout_files(LAYOUT_DIR))
    assert problems == [], f"stale layouts {problems}: {REGENERATE}"


# -- the slides ---------------------------------------------------------------------------------


def test_the_committed_slides_are_up_to_date():
    # Drawn from the packaged layouts: needs no Graphviz.
    problems = stale(slide_files(DIAGRAMS))
    assert problems == [], f"stale files in diagrams/ {problems}: {REGENERATE}"


def test_the_readme_lists_every_slide():
    readme = (DIAGRAMS / "README.md").read_text()
    for slide in SLIDES:
        assert f"[`{slide.file}`]({slide.file})" in readme
    assert COMMAND in readme
    committed = {p.name for p in DIAGRAMS.glob("*.svg")}
    assert committed == {slide.file for slide in SLIDES} | {PLAIN_FILE}


@pytest.mark.parametrize(
    ("file", "current", "last"),
    [
        ("tcp-state-diagram.svg", [], []),
        ("three-way-handshake.svg", ["state_ESTABLISHED"], []),
        (
            "three-way-handshake-client.svg",
            ["state_ESTABLISHED"],
            ["edge_SYN_SENT__rcv_syn_ack"],
        ),
        (
            "three-way-handshake-server.svg",
            ["state_ESTABLISHED"],
            ["edge_SYN_RECEIVED__rcv_ack_of_syn"],
        ),
        ("active-close.svg", ["state_CLOSED"], ["edge_TIME_WAIT__timeout_2msl"]),
        ("passive-close.svg", ["state_CLOSED"], ["edge_LAST_ACK__rcv_ack_of_fin"]),
        ("simultaneous-close.svg", ["state_TIME_WAIT"], ["edge_CLOSING__rcv_ack_of_fin"]),
        ("simultaneous-open.svg", ["state_ESTABLISHED"], ["edge_SYN_RECEIVED__rcv_ack_of_syn"]),
    ],
)
def test_each_slide_highlights_what_its_name_says(file, current, last):
    svg = (DIAGRAMS / file).read_bytes()
    assert classes_of(svg, "current") == current
    assert classes_of(svg, "last") == last


def test_the_handshake_slide_shows_both_ends():
    svg = (DIAGRAMS / "three-way-handshake.svg").read_bytes()
    assert set(classes_of(svg, "visited")) == {
        "state_CLOSED",
        "state_LISTEN",
        "state_SYN_SENT",
        "state_SYN_RECEIVED",
        "state_ESTABLISHED",
    }
    assert set(classes_of(svg, "taken")) == {
        "edge_CLOSED__active_open",
        "edge_SYN_SENT__rcv_syn_ack",
        "edge_CLOSED__passive_open",
        "edge_LISTEN__rcv_syn",
        "edge_SYN_RECEIVED__rcv_ack_of_syn",
    }


def test_slides_carry_their_theme_and_the_extended_rows():
    assert signature((DIAGRAMS / "tcp-state-diagram-dark.svg").read_bytes())["root"]["class"] == (
        "tcpviz-diagram tcpviz-theme-dark"
    )
    extended = (DIAGRAMS / "tcp-extended.svg").read_bytes()
    assert len(classes_of(extended, "extended")) == 26
    assert len(classes_of(extended, "transition")) == 47


# -- the structural comparison ------------------------------------------------------------------


# The state diagrams (the ladders are tested in test_ladder.py).
STATE_SLIDES = [slide for slide in SLIDES if not slide.file.startswith("ladder-")]


@pytest.mark.parametrize("slide", STATE_SLIDES, ids=lambda slide: slide.file)
def test_slides_name_every_state_but_offer_no_dead_buttons(slide):
    # A slide is a picture: nothing happens when a state is activated, so no state may be a
    # focusable button, but each stays an image a screen reader names.
    svg = (DIAGRAMS / slide.file).read_bytes()
    assert b"tabindex" not in svg and b'role="button"' not in svg
    states = [e for e in signature(svg)["elements"] if e["id"].startswith("state_")]
    assert len(states) >= 11
    for state in states:
        assert state["attributes"]["role"] == "img"
        assert state["attributes"]["aria-label"] == state["title"]


def test_signature_ignores_positions_but_not_text_or_classes():
    svg = (DIAGRAMS / "active-close.svg").read_text()
    moved = re.sub(r' (points|d|x|y|viewBox|width|height)="[^"]*"', r' \1="0"', svg)
    assert signature(moved, baked=True) == signature(svg, baked=True)
    renamed = svg.replace(">FIN-WAIT-2<", ">FIN-WAIT-TWO<", 1)
    assert signature(renamed) != signature(svg)
    unmarked = svg.replace("node state visited current", "node state visited", 1)
    assert signature(unmarked) != signature(svg)
    # The accessibility tcpviz adds counts too: the root's role, the inner graph's.
    assert signature(svg.replace('role="group"', 'role="img"', 1)) != signature(svg)
    assert signature(svg.replace(' role="none"', "", 1)) != signature(svg)
    recoloured = svg.replace('fill="#e69f00"', 'fill="#ff0000"', 1)
    assert signature(recoloured, baked=True) != signature(svg, baked=True)


# -- the command --------------------------------------------------------------------------------


@pytest.fixture
def copies(tmp_path):
    """Copies of the committed layouts and slides, to tamper with."""
    layouts, slides = tmp_path / "layouts", tmp_path / "diagrams"
    shutil.copytree(LAYOUT_DIR, layouts)
    shutil.copytree(DIAGRAMS, slides)
    return layouts, slides


@needs_dot
@pytest.mark.exe
def test_check_passes_on_the_committed_files(capsys):
    assert main(["--check"]) == 0, capsys.readouterr().out
    assert "up to date" in capsys.readouterr().out


@needs_dot
@pytest.mark.exe
def test_check_names_every_stale_file_and_writes_nothing(copies, capsys):
    layouts, slides = copies
    index = json.loads((layouts / "index.json").read_text())
    index["tcp.svg"]["dot_sha256"] = "0" * 64  # as if the table changed since
    (layouts / "index.json").write_text(json.dumps(index))
    (layouts / "old-layout.svg").write_text("<svg/>")
    active = slides / "active-close.svg"
    active.write_text(active.read_text().replace(">TIME-WAIT<", ">TIME-WAITING<"))
    (slides / "passive-close.svg").unlink()
    (slides / "README.md").write_text("edited by hand\n")
    before = {p: p.read_bytes() for p in [*layouts.iterdir(), *slides.iterdir()]}

    status = main(["--check", "--layouts", str(layouts), "--out", str(slides)])

    out = capsys.readouterr().out
    assert status == 1
    for name in ("index.json", "old-layout.svg", "active-close.svg", "passive-close.svg"):
        assert re.search(rf"^stale: .*{re.escape(name)} \(", out, re.M), (name, out)
    assert "README.md" in out
    assert f"run `{COMMAND}`" in out
    assert "tcp.svg (" not in out  # an untouched file is not reported
    assert {p: p.read_bytes() for p in [*layouts.iterdir(), *slides.iterdir()]} == before


@needs_dot
@pytest.mark.exe
def test_regenerating_writes_everything_then_nothing(tmp_path, capsys):
    layouts, slides = tmp_path / "layouts", tmp_path / "diagrams"
    try:
        assert main(["--layouts", str(layouts), "--out", str(slides)]) == 0
        # Each layout with its label places, index.json, the slides, README.md, the plain DOT.
        written = 2 * len(LAYOUTS) + 1 + len(SLIDES) + 2
        assert f"{written} file(s) written" in capsys.readouterr().out
        assert {p.name for p in layouts.iterdir()} == {"index.json"} | {
            name for layout in LAYOUTS for name in (layout.file, labels_file(layout.file))
        }
        assert {p.name for p in slides.glob("*.svg")} == {s.file for s in SLIDES} | {PLAIN_FILE}
        (layouts / "stray.svg").write_text("<svg/>")
        assert main(["--layouts", str(layouts), "--out", str(slides)]) == 0
        out = capsys.readouterr().out
        assert "0 file(s) written" in out and "deleted" in out and "stray.svg" in out
        assert main(["--check", "--layouts", str(layouts), "--out", str(slides)]) == 0
        # The fresh files match the committed ones in structure.
        for slide in SLIDES:
            assert signature((slides / slide.file).read_bytes(), baked=True) == signature(
                (DIAGRAMS / slide.file).read_bytes(), baked=True
            ), slide.file
    finally:
        render.clear_caches()


@needs_dot
@pytest.mark.exe
def test_check_finds_label_places_that_are_not_their_layouts(copies, capsys):
    layouts, slides = copies
    labels = layouts / "tcp-extended.labels.json"
    data = json.loads(labels.read_text())
    row = next(iter(data["rows"]))
    data["rows"][row] = ["0.00", "0.00"]  # a label moved by hand
    labels.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    (layouts / "old-layout.labels.json").write_text("{}")

    status = main(["--check", "--layouts", str(layouts), "--out", str(slides)])

    out = capsys.readouterr().out
    assert status == 1
    assert re.search(r"^stale: .*tcp-extended\.labels\.json \(label places differ", out, re.M), out
    assert re.search(r"^stale: .*old-layout\.labels\.json \(not a built-in layout", out, re.M)
    assert "tcp.labels.json" not in out


@pytest.mark.parametrize("layout", LAYOUTS, ids=lambda layout: layout.file)
def test_a_shipped_layout_is_drawn_with_its_baked_label_places(layout, monkeypatch):
    """Loading a shipped layout runs no placement search, and draws what the search draws."""
    table = layout.table()
    raw = render.raw_layout(table)
    searched = layout_module._postprocess(raw, table)  # the search, run now
    render.clear_caches()

    def no_search(*args, **kwargs):
        raise AssertionError("a shipped layout searched for its label places")

    monkeypatch.setattr(layout_module, "_label_places", no_search)
    try:
        assert render.layout_svg(table) == searched
        assert layout_module._UNPLACED == []
    finally:
        render.clear_caches()


def test_label_places_that_are_not_the_layouts_are_worked_out_again(tmp_path, monkeypatch):
    """A labels file made from another layout (a hand edit, a half copy) is not trusted."""
    table = LAYOUTS[1].table()
    shipped = render.layout_svg(table)
    copy = tmp_path / "layouts"
    shutil.copytree(LAYOUT_DIR, copy)
    labels = copy / labels_file(LAYOUTS[1].file)
    data = json.loads(labels.read_text())
    data["svg_sha256"] = "0" * 64
    data["rows"] = {row: ["0.00", "0.00"] for row in data["rows"]}
    labels.write_text(json.dumps(data))
    searches = []
    real = layout_module._label_places
    monkeypatch.setattr(layout_module, "_label_places", lambda *a: searches.append(1) or real(*a))
    monkeypatch.setattr(layout_module, "_layouts_dir", lambda: copy)
    render.clear_caches()
    try:
        assert render.layout_svg(table) == shipped
        assert searches == [1]
    finally:
        monkeypatch.undo()
        render.clear_caches()


def test_without_graphviz_the_command_says_how_to_install_it(monkeypatch, capsys):
    monkeypatch.setenv("PATH", "")
    assert main(["--check"]) == 2
    assert "brew install graphviz" in capsys.readouterr().err
