"""The standalone page: one self-contained file, safe with any table, written atomically."""

from __future__ import annotations

import json
import os
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

import tcpviz.files
import tcpviz.web.html
from tcpviz.drawing.diagram import THEMES
from tcpviz.errors import TcpvizError
from tcpviz.model.table import Event, Table, Transition, tcp_table
from tcpviz.web.html import DEFAULT_TITLE, HtmlError, json_for_script, save_html, standalone_html
from tcpviz.web.payload import scenarios_payload, table_payload

HOSTILE = "</script><script>alert(1)</script><!-- & \u2028"


class Page(HTMLParser):
    """The parts of a page the tests look at, as a browser's HTML parser splits it."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self.styles: list[str] = []
        self.title = ""
        self.h1 = ""
        self.urls: list[str] = []
        self.tags: list[str] = []
        self.ids: dict[str, str] = {}
        self._in: tuple[str, dict[str, str | None]] | None = None
        self._text: list[str] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.tags.append(tag)
        if "id" in attributes:
            self.ids[attributes["id"]] = tag
        for name, value in attrs:
            if name in ("src", "href", "xlink:href", "action", "poster", "data") and value:
                self.urls.append(value)
        if tag in ("script", "style", "title", "h1"):
            self._in, self._text = (tag, attributes), []

    def handle_data(self, data):
        if self._in is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if self._in is not None and tag == self._in[0]:
            text = "".join(self._text)
            if tag == "script":
                self.scripts.append((self._in[1], text))
            elif tag == "style":
                self.styles.append(text)
            elif tag == "title":
                self.title = self.title or text  # the page's, not the SVG's element titles
            else:
                self.h1 = text
            self._in = None


def data_of(page: Page) -> dict:
    (text,) = [t for a, t in page.scripts if a.get("type") == "application/json"]
    return json.loads(text)


def hostile_table() -> Table:
    return Table(
        [
            Transition("IDLE", "go " + HOSTILE, "BUSY", sent=HOSTILE, action="<b>bold</b>"),
            Transition("BUSY", "stop", "IDLE", note=HOSTILE),
        ],
        descriptions={"IDLE": HOSTILE, "BUSY": "x < y && y > z"},
        events=[Event("stop", "user", "stop </script>")],
        name=HOSTILE,
    )


@pytest.fixture(scope="module")
def page_text() -> str:
    return standalone_html()


def test_the_page_is_one_html_document_with_its_data_style_and_module(page_text):
    assert page_text.startswith('<!DOCTYPE html>\n<html lang="en">')
    page = Page(page_text)
    assert page.title == DEFAULT_TITLE == page.h1
    kinds = [a.get("type") for a, _ in page.scripts]
    assert kinds == ["application/json", "module"]
    assert page.ids["tcpviz"] == "div" and page.ids["tcpviz-data"] == "script"
    assert any(".tcpviz-widget" in s for s in page.styles)
    assert "svg" in page.tags  # the diagram is inline, visible even without JavaScript
    assert 'charset="utf-8"' in page_text


def test_the_inline_diagram_is_themed_and_at_the_start_even_without_javascript():
    text = standalone_html(theme="dark")
    svg = text[text.index("<svg") : text.index("</svg>")]
    assert re.search(r'<svg[^>]*class="tcpviz-diagram tcpviz-theme-dark"', svg)
    assert re.search(r'id="state_CLOSED"[^>]*class="[^"]*\bcurrent\b', svg)
    assert svg.count(" current") == 1


def test_the_page_loads_nothing(page_text):
    page = Page(page_text)
    assert page.urls == []
    assert "http://" not in page_text and "https://" not in page_text
    assert "@import" not in page_text and "url(" not in page_text
    (module,) = [t for a, t in page.scripts if a.get("type") == "module"]
    assert not re.search(r"^\s*import\b|\bimport\(|\bfetch\(|XMLHttpRequest", module, re.M)


def test_the_module_is_the_widget_module_and_starts_the_local_model(page_text):
    js = (Path(tcpviz.web.__file__).parent / "static" / "widget.js").read_text(encoding="utf-8")
    (module,) = [t for a, t in Page(page_text).scripts if a.get("type") == "module"]
    assert js.strip() in module
    # The page renders the widget on the local model (which keepProgress also follows).
    assert "const model = localModel(data);\nrender({ model, el });" in module
    assert "keepProgress(model, {" in module


def test_the_data_is_the_payload_of_the_table(any_table):
    data = data_of(Page(standalone_html(any_table)))
    assert data["table"] == table_payload(any_table)
    assert data["scenarios"] == scenarios_payload(any_table)
    assert data["theme"] == "auto"


def test_extended_theme_and_title():
    page = Page(standalone_html(extended=True, theme="dark", title="Networks, week 3"))
    data = data_of(page)
    assert data["table"] == table_payload(tcp_table(extended=True))
    assert data["theme"] == "dark"
    assert page.title == "Networks, week 3"


def test_every_theme_makes_a_page_and_an_unknown_one_names_the_valid_ones():
    for theme in THEMES:
        assert data_of(Page(standalone_html(theme=theme)))["theme"] == theme
    with pytest.raises(HtmlError, match=r"unknown theme: 'neon' \(must be one of \[") as error:
        standalone_html(theme="neon")
    assert isinstance(error.value, TcpvizError)


@pytest.mark.exe
def test_a_hostile_table_cannot_break_out_of_the_page():
    table = hostile_table()
    text = standalone_html(table, title=HOSTILE)
    # Exactly our two scripts open and close; no label ends one early or starts another.
    assert text.lower().count("<script") == 2
    assert text.lower().count("</script") == 2
    page = Page(text)
    assert [a.get("type") for a, _ in page.scripts] == ["application/json", "module"]
    assert page.title == HOSTILE and page.h1 == HOSTILE
    data = data_of(page)
    assert data["table"] == table_payload(table)  # the JSON still reads back exactly
    assert data["table"]["name"] == HOSTILE
    assert data["table"]["states"][0]["description"] == HOSTILE
    assert page.urls == []


def test_json_for_script_escapes_what_html_would_read():
    text = json_for_script({"a": "</script>", "b": "<!--", "c": "&amp;", "d": "\u2028"})
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text) == {"a": "</script>", "b": "<!--", "c": "&amp;", "d": "\u2028"}
    with pytest.raises(ValueError):
        json_for_script({"x": float("nan")})  # not JSON: the page's JSON.parse would fail


def test_save_html_writes_the_page_and_returns_its_path(tmp_path):
    target = tmp_path / "page.html"
    result = save_html(target, theme="light", title="Week 3")
    assert result == target
    assert target.read_text(encoding="utf-8") == standalone_html(theme="light", title="Week 3")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["page.html"]  # no temporary left
    assert isinstance(save_html(str(tmp_path / "b.html")), Path)


def test_save_html_replaces_atomically_or_not_at_all(tmp_path, monkeypatch):
    target = tmp_path / "page.html"
    target.write_text("the old page", encoding="utf-8")
    # A bad argument: nothing is written at all.
    with pytest.raises(HtmlError):
        save_html(target, theme="neon")
    assert target.read_text(encoding="utf-8") == "the old page"

    # The rename fails (a full disk, a read-only directory): the old page stays whole.
    def refuse(source, destination):
        raise OSError("no space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="no space"):
        save_html(target)
    assert target.read_text(encoding="utf-8") == "the old page"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["page.html"]


def test_save_html_goes_through_write_atomic(tmp_path, monkeypatch):
    calls = []
    real = tcpviz.web.html.write_atomic

    def spy(path, data):
        calls.append(path)
        return real(path, data)

    monkeypatch.setattr(tcpviz.web.html, "write_atomic", spy)
    save_html(tmp_path / "x.html")
    assert calls == [tmp_path / "x.html"]


def test_save_html_into_a_missing_directory_fails_cleanly(tmp_path):
    with pytest.raises(FileNotFoundError):
        save_html(tmp_path / "nope" / "page.html")
    assert list(tmp_path.iterdir()) == []
