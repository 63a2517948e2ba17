"""A standalone web page: the interactive diagram in one HTML file, with no Python behind it.

The page inlines everything it needs (the laid-out SVG, the table payload, the widget's CSS
and its JavaScript module), loads nothing from the network and runs from ``file://``: a
teacher can mail it, put it on a USB stick, or open it on a locked-down lab machine. The same
``widget.js`` that draws the notebook widget runs here with a local model that looks up what
Python wrote into the page (where each arrow leads, the scenarios, quizzes played out in
advance): history, undo and redo, scenarios and the quiz work with no Python behind them.

>>> page = standalone_html()
>>> page.startswith("<!DOCTYPE html>") and "http://" not in page
True
"""

from __future__ import annotations

import hashlib
import html as _html
import json
import os
import re
from pathlib import Path

from ..drawing import check_theme
from ..drawing.diagram import highlight, layout_svg
from ..errors import HtmlError
from ..files import write_atomic
from ..model.table import Table, tcp_table
from .payload import moves_payload, quizzes_payload, scenarios_payload, table_payload

__all__ = ["DEFAULT_TITLE", "HtmlError", "json_for_script", "save_html", "standalone_html"]

_STATIC = Path(__file__).parent / "static"

#: The page's title unless told otherwise.
DEFAULT_TITLE = "The TCP connection state machine (RFC 9293)"

# Outside JupyterLab the theme variables the diagram and the widget read do not exist; the page
# defines them, light or dark as the reader's system prefers, so that theme "auto" follows it.
_PAGE_CSS = """
:root {
  color-scheme: light dark;
  --jp-ui-font-color0: #1b1b1b; --jp-ui-font-color1: #1b1b1b; --jp-ui-font-color2: #5c5c5c;
  --jp-ui-font-color3: #8a8a8a; --jp-content-font-color0: #1b1b1b;
  --jp-content-font-color1: #1b1b1b; --jp-content-font-color2: #5c5c5c;
  --jp-layout-color0: #ffffff; --jp-layout-color1: #f6f7f8; --jp-layout-color2: #eceef0;
  --jp-layout-color3: #c4c7cc; --jp-border-color0: #9ea3aa; --jp-border-color1: #c4c7cc;
  --jp-border-color2: #e0e0e0; --jp-brand-color0: #0d47a1; --jp-brand-color1: #1565c0;
  --jp-brand-color2: #64b5f6; --jp-brand-color3: #bbdefb; --jp-brand-color4: #d6e6fa;
  --jp-accent-color1: #2e7d32; --jp-success-color1: #2e7d32; --jp-warn-color1: #e65100;
  --jp-warn-color2: #ffb74d; --jp-error-color1: #c62828; --jp-error-color3: #fde7e7;
  --jp-ui-font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  --jp-code-font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace;
}
@media (prefers-color-scheme: dark) {
  :root {
    --jp-ui-font-color0: #e8e8e8; --jp-ui-font-color1: #e8e8e8; --jp-ui-font-color2: #a8acb3;
    --jp-ui-font-color3: #7d8188; --jp-content-font-color0: #e8e8e8;
    --jp-content-font-color1: #e8e8e8; --jp-content-font-color2: #a8acb3;
    --jp-layout-color0: #1e1f22; --jp-layout-color1: #2a2c30; --jp-layout-color2: #34373c;
    --jp-layout-color3: #4a4e55; --jp-border-color0: #6b7079; --jp-border-color1: #4a4e55;
    --jp-border-color2: #34373c; --jp-brand-color0: #90caf9; --jp-brand-color1: #64b5f6;
    --jp-brand-color2: #1e88e5; --jp-brand-color3: #1565c0; --jp-brand-color4: #1e3a5a;
    --jp-accent-color1: #81c784; --jp-success-color1: #81c784; --jp-warn-color1: #ffb74d;
    --jp-warn-color2: #e65100; --jp-error-color1: #ef9a9a; --jp-error-color3: #4a2326;
  }
}
body {
  margin: 0; padding: 16px 24px;
  color: var(--jp-ui-font-color0); background: var(--jp-layout-color0);
  font-family: var(--jp-ui-font-family);
}
body.tcpviz-page-light { color-scheme: light; color: #1b1b1b; background: #ffffff; }
body.tcpviz-page-dark { color-scheme: dark; color: #e8e8e8; background: #1e1f22; }
body.tcpviz-page-print { color-scheme: light; color: #000000; background: #ffffff; }
h1 { font-size: 1.4em; margin: 0 0 4px; }
.tcpviz-intro { margin: 0 0 12px; opacity: 0.8; max-width: 70em; }
.tcpviz-page-footer { margin-top: 12px; font-size: 0.85em; opacity: 0.7; }
.tcpviz-share { margin: 8px 0 0; font-size: 0.9em; }
.tcpviz-note { display: block; margin-top: 4px; font-weight: 600; }
.tcpviz-note[hidden] { display: none; }
#tcpviz > svg { max-width: 100%; height: auto; }
@media print { .tcpviz-intro, .tcpviz-page-footer, .tcpviz-share { display: none; } }
"""

_INTRO = (
    "Click an arrow leaving the current state, or a button beside the diagram, to make that "
    "event happen. Keys: 1\u20139 fire the numbered events, \u2190 and \u2192 undo and redo; "
    "Reset starts again (and Undo reset takes it back). Scenario plays a handshake or a close step by step, with the reason for "
    "each step; Quiz asks where the connection goes next."
)

# Where the module's text ends, the page starts it on the inlined data.
_BOOT = """
const data = JSON.parse(document.getElementById("tcpviz-data").textContent);
const el = document.getElementById("tcpviz");
data.svg = el.innerHTML; // the diagram is inlined once, so the page shows it even without JS
const model = localModel(data);
render({ model, el });
keepProgress(model, {
  key: data.page_key,
  link: document.getElementById("tcpviz-share"),
  note: document.getElementById("tcpviz-note"),
});
"""

_XML_PROLOG = re.compile(r"\A\s*(<\?xml[^>]*\?>\s*)?(<!DOCTYPE[^>]*>\s*)?(<!--.*?-->\s*)*", re.S)
# Inline SVG in HTML is in the SVG namespace without saying so; dropping the declarations
# leaves the page without a single http:// string, so "loads nothing" is easy to check.
_NAMESPACES = re.compile(r'\s+xmlns(:xlink)?="http://www\.w3\.org/(2000/svg|1999/xlink)"')


def json_for_script(data: object) -> str:
    """``data`` as JSON that is safe inside an HTML ``<script>`` element.

    ``<``, ``>`` and ``&`` become ``\\u003c``, ``\\u003e`` and ``\\u0026`` (the same string
    to a JSON parser), so no label can close the script (``</script>``) or open a comment.

    >>> json_for_script({"label": "</script>"})
    '{"label": "\\\\u003c/script\\\\u003e"}'
    """
    text = json.dumps(data, ensure_ascii=True, allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _inline_script(text: str) -> str:
    """Our own module's text, checked to be safe to inline in a ``<script>`` element."""
    lower = text.lower()
    if "</script" in lower or "<!--" in lower:  # would end the element or confuse the parser
        raise HtmlError("widget.js contains '</script' or '<!--' and cannot be inlined")
    return text


def standalone_html(
    table: Table | None = None,
    *,
    extended: bool = False,
    theme: str = "auto",
    title: str | None = None,
) -> str:
    """One self-contained HTML page with the interactive diagram of ``table``.

    ``table`` defaults to the built-in TCP table (``extended`` adds section 3.10's arrows);
    ``theme`` is one of :data:`tcpviz.drawing.diagram.THEMES` (``"auto"`` follows the reader's
    light or dark system setting).
    """
    from .._version import __version__

    check_theme(theme, HtmlError)
    table = tcp_table(extended) if table is None else table
    title = DEFAULT_TITLE if title is None else str(title)
    # Themed and at its start already, so the page reads right before (or without) JavaScript.
    svg = highlight(layout_svg(table), table, state=table.initial, theme=theme)
    svg = _NAMESPACES.sub("", _XML_PROLOG.sub("", svg, count=1), count=2)
    table_data = table_payload(table)
    # Where this page keeps a student's progress (localStorage): one key per table and title,
    # so two pages never read each other's steps.
    digest = hashlib.sha256(json.dumps([table_data, title], sort_keys=True).encode()).hexdigest()
    data = {
        "page_key": f"tcpviz:v1:{digest[:16]}",
        "table": table_data,
        "moves": moves_payload(table),
        "scenarios": scenarios_payload(table),
        "quizzes": quizzes_payload(table),
        "theme": theme,
    }
    script = _inline_script((_STATIC / "widget.js").read_text(encoding="utf-8"))
    css = (_STATIC / "widget.css").read_text(encoding="utf-8")
    name = _html.escape(table.name or "custom table")
    main = f"""<div id="tcpviz">{svg}</div>
<p class="tcpviz-share"><a id="tcpviz-share" data-testid="share-link">Link to this position</a>
(copy it to hand in or share what you did; this browser also remembers it for the next visit)
<span id="tcpviz-note" class="tcpviz-note" data-testid="page-note" role="status" hidden></span></p>
<p class="tcpviz-page-footer">{name}. Made with tcpviz {__version__}; works offline.</p>"""
    return _document(title, css, theme, _INTRO, main, data, script + "\n" + _BOOT)


def _document(
    title: str, css: str, theme: str, intro: str, main: str, data: object, script: str
) -> str:
    """One standalone page: the head and style sheets, the title and introduction, ``main``
    (the page's own part), the data the page looks up, and its module (the script and its boot).
    The single-machine page and the connection page share it."""
    from .._version import __version__

    page_class = "" if theme == "auto" else f' class="tcpviz-page-{theme}"'
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="tcpviz {__version__}">
<title>{_html.escape(title)}</title>
<style>{_PAGE_CSS}</style>
<style>
{css}
</style>
</head>
<body{page_class}>
<main>
<h1>{_html.escape(title)}</h1>
<p class="tcpviz-intro">{_html.escape(intro)}</p>
{main}
</main>
<script type="application/json" id="tcpviz-data">{json_for_script(data)}</script>
<script type="module">
{script}
</script>
</body>
</html>
"""


def save_html(
    path: str | os.PathLike[str],
    *,
    table: Table | None = None,
    extended: bool = False,
    theme: str = "auto",
    title: str | None = None,
) -> Path:
    """Write :func:`standalone_html` to ``path`` atomically (all of it or nothing); returns it."""
    page = standalone_html(table, extended=extended, theme=theme, title=title)
    return write_atomic(path, page)
