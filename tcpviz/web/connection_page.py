"""A standalone page of one recorded connection: both ends, the ladder, step forward and back.

For slides and homework: one HTML file with everything inlined (the state diagram, the ladder,
every position of the story as Python computed it, ``connection.js`` and its CSS), no Python
and nothing loaded from the network. The page runs the same ``connection.js`` as the notebook
widget, with a small local model that serves the recorded positions: back, forward, a click on
the ladder and the history list move through them; nothing is computed on the page.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..files import write_atomic
from .html import _NAMESPACES, _XML_PROLOG, HtmlError, _document, _inline_script

__all__ = ["connection_html", "save_connection_html"]

_STATIC = Path(__file__).parent / "static"

# The local model: what the widget's Python would do with "undo", "redo" and "goto:N" on a
# recorded story is to show recorded position N; the page does just that.
_BOOT = """
const data = JSON.parse(document.getElementById("tcpviz-data").textContent);
const el = document.getElementById("tcpviz-connection");
let at = data.start;
const listeners = {};
const last = data.positions.length - 1;
const clamp = (n) => Math.max(0, Math.min(last, n));
const moment = (row) => {
  const found = data.positions.findIndex((p) => (p.ladder_step ?? p.index) >= row);
  return found < 0 ? last : found;
};
const position = () => ({ ...data.positions[at], version: at });
const lookahead = () => {
  const next = {};
  if (at > 0) next.undo = data.positions[at - 1];
  if (at < last) next.redo = data.positions[at + 1];
  return { version: at, next };
};
const fire = (name) => (listeners[name] || []).forEach((f) => f());
const model = {
  get: (name) =>
    name === "position" ? position() : name === "lookahead" ? lookahead() : data[name],
  on: (name, f) => (listeners[name] = listeners[name] || []).push(f),
  off: (name, f) => (listeners[name] = (listeners[name] || []).filter((g) => g !== f)),
  send: ({ action }) => {
    if (action === "undo") at = clamp(at - 1);
    else if (action === "redo") at = clamp(at + 1);
    else if (action.startsWith("goto:")) at = clamp(Number(action.slice(5)));
    // A click on the ladder: the first recorded moment at or after that row.
    else if (action.startsWith("ladder:")) at = moment(Number(action.slice(7)));
    else return;
    setTimeout(() => fire("change:position"), 0);
  },
};
render({ model, el });
document.addEventListener("keydown", (e) => {
  if (e.target.closest && e.target.closest("select")) return;
  if (e.key === "ArrowLeft") model.send({ action: "undo" });
  else if (e.key === "ArrowRight") model.send({ action: "redo" });
  else return;
  e.preventDefault();
});
"""

_INTRO = (
    "A recorded connection, step by step. \u2190 and \u2192 (or the undo and redo buttons) "
    "step back and forward; click a segment on the ladder, or pick a step in the list, to go "
    "to that moment. Both state diagrams, the ladder and the segments in flight always show "
    "the same moment."
)

#: A replayed capture: nothing is in flight, and some states are inferred rather than seen.
_REPLAY_INTRO = (
    "A connection replayed from a packet capture, one captured segment at a time. \u2190 and "
    "\u2192 (or the back and forward buttons) move through the recording; click a segment on "
    "the ladder, or pick one in the list, to go to the moment it was sent and received. Both "
    "state diagrams, the ladder and the segment shown always show the same moment. A state "
    "drawn dashed is inferred: no segment that end sent shows it."
)


def _intro(recording: dict[str, Any]) -> str:
    """What the page says it is: a simulated story, or a replayed capture."""
    return _REPLAY_INTRO if recording["positions"][0].get("replay") else _INTRO


def connection_html(recording: dict[str, Any], *, title: str | None = None) -> str:
    """One self-contained HTML page playing ``recording`` (from
    :meth:`~tcpviz.web.connection_widget.ConnectionWidget.recording` or
    :func:`~tcpviz.web.connection_widget.record_scenario`)."""
    from .._version import __version__

    for key in ("diagram", "ladder", "positions", "theme"):
        if key not in recording:
            raise HtmlError(f"a connection recording needs {key!r} (has {sorted(recording)})")
    if not recording["positions"]:
        raise HtmlError("a connection recording needs at least one position")
    title = str(title or recording.get("title") or "A TCP connection, both ends")
    data = dict(recording)
    data["diagram"] = _NAMESPACES.sub("", _XML_PROLOG.sub("", data["diagram"], count=1), count=2)
    data["ladder"] = _NAMESPACES.sub("", data["ladder"], count=1)
    data.setdefault("scenarios", [])
    data.setdefault("start", 0)
    script = _inline_script((_STATIC / "connection.js").read_text(encoding="utf-8"))
    css = (_STATIC / "connection.css").read_text(encoding="utf-8")
    theme = recording["theme"]
    main = f"""<div id="tcpviz-connection"></div>
<p class="tcpviz-page-footer">Made with tcpviz {__version__}; works offline.</p>"""
    return _document(title, css, theme, _intro(recording), main, data, script + "\n" + _BOOT)


def save_connection_html(
    path: str | os.PathLike[str], recording: dict[str, Any], *, title: str | None = None
) -> Path:
    """Write :func:`connection_html` to ``path`` atomically; returns the path."""
    return write_atomic(path, connection_html(recording, title=title))
