"""The exceptions tcpviz raises: one base class, one subclass per kind of mistake."""

from __future__ import annotations

__all__ = [
    "CaptureError",
    "CorruptCapture",
    "GraphvizNotFound",
    "HtmlError",
    "InvalidFilter",
    "InvalidOperation",
    "InvalidSegment",
    "InvalidTransition",
    "MissingDependency",
    "NoPath",
    "NoTcpInCapture",
    "NotACapture",
    "NothingToUndo",
    "QuizError",
    "QuizFinished",
    "RenderError",
    "ScenarioError",
    "SimError",
    "SocketsUnavailable",
    "TableError",
    "TcpvizError",
    "TruncatedCapture",
    "UnknownEvent",
    "UnknownScenario",
    "UnknownState",
    "UnsupportedLinkType",
    "UsageError",
    "WidgetError",
]


class TcpvizError(Exception):
    """Base class of every error tcpviz raises on purpose."""


class UnknownState(TcpvizError, ValueError):
    """A state name that is neither a state of the table nor one of its aliases."""


class InvalidTransition(TcpvizError, ValueError):
    """An event that cannot happen in the current state.

    The message names the state and lists the events that are enabled there.
    The machine is left exactly as it was.
    """


class UnknownEvent(InvalidTransition):
    """An event name that the table does not know at all (a typo, usually)."""


class NothingToUndo(TcpvizError, IndexError):
    """Undo with an empty history, redo with nothing undone, or a jump out of range."""


class NoPath(TcpvizError, LookupError):
    """No sequence of events leads from one state to another.

    The instances :func:`tcpviz.shortest_events` raises are also networkx's ``NetworkXNoPath``.
    """


class TableError(TcpvizError, ValueError):
    """A transition table (built in code or loaded from a file) that is not valid.

    ``source`` names the file (or ``None``) and ``line`` the line or row at fault,
    when known. Nothing is loaded when this is raised.
    """

    def __init__(self, message: str, *, source: str | None = None, line: int | None = None):
        self.source = source
        self.line = line
        where = ""
        if source is not None:
            where = f"{source}:{line}: " if line is not None else f"{source}: "
        elif line is not None:
            where = f"line {line}: "
        super().__init__(where + message)


class RenderError(TcpvizError, ValueError):
    """A bad theme, format or transition for a diagram, or a Graphviz run that failed."""


class GraphvizNotFound(TcpvizError, RuntimeError):
    """Graphviz's ``dot`` program is needed (a custom table, PNG or PDF) but not installed."""


class CaptureError(TcpvizError, ValueError):
    """A packet capture that cannot be read, or not all of it.

    The message starts with the file's name and says what is wrong. Raised while reading, it
    comes after every packet before the problem; a replay keeps what it read and lists the
    problem with it (``Replay.problems``).
    """


class NotACapture(CaptureError):
    """A file that is neither pcap nor pcapng (nothing of it can be read)."""


class TruncatedCapture(CaptureError):
    """A capture that ends in the middle of a packet or block (a capture still being written,
    or a copy cut short)."""


class CorruptCapture(CaptureError):
    """A capture whose record or block lengths make no sense from some point on."""


class UnsupportedLinkType(CaptureError):
    """Packets of a link layer replay does not decode (the supported ones are listed)."""


class NoTcpInCapture(CaptureError):
    """A readable capture without a single TCP segment."""


class UnknownScenario(TcpvizError, ValueError):
    """A scenario name that is not one of :data:`tcpviz.teach.scenarios.SCENARIOS`."""


class ScenarioError(TcpvizError, ValueError):
    """A scenario that cannot be played as asked: not on this table, not chosen, or finished."""


class QuizError(TcpvizError, ValueError):
    """A quiz that cannot be set up as asked (a bad length, a scenario the table lacks)."""


class QuizFinished(TcpvizError, RuntimeError):
    """An answer given after the last question."""


class HtmlError(TcpvizError, ValueError):
    """A page that cannot be written as asked (an unknown theme)."""


class WidgetError(TcpvizError, ValueError):
    """A value the widget cannot take (an unknown theme, mode or scenario, a bad message)."""


class InvalidFilter(TcpvizError, ValueError):
    """A bad filter or setting for the live socket view: a port out of range, an empty process
    name, an unknown socket source, an interval that is not a positive number."""


class SocketsUnavailable(TcpvizError, OSError):
    """This machine's TCP sockets cannot be read: no sock_diag, no /proc/net/tcp, no psutil."""


class UsageError(TcpvizError, ValueError):
    """Command-line options that make no sense together, or a value a command cannot use."""


class SimError(TcpvizError, ValueError):
    """Base class of the connection simulator's errors (:mod:`tcpviz.sim`).

    Whatever raised it, the endpoint or connection is left exactly as it was.
    """


class InvalidOperation(SimError):
    """A user call, a delivery, a timer advance or a profile that is not possible now.

    The message names what was asked and lists what is possible instead.
    """


class InvalidSegment(SimError):
    """A segment that cannot exist: an unknown flag, a sequence number outside 32 bits, ..."""


class MissingDependency(TcpvizError, ImportError):
    """An optional package that a feature needs is not installed.

    The message is one line: what needs it and the command that installs the extra bringing it,
    for example ``TCPWidget needs anywidget and ipywidgets (anywidget is not installed): pip
    install 'tcpviz[widget]'``. ``extra`` is that extra's name and ``name`` (as for any
    ``ImportError``) the module that was missing.

    >>> print(MissingDependency("TCPWidget", ["anywidget", "ipywidgets"], "widget", "anywidget"))
    TCPWidget needs anywidget and ipywidgets (anywidget is not installed): pip install 'tcpviz[widget]'
    """

    def __init__(self, feature: str, packages: list[str], extra: str, missing: str | None):
        self.feature = feature
        self.packages: list[str] = list(packages)
        self.extra = extra
        needs = " and ".join(packages) if len(packages) <= 2 else ", ".join(packages)
        which = f" ({missing} is not installed)" if missing else ""
        super().__init__(
            f"{feature} needs {needs}{which}: pip install 'tcpviz[{extra}]'", name=missing
        )
