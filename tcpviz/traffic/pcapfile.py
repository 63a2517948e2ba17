"""Read packet capture files, pcap and pcapng, one record at a time and in bounded memory.

A small reader of its own rather than dpkt's, for two reasons: dpkt's pcapng reader parses only
the first interface description block, so captures made with ``tcpdump -i any`` on several
interfaces, or merged with ``mergecap``, get the wrong link type and timestamp resolution
(``if_tsresol``) for every later interface; and unpacking the record headers by hand is several
times faster than building objects, which keeps replay close to the cost of the decoding itself.

Formats: pcap (microsecond and nanosecond magic, either byte order) and pcapng (several
sections, each in its own byte order; enhanced, simple and obsolete packet blocks; per-interface
link type, ``if_tsresol`` and ``if_tsoffset``). What is wrong with a file is raised as one
:class:`~tcpviz.errors.CaptureError` subclass naming the file, after every packet before the
problem has been yielded.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from typing import BinaryIO, NamedTuple

from ..errors import CorruptCapture, NotACapture, TruncatedCapture

__all__ = ["PCAPNG_MAGIC", "PCAP_MAGICS", "CaptureReader", "Interface", "Packet"]

#: The first four bytes of a pcap file, as read little-endian: (byte order, ticks per second).
PCAP_MAGICS: dict[bytes, tuple[str, int]] = {
    b"\xd4\xc3\xb2\xa1": ("<", 1_000_000),
    b"\xa1\xb2\xc3\xd4": (">", 1_000_000),
    b"\x4d\x3c\xb2\xa1": ("<", 1_000_000_000),
    b"\xa1\xb2\x3c\x4d": (">", 1_000_000_000),
}
#: The block type of a pcapng section header block: the same bytes in either byte order.
PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"

# No link layer frame is anywhere near this; a larger length is a corrupt record, not a packet.
_MAX_RECORD = 1 << 24

_SHB, _IDB, _OPB, _SPB, _EPB = 0x0A0D0D0A, 1, 2, 3, 6
_IF_TSRESOL, _IF_TSOFFSET = 9, 14


class Packet(NamedTuple):
    """One captured frame: its number in the file (from 1), time, link type and bytes."""

    number: int
    time: float
    linktype: int
    data: bytes
    #: The frame's length on the wire (``len(data)`` is less when the capture cut it short).
    length: int
    interface: int = 0


class Interface(NamedTuple):
    """A pcapng interface (or a pcap file's single one): link type and clock."""

    linktype: int
    snaplen: int
    #: Timestamp units per second (``if_tsresol``; 10**6 when the option is absent).
    ticks: int
    #: Seconds added to every timestamp (``if_tsoffset``).
    offset: int = 0
    name: str = ""


class CaptureReader:
    """Iterate over the packets of a pcap or pcapng file.

    >>> import io, struct
    >>> header = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
    >>> record = struct.pack("<IIII", 1, 500000, 3, 3) + b"abc"
    >>> reader = CaptureReader(io.BytesIO(header + record), name="tiny.pcap")
    >>> [(p.number, p.time, p.linktype, p.data) for p in reader]
    [(1, 1.5, 1, b'abc')]

    Parameters
    ----------
    source
        A path, or a binary file object open for reading (not closed here).
    name
        The name used in error messages (default: the path).

    Raises
    ------
    NotACapture
        When the file starts with neither pcap's nor pcapng's magic number (raised on creation).
    TruncatedCapture, CorruptCapture
        While iterating, after every packet before the problem was yielded.
    """

    def __init__(self, source: str | os.PathLike[str] | BinaryIO, *, name: str | None = None):
        if isinstance(source, (str, os.PathLike)):
            self.name: str = os.fspath(source) if name is None else name
            self._file: BinaryIO = open(source, "rb")  # noqa: SIM115 (closed by close())
            self._owned = True
        else:
            self.name = name if name is not None else getattr(source, "name", "<capture>")
            self._file = source
            self._owned = False
        try:
            self.size: int | None = self._size()
            start = self._file.read(24)
            self.format: str = self._detect(start)
        except BaseException:
            self.close()
            raise
        self._start = start
        #: Interfaces met so far (pcapng: per section, in order of their description blocks).
        self.interfaces: list[Interface] = []
        #: Bytes consumed so far (for a progress bar).
        self.position: int = 0

    def _size(self) -> int | None:
        try:
            return os.fstat(self._file.fileno()).st_size
        except (AttributeError, OSError, ValueError):
            try:
                here = self._file.tell()
                end = self._file.seek(0, os.SEEK_END)
                self._file.seek(here)
                return end - here
            except (AttributeError, OSError, ValueError):
                return None

    def _detect(self, start: bytes) -> str:
        if start[:4] in PCAP_MAGICS:
            return "pcap"
        if start[:4] == PCAPNG_MAGIC:
            return "pcapng"
        if not start:
            raise NotACapture(f"{self.name}: the file is empty, not a packet capture")
        what = _describe_start(start)
        raise NotACapture(
            f"{self.name}: not a packet capture ({what}); expected a pcap or pcapng file, "
            "as written by tcpdump -w, Wireshark or dumpcap"
        )

    def close(self) -> None:
        """Close the file if this reader opened it."""
        if self._owned:
            self._file.close()

    def __enter__(self) -> CaptureReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __iter__(self) -> Iterator[Packet]:
        if self.format == "pcap":
            return self._pcap()
        return self._pcapng()

    # -- pcap ---------------------------------------------------------------------------------

    def _pcap(self) -> Iterator[Packet]:
        head = self._start
        if len(head) < 24:
            raise TruncatedCapture(
                f"{self.name}: the file ends inside the pcap file header ({len(head)} of 24 bytes)"
            )
        order, ticks = PCAP_MAGICS[head[:4]]
        _major, _minor, _zone, _sigfigs, snaplen, network = struct.unpack(
            order + "HHiIII", head[4:]
        )
        # The top four bits of the link type field carry FCS information (pcap-savefile(5)).
        linktype = network & 0x0FFFFFFF
        self.interfaces = [Interface(linktype, snaplen, ticks)]
        self.position = 24
        read = self._file.read
        record = struct.Struct(order + "IIII").unpack
        scale = 1.0 / ticks
        number = 0
        while True:
            header = read(16)
            if len(header) < 16:
                if header:
                    raise TruncatedCapture(
                        f"{self.name}: cut short inside the header of packet {number + 1} "
                        f"(at byte {self.position}); the {number} packets before it were read"
                    )
                return
            seconds, fraction, caplen, length = record(header)
            if caplen > _MAX_RECORD:
                raise CorruptCapture(
                    f"{self.name}: packet {number + 1} (at byte {self.position}) claims "
                    f"{caplen} captured bytes, which no frame has: the file is corrupt from "
                    f"there on; the {number} packets before it were read"
                )
            data = read(caplen)
            if len(data) < caplen:
                raise TruncatedCapture(
                    f"{self.name}: cut short inside packet {number + 1} ({len(data)} of "
                    f"{caplen} bytes); the {number} packets before it were read"
                )
            number += 1
            self.position += 16 + caplen
            yield Packet(number, seconds + fraction * scale, linktype, data, length)

    # -- pcapng -------------------------------------------------------------------------------

    def _pcapng(self) -> Iterator[Packet]:
        leftover = [self._start]
        raw = self._file.read

        def read(size: int) -> bytes:
            # The first bytes were read to detect the format; serve them before the file's.
            if leftover:
                data = leftover.pop()
                if len(data) >= size:
                    if len(data) > size:
                        leftover.append(data[size:])
                    return data[:size]
                return data + raw(size - len(data))
            return raw(size)

        order = "<"
        interfaces: list[Interface] = []
        number = 0
        while True:
            head = read(8)
            if not head:
                return
            if len(head) < 8:
                raise TruncatedCapture(
                    f"{self.name}: cut short inside a block header (at byte {self.position}); "
                    f"the {number} packets before it were read"
                )
            section = head[:4] == PCAPNG_MAGIC
            if section:
                # A section header: its byte-order magic says how to read everything after it.
                magic = read(4)
                if magic == b"\x4d\x3c\x2b\x1a":
                    order = "<"
                elif magic == b"\x1a\x2b\x3c\x4d":
                    order = ">"
                else:
                    raise CorruptCapture(
                        f"{self.name}: a pcapng section header (at byte {self.position}) has "
                        f"no valid byte-order magic; the {number} packets before it were read"
                    )
                (total,) = struct.unpack(order + "I", head[4:])
                body = magic
                kind = _SHB
                interfaces = []
                self.interfaces = interfaces
            else:
                (kind, total) = struct.unpack(order + "II", head)
                body = b""
            if total < 12 or total % 4 or total > _MAX_RECORD:
                raise CorruptCapture(
                    f"{self.name}: a pcapng block (at byte {self.position}) has an impossible "
                    f"length {total}: the file is corrupt from there on; the {number} packets "
                    "before it were read"
                )
            body += read(total - 8 - len(body))
            if len(body) < total - 8:
                raise TruncatedCapture(
                    f"{self.name}: cut short inside a pcapng block ({len(body) + 8} of {total} "
                    f"bytes, at byte {self.position}); the {number} packets before it were read"
                )
            self.position += total
            content = body[:-4]
            if section:
                continue
            if kind == _EPB:
                if len(content) < 20:
                    raise CorruptCapture(self._short_block("enhanced packet", number))
                iface, high, low, caplen, length = struct.unpack_from(order + "IIIII", content)
                interface = self._interface(interfaces, iface, number)
                if 20 + caplen > len(content):
                    raise CorruptCapture(self._short_block("enhanced packet", number))
                number += 1
                yield Packet(
                    number,
                    ((high << 32) | low) / interface.ticks + interface.offset,
                    interface.linktype,
                    content[20 : 20 + caplen],
                    length,
                    iface,
                )
            elif kind == _IDB:
                interfaces.append(self._parse_idb(content, order))
            elif kind == _SPB:
                if len(content) < 4:
                    raise CorruptCapture(self._short_block("simple packet", number))
                interface = self._interface(interfaces, 0, number)
                (length,) = struct.unpack_from(order + "I", content)
                caplen = min(length, len(content) - 4)
                if interface.snaplen:
                    caplen = min(caplen, interface.snaplen)
                number += 1
                # A simple packet block has no timestamp: keep the clock where it was.
                yield Packet(number, 0.0, interface.linktype, content[4 : 4 + caplen], length)
            elif kind == _OPB:
                if len(content) < 20:
                    raise CorruptCapture(self._short_block("packet", number))
                iface, _drops, high, low, caplen, length = struct.unpack_from(
                    order + "HHIIII", content
                )
                interface = self._interface(interfaces, iface, number)
                number += 1
                yield Packet(
                    number,
                    ((high << 32) | low) / interface.ticks + interface.offset,
                    interface.linktype,
                    content[20 : 20 + caplen],
                    length,
                    iface,
                )
            # Name resolution, statistics, decryption secrets, custom blocks: not needed here.

    def _short_block(self, what: str, number: int) -> str:
        return (
            f"{self.name}: a pcapng {what} block (ending at byte {self.position}) is shorter "
            f"than its own header says; the {number} packets before it were read"
        )

    def _interface(self, interfaces: list[Interface], index: int, number: int) -> Interface:
        try:
            return interfaces[index]
        except IndexError:
            raise CorruptCapture(
                f"{self.name}: packet {number + 1} names interface {index}, but the section "
                f"describes {len(interfaces)} interface(s); the {number} packets before it "
                "were read"
            ) from None

    def _parse_idb(self, content: bytes, order: str) -> Interface:
        if len(content) < 8:
            raise CorruptCapture(
                f"{self.name}: an interface description block (ending at byte "
                f"{self.position}) is too short"
            )
        linktype, _reserved, snaplen = struct.unpack_from(order + "HHI", content)
        ticks, offset, name = 1_000_000, 0, ""
        at = 8
        while at + 4 <= len(content):  # bounded: each option moves at forward by >= 4
            code, size = struct.unpack_from(order + "HH", content, at)
            value = content[at + 4 : at + 4 + size]
            at += 4 + size + (-size % 4)
            if code == 0:
                break
            if code == _IF_TSRESOL and size >= 1:
                # The high bit picks the base: 0 means 10**-n seconds, 1 means 2**-n.
                resolution = value[0]
                ticks = 2 ** (resolution & 0x7F) if resolution & 0x80 else 10**resolution
            elif code == _IF_TSOFFSET and size >= 8:
                (offset,) = struct.unpack(order + "q", value[:8])
            elif code == 2:  # if_name
                name = value.decode("utf-8", "replace").rstrip("\0")
        return Interface(linktype, snaplen, ticks, offset, name)


def _describe_start(start: bytes) -> str:
    """A few words on what a file that is not a capture seems to be, for the error message."""
    text = start.lstrip()
    if text[:1] in (b"{", b"["):
        return "it looks like JSON"
    if text[:5].lower() in (b"<?xml", b"<html", b"<!doc", b"<svg "):
        return "it looks like XML or HTML"
    if start[:4] == b"PK\x03\x04":
        return "it is a zip archive"
    if start[:2] == b"\x1f\x8b":
        return "it is gzip-compressed: decompress it first (gunzip)"
    if all(32 <= byte < 127 or byte in (9, 10, 13) for byte in start):
        return "it looks like text"
    return f"it starts with bytes {start[:4].hex(' ')}"
