"""A TCP segment as the connection state machine sees it, and 32-bit sequence arithmetic.

A :class:`Segment` keeps what RFC 9293 section 3.10 reads from a header: the control bits, the
sequence and acknowledgement numbers, and how many octets of data it carries (not the octets
themselves). It is immutable, hashable and printed in one notation, the table's: ``SYN,ACK``,
never ``SYN+ACK``.

Sequence numbers live on a circle of 2**32 (RFC 9293 3.4): ``seq_lt(a, b)`` asks whether ``a``
comes before ``b`` on it, within half the circle, as every TCP implementation compares them.

>>> s = Segment("server", "client", seq=300, ack=101, flags="SYN,ACK")
>>> s.label
'SYN,ACK seq=300 ack=101'
>>> s.length  # SEG.LEN: the SYN occupies one sequence number
1
>>> seq_lt(2**32 - 1, 5)  # 5 comes after the wrap-around
True
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..errors import InvalidSegment

__all__ = [
    "FLAGS",
    "SEQ_MOD",
    "Segment",
    "flags_label",
    "seq_add",
    "seq_diff",
    "seq_ge",
    "seq_gt",
    "seq_le",
    "seq_lt",
]

#: Sequence numbers wrap around modulo 2**32 (RFC 9293 3.4).
SEQ_MOD = 2**32
_HALF = 2**31

#: The control bits the simulator knows, in the order a label prints them (``SYN,ACK``,
#: ``FIN,ACK``, ``RST,ACK``, ``PSH,ACK``: the significant bit first, as the table writes it).
FLAGS: tuple[str, ...] = ("SYN", "FIN", "RST", "PSH", "ACK")


def seq_add(a: int, n: int) -> int:
    """``a + n`` on the sequence circle."""
    return (a + n) % SEQ_MOD


def seq_diff(a: int, b: int) -> int:
    """How far ``a`` is after ``b`` (negative when before), in ``[-2**31, 2**31)``."""
    return (a - b + _HALF) % SEQ_MOD - _HALF


def seq_lt(a: int, b: int) -> bool:
    """Whether ``a`` comes before ``b`` (RFC 9293 3.4's ``<``, modulo 2**32)."""
    return seq_diff(a, b) < 0


def seq_le(a: int, b: int) -> bool:
    """Whether ``a`` comes before ``b`` or is ``b``."""
    return seq_diff(a, b) <= 0


def seq_gt(a: int, b: int) -> bool:
    """Whether ``a`` comes after ``b``."""
    return seq_diff(a, b) > 0


def seq_ge(a: int, b: int) -> bool:
    """Whether ``a`` comes after ``b`` or is ``b``."""
    return seq_diff(a, b) >= 0


_PARSED: dict[str, frozenset[str]] = {}  # the few spellings a program uses, parsed once
_FLAG_SET = frozenset(FLAGS)


def _parse_flags(flags: str | Iterable[str]) -> frozenset[str]:
    if isinstance(flags, str):
        known = _PARSED.get(flags)
        if known is not None:
            return known
    elif isinstance(flags, frozenset) and flags <= _FLAG_SET:
        return flags
    chosen = _read_flags(flags)
    if isinstance(flags, str) and len(_PARSED) < 512:
        _PARSED[flags] = chosen
    return chosen


def _read_flags(flags: str | Iterable[str]) -> frozenset[str]:
    words = re.split(r"[\s,+|/]+", flags.strip()) if isinstance(flags, str) else list(flags)
    chosen = set()
    for word in words:
        if not isinstance(word, str):
            raise InvalidSegment(f"a flag must be a name, not {word!r} (flags: {list(FLAGS)})")
        if not word:
            continue
        name = word.upper()
        if name not in FLAGS:
            raise InvalidSegment(f"unknown flag {word!r} (must be one of {list(FLAGS)})")
        chosen.add(name)
    return frozenset(chosen)


_LABELS: dict[frozenset[str], str] = {}  # every set of known flags, named once


def flags_label(flags: Iterable[str]) -> str:
    """Flags in the table's notation: ``{'ACK', 'SYN'}`` -> ``'SYN,ACK'`` (``''`` for none)."""
    if isinstance(flags, frozenset):
        known = _LABELS.get(flags)
        if known is None:
            known = ",".join(f for f in FLAGS if f in flags)
            if flags <= _FLAG_SET:
                _LABELS[flags] = known
        return known
    present = set(flags)
    return ",".join(f for f in FLAGS if f in present)


def _check_number(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < SEQ_MOD:
        raise InvalidSegment(f"{name} must be an integer from 0 to 2**32 - 1, not {value!r}")
    return value


@dataclass(frozen=True, init=False)
class Segment:
    """One TCP segment: who sent it to whom, its numbers, its control bits, its data length.

    Parameters
    ----------
    src, dst
        The ends (``'client'``, ``'server'``, or an address and port from a capture).
    seq
        SEG.SEQ, the sequence number of its first octet (of the SYN, if it carries one).
    ack
        SEG.ACK, meaningful only when the ACK bit is set (0 otherwise, by convention).
    flags
        The control bits, as a set of names or a string such as ``"SYN,ACK"``.
    payload
        The number of data octets (their content does not matter to the state machine).
    window
        SEG.WND if known (the simulator's windows stay fixed; a capture fills it in).
    note
        Free text for a reader: ``"old duplicate"``, ``"challenge ACK"``...

    Raises
    ------
    InvalidSegment
        For an unknown flag, a number outside 32 bits or a negative payload.
    """

    src: str
    dst: str
    seq: int
    ack: int
    flags: frozenset[str]
    payload: int
    window: int | None
    note: str = field(compare=False)

    def __init__(
        self,
        src: str,
        dst: str,
        seq: int,
        ack: int = 0,
        flags: str | Iterable[str] = frozenset(),
        payload: int = 0,
        window: int | None = None,
        note: str = "",
    ) -> None:
        _check_number("seq", seq)
        _check_number("ack", ack)
        if isinstance(payload, bool) or not isinstance(payload, int) or payload < 0:
            raise InvalidSegment(f"payload must be a number of octets >= 0, not {payload!r}")
        if window is not None:
            _check_number("window", window)
        # A frozen dataclass: the fields are set once, here, after every check passed.
        for name, value in (
            ("src", str(src)),
            ("dst", str(dst)),
            ("seq", seq),
            ("ack", ack),
            ("flags", _parse_flags(flags)),
            ("payload", payload),
            ("window", window),
            ("note", str(note)),
        ):
            object.__setattr__(self, name, value)

    @classmethod
    def _trusted(
        cls,
        src: str,
        dst: str,
        seq: int,
        ack: int,
        flags: frozenset[str],
        payload: int,
        window: int | None,
        note: str = "",
    ) -> Segment:
        """A segment from fields already known to be valid (a decoded header): no checks.

        For capture replay's hot path; ``flags`` must be a frozenset of names of :data:`FLAGS`.
        """
        segment = object.__new__(cls)
        segment.__dict__.update(
            src=src,
            dst=dst,
            seq=seq,
            ack=ack,
            flags=flags,
            payload=payload,
            window=window,
            note=note,
        )
        return segment

    # -- what it carries ------------------------------------------------------------------------

    def has(self, flag: str) -> bool:
        """Whether the control bit ``flag`` (``'SYN'``, ``'ack'``...) is set."""
        return flag in self.flags or flag.upper() in self.flags

    @property
    def length(self) -> int:
        """SEG.LEN: the sequence numbers it occupies, data plus one each for SYN and FIN."""
        return self.payload + ("SYN" in self.flags) + ("FIN" in self.flags)

    @property
    def end(self) -> int:
        """The sequence number just after it: ``seq + length`` (modulo 2**32)."""
        return seq_add(self.seq, self.length)

    @property
    def flag_text(self) -> str:
        """Its flags in the table's notation, e.g. ``'FIN,ACK'``."""
        return flags_label(self.flags)

    @property
    def label(self) -> str:
        """One line for a ladder or a log: ``'PSH,ACK seq=101 ack=301 len=5'``.

        The ACK number is shown only when the ACK bit is set; ``len`` only for data.
        """
        parts = [self.flag_text or "(no flags)", f"seq={self.seq}"]
        if "ACK" in self.flags:
            parts.append(f"ack={self.ack}")
        if self.payload:
            parts.append(f"len={self.payload}")
        return " ".join(parts)

    def __str__(self) -> str:
        return f"{self.src} -> {self.dst}: {self.label}"

    def as_dict(self) -> dict[str, object]:
        """JSON-ready: the fields, the flags in the table's notation, SEG.LEN and the label."""
        return {
            "src": self.src,
            "dst": self.dst,
            "seq": self.seq,
            "ack": self.ack,
            "flags": self.flag_text,
            "payload": self.payload,
            "length": self.length,
            "window": self.window,
            "note": self.note,
            "label": self.label,
        }

    @classmethod
    def parse(cls, label: str, src: str, dst: str, *, note: str = "") -> Segment:
        """The segment a :attr:`label` describes: ``Segment.parse("SYN seq=90", "client", "server")``.

        Raises
        ------
        InvalidSegment
            When the text is not ``FLAGS seq=N [ack=N] [len=N]``.
        """
        text = str(label).strip()
        if text.startswith("(no flags)"):
            text = "- " + text[len("(no flags)") :]
        words = text.split()
        if not words:
            raise InvalidSegment("an empty segment label (expected e.g. 'SYN,ACK seq=300 ack=101')")
        flags = "" if words[0] == "-" else words[0]
        values: dict[str, int] = {}
        for word in words[1:]:
            key, sep, number = word.partition("=")
            if not sep or key not in ("seq", "ack", "len") or not number.isdigit():
                raise InvalidSegment(
                    f"cannot read {word!r} in segment {label!r} "
                    "(expected FLAGS seq=N [ack=N] [len=N], e.g. 'SYN,ACK seq=300 ack=101')"
                )
            values[key] = int(number)
        if "seq" not in values:
            raise InvalidSegment(f"segment {label!r} has no seq=N")
        return cls(
            src,
            dst,
            values["seq"],
            values.get("ack", 0),
            _parse_flags(flags),
            values.get("len", 0),
            note=note,
        )
