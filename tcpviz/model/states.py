"""The eleven TCP connection states: display names, descriptions, and the names other tools print.

Display names are the hyphenated ones of RFC 9293 (``SYN-RECEIVED``, ``FIN-WAIT-1``).
Descriptions carry, in our own words, the facts of a network monitor's manual (which end
waits for what, which step of which handshake). Aliases are the spellings printed by the
Linux kernel (``TCP_SYN_RECV``), ``ss`` (``ESTAB``, ``SYN-RECV``, ``UNCONN``), ``netstat`` and
psutil (``SYN_RECV``, ``FIN_WAIT1``, ``CLOSE``), BSD and Windows ``netstat`` (``SYN_RCVD``,
``LISTENING``) and the RFC's own figure (``SYN RCVD``, ``ESTAB``, ``FINWAIT-2``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping

from ..errors import UnknownState

__all__ = [
    "ALIASES",
    "DESCRIPTIONS",
    "PROC_NET_TCP_CODES",
    "STATES",
    "alias_clash",
    "alias_index",
    "canonical_state",
    "state_key",
]

CLOSED = "CLOSED"
LISTEN = "LISTEN"
SYN_SENT = "SYN-SENT"
SYN_RECEIVED = "SYN-RECEIVED"
ESTABLISHED = "ESTABLISHED"
FIN_WAIT_1 = "FIN-WAIT-1"
FIN_WAIT_2 = "FIN-WAIT-2"
CLOSE_WAIT = "CLOSE-WAIT"
CLOSING = "CLOSING"
LAST_ACK = "LAST-ACK"
TIME_WAIT = "TIME-WAIT"

#: The states in the order a connection usually meets them.
STATES: tuple[str, ...] = (
    CLOSED,
    LISTEN,
    SYN_SENT,
    SYN_RECEIVED,
    ESTABLISHED,
    FIN_WAIT_1,
    FIN_WAIT_2,
    CLOSE_WAIT,
    CLOSING,
    LAST_ACK,
    TIME_WAIT,
)

DESCRIPTIONS: dict[str, str] = {
    CLOSED: (
        "No connection exists: the local end keeps no state for it (no TCB), which is why "
        "RFC 9293 calls CLOSED a fictional state."
    ),
    LISTEN: (
        "A passive open was performed: the local end waits for a connection request "
        "(a SYN) from a remote end."
    ),
    SYN_SENT: (
        "An active open was performed: the local end has sent a connection request (SYN) "
        "to the remote end. This is the first step of the three-way handshake."
    ),
    SYN_RECEIVED: (
        "The second step of the three-way handshake: the local end received a connection "
        "request and has sent back its own connection request together with an "
        "acknowledgement of the one it received (SYN,ACK)."
    ),
    ESTABLISHED: (
        "The third step of the three-way handshake was performed and the connection is now "
        "open: both ends can send and receive data."
    ),
    FIN_WAIT_1: (
        "The first step of an active close (the four-way handshake): the local end has sent "
        "a connection termination request (FIN) to the remote end."
    ),
    FIN_WAIT_2: (
        "The remote end has acknowledged the termination request (FIN) the local end sent. "
        "The local end now waits for the remote end's own termination request."
    ),
    CLOSE_WAIT: (
        "A passive close: the local end received a termination request (FIN) from the remote "
        "end and acknowledged it. To leave this state the local end must close too, "
        "an active close of its own."
    ),
    CLOSING: (
        "Both ends asked to close at about the same time: the local end waits for the "
        "acknowledgement of its own termination request (FIN) before it goes to TIME-WAIT."
    ),
    LAST_ACK: (
        "After a passive close, the local end started its own active close: it sent a "
        "termination request (FIN) to the remote end and now waits for the last "
        "acknowledgement, the one of that FIN."
    ),
    TIME_WAIT: (
        "The local end waits for twice the maximum segment lifetime (2MSL) before it goes to "
        "CLOSED, to be sure the remote end received the acknowledgement of its termination "
        "request."
    ),
}

#: Names printed by other tools, per state. Matching ignores case, separators and a
#: ``TCP_`` prefix, so ``fin_wait1``, ``FIN-WAIT1`` and ``TCP_FIN_WAIT1`` all match.
ALIASES: dict[str, tuple[str, ...]] = {
    # psutil and netstat print CLOSE, ss prints UNCONN for the kernel's TCP_CLOSE.
    CLOSED: ("CLOSE", "UNCONN"),
    LISTEN: ("LISTENING",),
    SYN_SENT: ("SYN_SENT",),
    SYN_RECEIVED: ("SYN_RECV", "SYN-RECV", "SYN_RCVD", "SYN-RCVD", "SYN RCVD", "SYN_RECEIVED"),
    ESTABLISHED: ("ESTAB",),
    FIN_WAIT_1: ("FIN_WAIT1", "FIN_WAIT_1", "FINWAIT-1"),
    FIN_WAIT_2: ("FIN_WAIT2", "FIN_WAIT_2", "FINWAIT-2"),
    CLOSE_WAIT: ("CLOSE_WAIT",),
    CLOSING: (),
    LAST_ACK: ("LAST_ACK",),
    TIME_WAIT: ("TIME_WAIT",),
}

#: The hexadecimal ``st`` column of ``/proc/net/tcp`` (the kernel's ``enum tcp_state``).
PROC_NET_TCP_CODES: dict[str, str] = {
    "01": ESTABLISHED,
    "02": SYN_SENT,
    "03": SYN_RECEIVED,
    "04": FIN_WAIT_1,
    "05": FIN_WAIT_2,
    "06": TIME_WAIT,
    "07": CLOSED,
    "08": CLOSE_WAIT,
    "09": LAST_ACK,
    "0A": LISTEN,
    "0B": CLOSING,
}

assert set(DESCRIPTIONS) == set(STATES) == set(ALIASES) == set(PROC_NET_TCP_CODES.values())


def _shown(value: object, limit: int = 60) -> str:
    """``repr(value)``, shortened: an error message stays one readable line."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 8]}...{text[-5:]}"


@functools.lru_cache(maxsize=1 << 15)  # loading a table asks for each name's key several times
def state_key(name: str) -> str:
    """Reduce a state name to the form aliases are matched in: ``'fin_wait1'`` -> ``'FINWAIT1'``.

    A name with no letters or digits at all (``'✓'``, ``'★'``) keeps its symbols, without
    spaces: each such name must still match only itself.
    """
    # Letters of any script count: a table in Russian must not see 'ожидание FIN' and
    # 'получен FIN' as one name. Only separators and punctuation are dropped.
    key = re.sub(r"[\W_]+", "", name.upper())
    if not key:
        return "".join(name.split())
    # The kernel's enum spells every state TCP_<NAME>; no state name itself starts with TCP.
    return key.removeprefix("TCP") or key


def alias_index(
    states: Iterable[str], aliases: Mapping[str, Iterable[str]] | None = None
) -> dict[str, str]:
    """Map every matching key (of each state and its aliases) to the state's display name.

    A state's own name always wins over another state's alias; :func:`alias_clash` finds the
    tables where that (or an alias shared by two states) would make input ambiguous.
    """
    states = list(states)
    index: dict[str, str] = {}
    for state in states:  # own names first, in order: the first of a clash keeps its key
        index.setdefault(state_key(state), state)
    for state in states:
        for name in (aliases or {}).get(state, ()):
            index.setdefault(state_key(name), state)
    return index


def alias_clash(
    states: Iterable[str], aliases: Mapping[str, Iterable[str]] | None = None
) -> tuple[str, str, str, bool] | None:
    """The first alias that would mean two states, or ``None``.

    Returns ``(alias, state, other, is_name)``: ``alias`` of ``state`` matches ``other``'s own
    name (``is_name``) or one of ``other``'s aliases. Different spellings of one state's own
    name among its aliases are fine.
    """
    states = list(states)
    owners: dict[str, tuple[str, bool]] = {state_key(state): (state, True) for state in states}
    for state in states:
        for alias in (aliases or {}).get(state, ()):
            key = state_key(alias)
            owner, is_name = owners.setdefault(key, (state, False))
            if owner != state:
                return alias, state, owner, is_name
    return None


_TCP_INDEX = alias_index(STATES, ALIASES)


def canonical_state(name: str, index: Mapping[str, str] | None = None) -> str:
    """Return the display name for ``name`` (any case, any tool's spelling).

    >>> canonical_state("syn_recv")
    'SYN-RECEIVED'
    """
    index = _TCP_INDEX if index is None else index
    if not isinstance(name, str):
        raise UnknownState(f"a state name must be a string, not {type(name).__name__}")
    try:
        return index[state_key(name)]
    except KeyError:
        valid = list(dict.fromkeys(index.values()))
        raise UnknownState(f"unknown state: {_shown(name)} (must be one of {valid})") from None
