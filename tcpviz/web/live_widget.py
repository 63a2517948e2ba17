"""The live sockets widget: this machine's TCP sockets as a heat map on the state diagram.

Every ``interval`` seconds the widget reads the sockets (:class:`~tcpviz.traffic.LiveView`,
filtered by port or process), puts the count of each state on the diagram as a heat map and
lists the states with the table's descriptions and the sockets with their timers. Python
decides everything (:func:`~tcpviz.drawing.heat_marks`: each state's shade, label and badge
box); the page applies what it is sent. The diagram travels once; a refresh sends those marks,
a few kilobytes, and only when something changed.

Refreshing is bounded: it stops after ``limit`` refreshes, when the widget is closed, or with
its Stop button. It runs on the notebook kernel's event loop (the reading itself in a worker
thread), so cells keep running meanwhile; without a running event loop (a plain script) call
:meth:`LiveSocketsWidget.refresh` yourself.

>>> w = LiveSocketsWidget(port=1, start=False)   # a port nothing uses
>>> w.refresh().counts["LISTEN"], w.running
(0, False)
>>> w.close()
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..drawing import BADGE_COLOURS, THEMES, Diagram, heat_level, heat_map, heat_marks
from ..errors import InvalidFilter, MissingDependency, TcpvizError

try:
    import anywidget
    import ipywidgets  # noqa: F401  # anywidget's own dependency; named so the message is true
    import traitlets
except ModuleNotFoundError as missing:  # `pip install tcpviz` without the widget extra
    raise MissingDependency(
        "LiveSocketsWidget", ["anywidget", "ipywidgets"], "widget", missing.name
    ) from None
from ..files import write_atomic
from ..model import DESCRIPTIONS, STATES
from ..traffic import LiveView, Snapshot
from ..traffic.live import filter_text

__all__ = ["LIMIT", "MAX_ROWS", "LiveSocketsWidget", "SocketsDiagram", "live_svg"]

_log = logging.getLogger(__name__)
_STATIC = Path(__file__).parent / "static"

#: How many refreshes a widget makes at most before it stops on its own (10 minutes at 1 s).
LIMIT = 600
#: How many sockets the page lists (the counts always include every socket).
MAX_ROWS = 200
_INTERVALS = (0.5, 60.0)


def live_svg(snapshot: Snapshot, theme: str = "light") -> str:
    """The state diagram with the snapshot's count per state as a heat map.

    >>> from tcpviz.traffic import Snapshot
    >>> svg = live_svg(Snapshot((), "proc", 0.0, 0.0))
    >>> 'class="tcpviz-count"' in svg      # no sockets, no badges
    False
    """
    return heat_map(Diagram(theme=theme).svg(), None, snapshot.counts)


class SocketsDiagram:
    """A still picture of one snapshot: the diagram with its counts, shown as SVG in Jupyter
    (and in exported notebooks, where no widget runs).

    >>> from tcpviz.traffic import Snapshot
    >>> SocketsDiagram(Snapshot((), "proc", 0.0, 0.0))
    <SocketsDiagram of 0 sockets>
    """

    def __init__(self, snapshot: Snapshot, theme: str = "light") -> None:
        self.snapshot = snapshot
        self.theme = theme

    def svg(self) -> str:
        """The diagram with the counts (see :func:`live_svg`)."""
        return live_svg(self.snapshot, self.theme)

    def save(self, path: str | Path) -> Path:
        """Write the SVG to ``path`` atomically."""
        return write_atomic(Path(path), self.svg().encode("utf-8"))

    def _repr_svg_(self) -> str:
        return self.svg()

    def __repr__(self) -> str:
        return f"<SocketsDiagram of {len(self.snapshot.sockets)} sockets>"


def _rows(snapshot: Snapshot) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """What the page lists: each state (count, heat, description), then the sockets."""
    counts = snapshot.counts
    top = max(counts.values(), default=0)
    states = [
        {
            "state": s,
            "count": counts[s],
            "level": heat_level(counts[s], top),
            "description": DESCRIPTIONS[s],
        }
        for s in STATES
    ]
    sockets = []
    for group in snapshot.by_state().values():
        for s in group:
            sockets.append(
                {
                    "state": s.state,
                    "local": s.local,
                    "remote": s.remote,
                    "timer": "" if s.expires is None else f"{s.timer} {s.expires:.1f} s",
                    "process": s.owner,
                }
            )
    return states, sockets


class LiveSocketsWidget(anywidget.AnyWidget):
    """This machine's TCP sockets, counted by state on the diagram, refreshed at an interval.

    Parameters
    ----------
    port : int or iterable of int, optional
        Only sockets with one of these ports at either end.
    process : int or str, optional
        Only sockets of this process (a pid, or part of its name).
    interval : float
        Seconds between refreshes, from 0.5 to 60.
    limit : int
        Refreshes before the widget stops on its own (:meth:`start` begins again).
    theme : str
        One of :data:`tcpviz.drawing.THEMES`.
    source : str
        Where to read the sockets (see :func:`tcpviz.traffic.read_sockets`).
    start : bool
        Start refreshing now (when the kernel's event loop runs).
    """

    _esm = _STATIC / "live_widget.js"
    _css = _STATIC / "live_widget.css"

    # Sent once: the laid-out diagram, and the badges' colours.
    svg = traitlets.Unicode("").tag(sync=True)
    badge_colours = traitlets.Dict(BADGE_COLOURS).tag(sync=True)
    # Sent at each refresh that changes something: per state id, its count, shade, label and
    # badge (heat_marks), a few hundred bytes a state, never the SVG again.
    heat = traitlets.Dict().tag(sync=True)
    states = traitlets.List(traitlets.Dict()).tag(sync=True)
    sockets = traitlets.List(traitlets.Dict()).tag(sync=True)
    hidden = traitlets.Int(0).tag(sync=True)  # sockets beyond MAX_ROWS, not listed
    changes = traitlets.List(traitlets.Unicode()).tag(sync=True)  # since the last refresh
    heading = traitlets.Unicode("").tag(sync=True)
    status = traitlets.Unicode("").tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)
    running = traitlets.Bool(False).tag(sync=True)
    theme = traitlets.Unicode("auto").tag(sync=True)

    # Set before the first reading; here too so that a widget whose __init__ failed (bad
    # settings) can still be closed by ipywidgets' __del__.
    _task: asyncio.Task[None] | None = None
    snapshot: Snapshot | None = None

    def __init__(
        self,
        port: int | Iterable[int] | None = None,
        process: int | str | None = None,
        *,
        interval: float = 1.0,
        limit: int = LIMIT,
        theme: str = "auto",
        source: str = "auto",
        start: bool = True,
    ) -> None:
        if theme not in THEMES:
            raise InvalidFilter(f"unknown theme: {theme!r} (must be one of {sorted(THEMES)})")
        if not (_INTERVALS[0] <= interval <= _INTERVALS[1]) or math.isnan(interval):
            raise InvalidFilter(
                f"the interval must be from {_INTERVALS[0]} to {_INTERVALS[1]} seconds, "
                f"not {interval!r}"
            )
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise InvalidFilter(
                f"the limit must be a whole number of refreshes from 1, not {limit!r}"
            )
        self.view = LiveView(port=port, process=process, source=source)
        super().__init__(theme=theme)
        self.interval = float(interval)
        self.limit = limit
        self.refreshes = 0  # since the last start()
        self.svg = Diagram(theme=theme).svg()
        filters = filter_text(self.view.filters)
        self.heading = "TCP sockets of this machine" + (f" ({filters})" if filters else "")
        self.on_msg(self._on_message)
        self.refresh()
        if start:
            self.start()

    @traitlets.observe("theme")
    def _new_theme(self, change: dict[str, Any]) -> None:
        if change["new"] not in THEMES:
            raise InvalidFilter(
                f"unknown theme: {change['new']!r} (must be one of {sorted(THEMES)})"
            )
        self.svg = Diagram(theme=change["new"]).svg()

    # -- reading ---------------------------------------------------------------------------

    def refresh(self) -> Snapshot | None:
        """Read the sockets now and show them; the snapshot, or ``None`` if reading failed
        (the widget shows why)."""
        try:
            snapshot = self.view.snapshot()
        except TcpvizError as error:
            self._failed(error)
            return None
        self._show(snapshot)
        return snapshot

    def _show(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        counts = snapshot.counts
        states, sockets = _rows(snapshot)
        with self.hold_sync():
            self.heat = heat_marks(self.svg, None, counts)
            self.states = states
            self.sockets = sockets[:MAX_ROWS]
            self.changes = [str(c) for c in snapshot.changes[:MAX_ROWS]]
            self.hidden = max(0, len(sockets) - MAX_ROWS)
            self.error = ""
            self.status = self._status()

    def _failed(self, error: Exception) -> None:
        self.error = f"cannot read the sockets: {error}"
        self.stop()

    def _status(self) -> str:
        snapshot = self.snapshot
        read = ""
        if snapshot is not None:
            read = (
                f"{len(snapshot.sockets)} sockets, read from {snapshot.source} in "
                f"{snapshot.elapsed * 1000:.0f} ms"
            )
        if self.running:
            return f"{read}; refresh {self.refreshes} of {self.limit}, every {self.interval:g} s"
        return f"{read}; not refreshing"

    # -- refreshing --------------------------------------------------------------------------

    def start(self) -> bool:
        """Refresh every ``interval`` seconds, ``limit`` times; whether it could start (it needs
        a running event loop, as in a notebook)."""
        if self._task is not None and not self._task.done():
            return True
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is None:
            with contextlib.suppress(RuntimeError):
                candidate = asyncio.get_event_loop_policy().get_event_loop()
                loop = candidate if candidate.is_running() else None
        if loop is None:
            self.status = self._status() + " (no event loop here: call refresh())"
            return False
        self.refreshes = 0
        self.running = True
        self.status = self._status()
        self._task = loop.create_task(self._run())
        return True

    def stop(self) -> None:
        """Stop refreshing (the last reading stays shown)."""
        self.running = False
        if self._task is not None and not self._task.done():
            self._task.cancel()
        self._task = None
        self.status = self._status()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self.running and self.refreshes < self.limit:
                await asyncio.sleep(self.interval)
                # The reading (a few ms, more with many processes) runs off the kernel's loop.
                try:
                    snapshot = await loop.run_in_executor(None, self.view.snapshot)
                except TcpvizError as error:
                    self._failed(error)
                    return
                self.refreshes += 1
                self._show(snapshot)
        except asyncio.CancelledError:
            pass
        except Exception:  # a widget must not die silently in a background task
            _log.exception("the live sockets widget stopped")
            self.error = "stopped by an unexpected error (see the log)"
        finally:
            self.running = False
            if self.comm is not None:
                self.status = self._status() + (
                    f" (stopped after {self.refreshes} refreshes)"
                    if self.refreshes >= self.limit
                    else ""
                )

    def _on_message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        action = content.get("action") if isinstance(content, dict) else None
        if action == "stop":
            self.stop()
        elif action == "start":
            self.start()
        elif action == "refresh":
            self.refresh()

    def close(self) -> None:
        """Stop refreshing and close the widget."""
        self.stop()
        super().close()

    def diagram(self) -> SocketsDiagram:
        """The last reading as a still picture (for slides, or a notebook exported to HTML)."""
        if self.snapshot is None:
            raise InvalidFilter("nothing was read yet: see the widget's error")
        return SocketsDiagram(self.snapshot, "light" if self.theme == "auto" else self.theme)

    def __repr__(self) -> str:
        return f"<LiveSocketsWidget {self.heading!r}, {'running' if self.running else 'stopped'}>"
