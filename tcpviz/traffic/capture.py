"""Replay a packet capture: split it into TCP connections and infer both endpoints' states.

Streaming: packets are read one at a time and each connection keeps a bounded amount of detail
(its state changes, and up to ``segment_limit`` segments for listing), so memory depends on how
many connections are open at once, not on the size of the file. Connections that ended are
handed on (:func:`iter_connections`) once nothing more can belong to them.

Connections are told apart by their 4-tuple (both addresses and ports). A 4-tuple is used
again (a client reusing its port) only after both ends closed: a new SYN then starts a new
connection; while either end is still open a SYN belongs to the connection it is on (a
retransmission, a simultaneous open, or an old duplicate the endpoints answer as RFC 9293 says).
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, NamedTuple

from ..errors import CaptureError, NoTcpInCapture, UnsupportedLinkType
from .decode import (
    ACK,
    FIN,
    LINKTYPES,
    RST,
    SKIPS,
    SYN,
    Header,
    decode_ip,
    flag_names,
    format_address,
    link_decoder,
)
from .infer import EndpointStates, Inference
from .pcapfile import CaptureReader
from .summary import CONN_STATES, ZeekSummary

__all__ = [
    "CapturedSegment",
    "Connection",
    "Replay",
    "example_capture",
    "flow_hash",
    "iter_connections",
    "replay",
]

_MASK = 0xFFFFFFFF
_HALF = 0x80000000

#: After both ends closed, later segments of the same 4-tuple still belong to the connection
#: for this long (capture seconds): a retransmitted FIN or last ACK. Twice RFC 9293's MSL.
CLOSED_LINGER = 240.0
#: A connection with no segment for this long is handed on as it stands (Zeek uses 5 minutes;
#: teaching captures sit idle longer, keep-alives are sent every 2 hours by default).
IDLE_TIMEOUT = 3 * 3600.0
#: Finished connections held back so that they come out in the order they started.
REORDER_LIMIT = 10_000
#: Packets between two looks for connections that are over.
_SWEEP_EVERY = 1 << 16
#: Files larger than this get a progress bar (when tqdm is installed and asked for).
PROGRESS_BYTES = 4 << 20


class CapturedSegment(NamedTuple):
    """One TCP segment of a connection, as captured.

    ``number`` counts the connection's segments from 1 (the ``cause`` of a state change is
    one), ``frame`` is the packet's number in the file. ``sender`` is 0 or 1, the index of the endpoint that sent it in ``Connection.endpoints``.
    ``seq`` and ``ack`` are relative to that end's (and its peer's) initial sequence number,
    the way Wireshark shows them; ``raw_seq`` and ``raw_ack`` are the numbers on the wire.
    ``kind`` says what it was for the state machines: ``'new'``, or one of the kinds that
    never move a state (``'retransmission'``, ``'keep-alive'``, ``'duplicate'``).
    """

    number: int
    frame: int
    time: float
    sender: int
    flags: int
    raw_seq: int
    raw_ack: int
    seq: int
    ack: int
    length: int
    window: int
    kind: str = "new"

    @property
    def flag_text(self) -> str:
        """The flags as the RFC writes them: ``'SYN,ACK'``."""
        return flag_names(self.flags)

    def label(self) -> str:
        """``'SYN,ACK seq=0 ack=1 len=0'``: what a ladder diagram writes on the arrow."""
        text = f"{self.flag_text} seq={self.seq}"
        if self.flags & ACK:
            text += f" ack={self.ack}"
        return f"{text} len={self.length}"

    def as_dict(self) -> dict[str, object]:
        """JSON-ready fields."""
        return {
            "number": self.number,
            "frame": self.frame,
            "time": self.time,
            "sender": self.sender,
            "flags": self.flag_text,
            "seq": self.seq,
            "ack": self.ack if self.flags & ACK else None,
            "raw_seq": self.raw_seq,
            "raw_ack": self.raw_ack,
            "length": self.length,
            "window": self.window,
            "kind": self.kind,
        }


class _Direction:
    """What one end has sent so far: enough to tell new segments from repeated ones."""

    __slots__ = ("fin", "isn", "last", "nxt", "syn")

    def __init__(self) -> None:
        self.isn: int | None = None
        self.nxt: int | None = None  # the highest sequence number sent, plus one
        self.syn: tuple[int, int] | None = None
        self.fin: int | None = None
        self.last: tuple[int, int, int, int] | None = None


@dataclass(eq=False)
class Connection:
    """One TCP connection of a capture: its two ends, its segments, each end's states.

    ``endpoints[0]`` is the originator (the end that sent the first SYN, or the first segment
    seen when the capture starts later); for a self-connect both are the same socket.
    """

    number: int
    addresses: tuple[str, str]
    ports: tuple[int, int]
    first: float
    last: float = 0.0
    segments: list[CapturedSegment] = field(default_factory=list)
    #: Segments not kept in ``segments`` (beyond ``segment_limit``); they were still replayed.
    unlisted: int = 0
    #: How many segments to keep for listing (``segment_limit``, or 0 when not asked for).
    keep: int = 2000
    packets: list[int] = field(default_factory=lambda: [0, 0])
    payload: list[int] = field(default_factory=lambda: [0, 0])
    inference: Inference | None = None
    zeek: ZeekSummary = field(default_factory=ZeekSummary)

    @property
    def self_connect(self) -> bool:
        """Both ends are one socket (a client connected to its own address and port)."""
        return self.addresses[0] == self.addresses[1] and self.ports[0] == self.ports[1]

    @property
    def conn_state(self) -> str:
        """Zeek's one-word summary (``SF``, ``REJ``, ``S0``...; see :data:`CONN_STATES`)."""
        return self.zeek.conn_state

    @property
    def history(self) -> str:
        """Zeek's history letters (``ShADadFf``)."""
        return self.zeek.history

    @property
    def endpoints(self) -> tuple[EndpointStates, ...]:
        """Both ends' inferred state sequences (:class:`~tcpviz.traffic.infer.EndpointStates`)."""
        assert self.inference is not None
        return self.inference.endpoints

    @property
    def duration(self) -> float:
        return self.last - self.first

    def describe(self) -> str:
        """``'10.0.0.1:40000 -> 10.0.0.2:80'``: originator first."""
        a, b = (_endpoint_text(self.addresses[i], self.ports[i]) for i in (0, 1))
        return f"{a} -> {b}"

    def as_dict(self, *, segments: bool = False) -> dict[str, object]:
        """JSON-ready: the two endpoints (address, port, role) and each one's list of states."""
        data: dict[str, object] = {
            "number": self.number,
            "first": self.first,
            "last": self.last,
            "packets": sum(self.packets),
            "bytes": sum(self.payload),
            "conn_state": self.conn_state,
            "conn_state_meaning": CONN_STATES[self.conn_state],
            "history": self.history,
            "self_connect": self.self_connect,
            "endpoints": [e.as_dict() for e in self.endpoints],
        }
        if segments:
            data["segments"] = [s.as_dict() for s in self.segments]
            data["unlisted_segments"] = self.unlisted
        return data


def _endpoint_text(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


@dataclass
class Replay:
    """What a capture held: its connections, what was not TCP, and what could not be read."""

    name: str
    connections: list[Connection] = field(default_factory=list)
    packets: int = 0
    tcp: int = 0
    #: Frames that were not TCP segments, by reason (see ``decode.SKIPS``).
    skipped: dict[str, int] = field(default_factory=dict)
    #: Frames of link types replay does not decode, by link type number.
    unsupported: dict[int, int] = field(default_factory=dict)
    #: What went wrong, one sentence each naming the file; empty when all of it was read.
    problems: list[CaptureError] = field(default_factory=list)
    #: How many connections the capture held (all of them, even when not kept).
    connections_seen: int = 0

    def connection(self, number: int) -> Connection:
        """The connection numbered ``number`` (from 1, in order of their first segment)."""
        for c in self.connections:
            if c.number == number:
                return c
        raise KeyError(number)


class _Tracker:
    """The running replay: open connections by 4-tuple, and those finished, to hand on."""

    def __init__(
        self, name: str, segment_limit: int, replay: Replay, shard: tuple[int, int] | None = None
    ):
        self.shard = shard
        self.name = name
        self.segment_limit = segment_limit
        #: Which connections keep their segments (beyond the state-changing ones), by number.
        self.only: int | Callable[[int], bool] | None = None
        self.replay = replay
        # Both directions of a 4-tuple map to (connection, sender index, directions).
        self.flows: dict[tuple, tuple[Connection, int, list[_Direction]]] = {}
        self.finished: list[Connection] = []
        self.keys: dict[int, tuple[tuple, ...]] = {}
        self.count = 0

    def add(self, frame: int, time: float, h: Header) -> bool:
        key = h[:4]
        entry = self.flows.get(key)
        if entry is None and self.shard is not None:
            number, shards = self.shard
            if flow_hash(h) % shards != number:
                return False  # another worker's connection
        if entry is not None:
            connection, sender, directions = entry
            if (
                h.flags & SYN
                and not h.flags & ACK
                and self._reused(connection, directions[sender], directions, h)
            ):
                self._retire(connection)
                entry = None
        if entry is None:
            connection, sender, directions = self._open(frame, time, h)
        self._segment(connection, sender, directions, frame, time, h)
        return True

    def _reused(self, connection: Connection, mine: _Direction, directions, h: Header) -> bool:
        """A SYN on a known 4-tuple: a new connection only when both ends have closed."""
        assert connection.inference is not None
        if (h.seq, 0) in (directions[0].syn, directions[1].syn):
            return False  # a SYN seen before: a retransmission, or the other end's
        if mine.last is None:
            return False  # the first segment of this end: a simultaneous open
        # A SYN with a new sequence number: its sender is done with the old connection, so
        # what was on its way has arrived (or never will).
        connection.inference.settle()
        return connection.inference.both_closed()

    def _open(self, frame: int, time: float, h: Header):
        self.count += 1
        src, dst = format_address(h.src), format_address(h.dst)
        # The originator sends the first SYN; a capture that starts with a SYN,ACK has missed
        # it, and the SYN,ACK's receiver is the originator (Zeek flips the same way).
        flip = h.flags & SYN and h.flags & ACK
        if flip:
            addresses, ports = (dst, src), (h.dport, h.sport)
        else:
            addresses, ports = (src, dst), (h.sport, h.dport)
        connection = Connection(self.count, addresses, ports, time, time)
        only = self.only
        wanted = only is None or (only(self.count) if callable(only) else only == self.count)
        connection.keep = self.segment_limit if wanted else 0
        connection.inference = Inference(connection)
        directions = [_Direction(), _Direction()]
        forward = (connection, 1 if flip else 0, directions)
        key, back = h[:4], (h.dst, h.dport, h.src, h.sport)
        self.flows[key] = forward
        if connection.self_connect:
            self.keys[connection.number] = (key,)
        else:
            self.flows[back] = (connection, 0 if flip else 1, directions)
            self.keys[connection.number] = (key, back)
        return forward

    def _segment(self, connection, sender, directions, frame, time, h: Header) -> None:
        # The hot path of a replay: every segment of the file passes here once.
        _src, _sport, _dst, _dport, seq, ack, flags, window, length, _wscale = h
        mine = directions[sender]
        peer = directions[1 - sender]
        span = length
        kind = "new"
        if flags & (SYN | FIN | RST):
            if flags & SYN:
                span += 1
            if flags & FIN:
                span += 1
            if mine.isn is None:
                mine.isn = seq if flags & SYN else (seq - 1) & _MASK
            if flags & SYN:
                # A SYN,ACK with the sequence number of the end's own SYN is a simultaneous
                # open (or a self-connect), not a retransmission: compare SYN with SYN, SYN,ACK
                # with SYN,ACK.
                syn = (seq, flags & ACK)
                if mine.syn == syn:
                    kind = "retransmission"
                mine.syn = syn
        elif mine.isn is None:
            mine.isn = (seq - 1) & _MASK
        nxt = mine.nxt
        if nxt is not None and not flags & (SYN | RST):
            # Serial-number arithmetic (RFC 1982): sequence numbers wrap at 2**32.
            behind = (nxt - seq) & _MASK
            if behind == 1 and length <= 1 and not flags & FIN:
                kind = "keep-alive"  # SEG.SEQ = SND.NXT - 1, zero or one byte (RFC 9293 3.8.4)
            elif span:
                ahead = (seq + span - nxt) & _MASK
                if ahead == 0 or ahead >= _HALF:
                    kind = "retransmission"  # nothing in it is past what was sent before
            elif mine.last == (seq, ack, flags, window):
                kind = "duplicate"
        if flags & FIN:
            if mine.fin == seq and kind == "new":
                kind = "retransmission"
            mine.fin = seq
        end = (seq + span) & _MASK
        if nxt is None or ((end - nxt) & _MASK) < _HALF:
            mine.nxt = end
        mine.last = (seq, ack, flags, window)

        connection.last = time
        counts = connection.packets
        counts[sender] += 1
        if length:
            connection.payload[sender] += length
        inference = connection.inference
        tried = kind == "new" and len(connection.segments) >= connection.keep
        if tried and inference.predicted(sender, h):
            # Both ends' header prediction took it and it is not kept: no record of it needed.
            connection.unlisted += 1
            connection.zeek.add(sender == 0, flags, seq, ack, length, window)
            return
        peer_isn = peer.isn
        segment = CapturedSegment(
            counts[0] + counts[1],
            frame,
            time,
            sender,
            flags,
            seq,
            ack,
            (seq - mine.isn) & _MASK,
            (ack - peer_isn) & _MASK if peer_isn is not None else ack,
            length,
            window,
            kind,
        )
        zeek = connection.zeek
        if kind == "retransmission":
            zeek.retransmission(sender == 0)
        zeek.add(sender == 0, flags, seq, ack, length, window)
        changed = inference.add_unpredicted(segment, h) if tried else inference.add(segment, h)
        if changed or len(connection.segments) < connection.keep:
            connection.segments.append(segment)
        else:
            connection.unlisted += 1

    def _retire(self, connection: Connection) -> None:
        for key in self.keys.pop(connection.number):
            del self.flows[key]
        assert connection.inference is not None
        connection.inference.finish(connection.last)
        self.finished.append(connection)

    def sweep(self, now: float) -> None:
        """Retire connections nothing more can belong to (closed long ago, or idle)."""
        done = []
        for connection, _sender, _directions in self.flows.values():
            assert connection.inference is not None
            idle = now - connection.last
            if idle > IDLE_TIMEOUT:
                done.append(connection)
            elif idle > CLOSED_LINGER:
                connection.inference.settle()  # quiet this long: what was sent has arrived
                if connection.inference.both_closed():
                    done.append(connection)
        for connection in dict.fromkeys(done):
            self._retire(connection)

    def drain(self, everything: bool) -> list[Connection]:
        """Finished connections in order of number: all of them, or the oldest beyond the limit."""
        if everything:
            for connection in list(dict.fromkeys(v[0] for v in self.flows.values())):
                self._retire(connection)
            out, self.finished = sorted(self.finished, key=_number), []
            return out
        if len(self.finished) <= REORDER_LIMIT:
            return []
        self.finished.sort(key=_number)
        cut = len(self.finished) - REORDER_LIMIT // 2
        out, self.finished = self.finished[:cut], self.finished[cut:]
        return out


def _number(connection: Connection) -> int:
    return connection.number


def flow_hash(h: Header) -> int:
    """A hash of a segment's 4-tuple that both directions share and every process agrees on.

    For splitting a capture across processes (``iter_connections(..., shard=(k, n))``): each
    worker keeps the connections whose hash modulo ``n`` is ``k``, so both directions and every
    reuse of a 4-tuple land on the same worker. (Python's own ``hash`` of bytes differs from
    process to process, so CRC-32 is used.)
    """
    a = h.src + h.sport.to_bytes(2, "big")
    b = h.dst + h.dport.to_bytes(2, "big")
    return zlib.crc32(a + b if a <= b else b + a)


def iter_connections(
    source: str | os.PathLike[str] | BinaryIO,
    *,
    name: str | None = None,
    replay: Replay | None = None,
    segment_limit: int = 2000,
    progress: bool | Callable[[int, int], None] = False,
    shard: tuple[int, int] | None = None,
    segments_of: int | Callable[[int], bool] | None = None,
) -> Iterator[Connection]:
    """Yield the TCP connections of a capture as each one is finished, reading it once.

    Connections come out in order of their first segment, except in captures with more than
    ``REORDER_LIMIT`` connections finished while older ones stay open (then in the order they
    finished, to keep memory bounded). Counts and problems go into ``replay`` (a
    :class:`Replay`, created if not given); errors met while reading are recorded there, not
    raised, so everything before them is still reported.

    ``segments_of=N`` keeps the segments of connection ``N`` only (the others keep just those
    that changed a state), for a listing of one connection from a large capture; it may also
    be a function of the connection number.

    ``shard=(k, n)`` keeps only the connections whose :func:`flow_hash` modulo ``n`` is ``k``:
    ``n`` processes, each with its own ``k``, replay a large capture in parallel, together
    giving every connection exactly once (numbered within each shard).

    Raises
    ------
    NotACapture
        Before yielding anything, when the file is not a pcap or pcapng capture.
    """
    reader = CaptureReader(source, name=name)
    if replay is None:
        replay = Replay(reader.name)
    if shard is not None:
        k, n = shard
        if not (isinstance(n, int) and isinstance(k, int) and n >= 1 and 0 <= k < n):
            raise ValueError(f"shard must be (k, n) with 0 <= k < n, not {shard!r}")
    tracker = _Tracker(reader.name, segment_limit, replay, shard)
    tracker.only = segments_of
    bar = _progress_bar(reader, progress)
    decoders: dict[int, object] = {}
    skipped = replay.skipped
    unsupported = replay.unsupported
    packets = tcp = 0
    every = _SWEEP_EVERY
    next_sweep = every
    try:
        with reader:
            try:
                for number, time, linktype, data, _length, _iface in reader:
                    packets += 1
                    decoder = decoders.get(linktype)
                    if decoder is None:
                        decoder = link_decoder(linktype) or False
                        decoders[linktype] = decoder
                    if decoder is False:
                        unsupported[linktype] = unsupported.get(linktype, 0) + 1
                        continue
                    found = decoder(data)  # type: ignore[operator]
                    if found.__class__ is str:
                        skipped[found] = skipped.get(found, 0) + 1
                        continue
                    h = decode_ip(data, found[1], found[0])
                    if h.__class__ is str:
                        skipped[h] = skipped.get(h, 0) + 1
                        continue
                    tcp += tracker.add(number, time, h)  # type: ignore[arg-type]
                    if packets >= next_sweep:
                        next_sweep = packets + every
                        tracker.sweep(time)
                        yield from tracker.drain(everything=False)
                        if bar is not None:
                            bar(reader.position, reader.size or 0)
            except CaptureError as error:
                replay.problems.append(error)
    finally:
        replay.packets += packets
        replay.tcp += tcp
        replay.connections_seen += tracker.count
        if bar is not None:
            bar(reader.size or reader.position, reader.size or 0)
            bar(-1, 0)
    for linktype, count in sorted(unsupported.items()):
        supported = ", ".join(f"{n} {LINKTYPES[n]}" for n in sorted(LINKTYPES))
        replay.problems.append(
            UnsupportedLinkType(
                f"{reader.name}: {count} packet(s) have link type {linktype}, which replay does "
                f"not decode (it reads link types {supported})"
            )
        )
    if not tcp and shard is None and not replay.problems:
        # (A file cut short or corrupt before any TCP already has its one message.)
        what = ", ".join(
            f"{count} {SKIPS[reason].split(' (')[0]}" for reason, count in skipped.items()
        )
        replay.problems.append(
            NoTcpInCapture(
                f"{reader.name}: no TCP segment among its {packets} packet(s)"
                + (f" ({what})" if what else "")
            )
        )
    yield from tracker.drain(everything=True)


def replay(
    source: str | os.PathLike[str] | BinaryIO,
    *,
    name: str | None = None,
    segment_limit: int = 2000,
    progress: bool | Callable[[int, int], None] = False,
) -> Replay:
    """Read a whole capture and return its connections with both endpoints' states.

    Parameters
    ----------
    source
        A pcap or pcapng file (path or binary file object).
    name
        The name errors use for it (default: the path).
    segment_limit
        Segments listed per connection; later ones are replayed and counted but not kept
        (state-changing segments are always kept).
    progress
        ``True`` for a tqdm progress bar on files over a few MB (when tqdm is installed), or a
        function called with (bytes read, file size).

    Returns
    -------
    Replay
        ``connections`` in order of their first segment, the packets that were not TCP, and
        ``problems``: what could not be read (a truncated or corrupt file, unsupported link
        types, no TCP at all), one sentence each naming the file.

    Raises
    ------
    NotACapture
        When the file is not a packet capture at all (nothing can be read).
    """
    if name is None:
        name = (
            os.fspath(source)
            if isinstance(source, (str, os.PathLike))
            else str(getattr(source, "name", "<capture>"))
        )
    result = Replay(name)
    result.connections = list(
        iter_connections(
            source, name=result.name, replay=result, segment_limit=segment_limit, progress=progress
        )
    )
    return result


def example_capture() -> Path:
    """The capture shipped with tcpviz: real Linux TCP on 127.0.0.1, five connections.

    A request and reply closed by the client first, the same closed by the server first, a
    connection refused, an abort with SO_LINGER 0, and a close with unread data (recorded by
    ``scripts/record-loopback-capture.py``).

    >>> [c.conn_state for c in replay(example_capture()).connections]
    ['SF', 'SF', 'REJ', 'RSTO', 'RSTR']
    """
    return Path(__file__).resolve().parent / "data" / "loopback.pcap"


def _progress_bar(
    reader: CaptureReader, progress: bool | Callable[[int, int], None]
) -> Callable[[int, int], None] | None:
    if callable(progress):
        return progress
    if not progress or not reader.size or reader.size < PROGRESS_BYTES:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    bar = tqdm(total=reader.size, unit="B", unit_scale=True, desc=os.path.basename(reader.name))

    def update(done: int, _total: int) -> None:
        if done < 0:
            bar.close()
        else:
            bar.update(done - bar.n)

    return update
