"""Capture replay throughput: ``tcpviz replay`` against the bare dpkt loop on the same capture.

A synthetic capture is written first, quickly, as raw pcap records packed with :mod:`struct`:
a million packets or more over many connections (a quarter of them IPv6), a few hundred open at
once and interleaved as on a busy link, each with a handshake, requests and answers, and a
close (some refused, some reset). Then, in alternating rounds of the same run:

- the bare dpkt loop: ``dpkt.pcap.Reader`` over the file, ``dpkt.ethernet.Ethernet(buf)`` per
  frame, and the TCP fields a state machine needs (ports, seq, ack, flags, window, data length),
  what a user would write to read a capture in Python;
- tcpviz: ``iter_connections(path)``, the whole replay (reading, decoding, connection tracking,
  Zeek summary, both endpoints' state inference), each connection dropped once handed on;
- the ``tcpviz replay FILE --json`` command as a whole process, beside ``python -c`` running the
  bare loop as a whole process.

Reported as packets per second and as the ratio of the processor times, best of the rounds
(target: tcpviz at most 2x the bare loop); processor time because on a machine shared with
other work the wall clock of either side stretches at random. Run alone with ``.venv/bin/python benchmarks/bench_replay.py [--quick]``.
"""

from __future__ import annotations

import random
import resource
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the sibling helpers importable
    sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Check, Result, row, run_alone

TCPVIZ = "tcpviz iter_connections (whole replay)"
BARE = "dpkt Reader + Ethernet decode (bare loop)"
CLI = "tcpviz replay --json (whole process)"
BARE_CLI = "python bare dpkt loop (whole process)"
RATIO_TARGET = 2.0
QUICK = {"packets": 20_000, "rounds": 1}

BARE_LOOP = """
import sys, dpkt
def bare(path):
    n = 0
    with open(path, "rb") as f:
        for ts, buf in dpkt.pcap.Reader(f):
            eth = dpkt.ethernet.Ethernet(buf)
            ip = eth.data
            if not isinstance(ip, (dpkt.ip.IP, dpkt.ip6.IP6)):
                continue
            tcp = ip.data
            if not isinstance(tcp, dpkt.tcp.TCP):
                continue
            fields = (ip.src, ip.dst, tcp.sport, tcp.dport, tcp.seq, tcp.ack, tcp.flags,
                      tcp.win, len(tcp.data))
            n += 1
    return n
"""
_namespace: dict[str, object] = {}
exec(BARE_LOOP, _namespace)
bare_loop = _namespace["bare"]


def _checksum_free_tcp(src, dst, sport, dport, seq, ack, flags, length, v6):
    """An Ethernet frame with IPv4 or IPv6 and TCP headers (checksums left 0: nobody checks)."""
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 0x50, flags, 65535, 0, 0)
    payload = b"x" * length
    if v6:
        ip = struct.pack("!IHBB16s16s", 0x60000000, 20 + length, 6, 64, src, dst)
        kind = b"\x86\xdd"
    else:
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40 + length, 0, 0x4000, 64, 6, 0, src, dst)
        kind = b"\x08\x00"
    return b"\x02\0\0\0\0\x02\x02\0\0\0\0\x01" + kind + ip + tcp + payload


def make_capture(path: Path, packets: int, *, seed: int = 9293, concurrent: int = 300) -> dict:
    """Write a synthetic pcap of about ``packets`` packets; return what is in it."""
    rng = random.Random(seed)
    S, A, F, R, P = 0x02, 0x10, 0x01, 0x04, 0x08
    written = connections = started = 0
    open_now: list[list] = []
    time_now = 1_700_000_000.0
    record = struct.Struct("<IIII").pack
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))

        def emit(frame: bytes) -> None:
            nonlocal written, time_now
            time_now += 0.00001
            sec = int(time_now)
            f.write(record(sec, int((time_now - sec) * 1e6), len(frame), len(frame)))
            f.write(frame)
            written += 1

        def script(n: int):
            """One connection's segments, as (from client, flags, length) after the handshake."""
            v6 = n % 4 == 0
            if v6:
                c = b"\x20\x01\x0d\xb8" + bytes(10) + struct.pack("!H", n % 65536)
                s = b"\x20\x01\x0d\xb8" + bytes(11) + b"\x01"
            else:
                c = bytes([10, (n >> 16) & 255, (n >> 8) & 255, n & 255])
                s = bytes([192, 168, 0, 1])
            cport, sport = 1024 + n % 60000, 80 if n % 3 else 443
            ciss, siss = rng.getrandbits(32), rng.getrandbits(32)
            kind = rng.random()
            steps = []
            if kind < 0.03:  # refused
                steps = [(True, S, 0, ciss, 0), (False, R | A, 0, 0, ciss + 1)]
                return v6, c, s, cport, sport, steps
            cs, ss = ciss + 1, siss + 1
            steps = [(True, S, 0, ciss, 0), (False, S | A, 0, siss, cs), (True, A, 0, cs, ss)]
            for _ in range(rng.randint(2, 12)):
                q, r = rng.randint(50, 400), rng.randint(100, 1400)
                steps.append((True, P | A, q, cs, ss))
                cs += q
                steps.append((False, P | A, r, ss, cs))
                ss += r
                steps.append((True, A, 0, cs, ss))
            if kind < 0.08:  # aborted
                steps.append((True, R | A, 0, cs, ss))
            else:
                steps += [
                    (True, F | A, 0, cs, ss),
                    (False, A, 0, ss, cs + 1),
                    (False, F | A, 0, ss, cs + 1),
                    (True, A, 0, cs + 1, ss + 1),
                ]
            return v6, c, s, cport, sport, steps

        while written < packets:
            while len(open_now) < concurrent:
                connections += 1
                open_now.append([script(connections), 0])
            i = rng.randrange(len(open_now))
            (v6, c, s, cport, sport, steps), at = open_now[i]
            client, flags, length, seq, ack = steps[at]
            mask = 0xFFFFFFFF
            if client:
                frame = _checksum_free_tcp(
                    c, s, cport, sport, seq & mask, ack & mask, flags, length, v6
                )
            else:
                frame = _checksum_free_tcp(
                    s, c, sport, cport, seq & mask, ack & mask, flags, length, v6
                )
            emit(frame)
            if at == 0:
                started += 1
            if at + 1 == len(steps):
                open_now[i] = open_now[-1]
                open_now.pop()
            else:
                open_now[i][1] = at + 1
    return {"packets": written, "connections": started, "bytes": path.stat().st_size}


def _replay(path: Path) -> tuple[int, int]:
    from tcpviz.traffic import Replay, iter_connections

    summary = Replay(str(path))
    count = sum(1 for _ in iter_connections(path, replay=summary, segment_limit=0))
    return summary.tcp, count


def _cpu_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _process(command: list[str]) -> float:
    """The processor time (user + system) a whole process took: less shaken than the wall
    clock by the other work of a shared machine."""
    start = _cpu_children()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, timeout=1800)
    return _cpu_children() - start


def run(*, packets: int = 1_000_000, rounds: int = 3, processes: bool = True) -> Result:
    """Write the synthetic capture, time both readers on it, and compare."""
    result = Result("replay", "Capture replay: packets per second, tcpviz against bare dpkt")
    try:
        import dpkt  # noqa: F401
    except ImportError:
        result.skipped = "dpkt is not installed (pip install -e '.[bench]')"
        return result
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "synthetic.pcap"
        start = time.perf_counter()
        made = make_capture(path, packets)
        made_in = time.perf_counter() - start
        times: dict[str, list[float]] = {TCPVIZ: [], BARE: [], CLI: [], BARE_CLI: []}
        counts = {}
        # Alternating rounds, so both see the same load; processor time, not the wall clock,
        # because on a shared machine other work stretches the wall clock of either at random.
        clock = time.process_time
        for _ in range(rounds):
            start = clock()
            counts[BARE] = bare_loop(path)
            times[BARE].append(clock() - start)
            start = clock()
            counts[TCPVIZ] = _replay(path)
            times[TCPVIZ].append(clock() - start)
        if processes:
            python = sys.executable
            bare_script = BARE_LOOP + f"\nprint(bare({str(path)!r}))\n"
            for _ in range(max(1, rounds // 2)):
                times[BARE_CLI].append(_process([python, "-c", bare_script]))
                times[CLI].append(_process([python, "-m", "tcpviz", "replay", str(path), "--json"]))
    tcp, connections = counts[TCPVIZ]
    assert tcp == counts[BARE] == made["packets"], (tcp, counts[BARE], made)
    assert connections == made["connections"], (connections, made)
    n = made["packets"]
    for label, samples in times.items():
        if samples:
            result.rows.append(
                row(
                    label,
                    samples,
                    f"{n / min(samples):,.0f} packets/s at the best of {len(samples)}",
                )
            )
    # Paired: each round's ratio, then their median (the two sides ran back to back).
    ratio = statistics.median(t / b for t, b in zip(times[TCPVIZ], times[BARE], strict=True))
    result.ratios["tcpviz replay / bare dpkt loop (in process, median of rounds)"] = ratio
    if times[CLI]:
        result.ratios["tcpviz replay --json / bare dpkt loop (whole processes)"] = min(
            times[CLI]
        ) / min(times[BARE_CLI])
    result.checks.append(
        Check(
            "replay time against the bare dpkt loop",
            f"<= {RATIO_TARGET}x",
            f"{ratio:.2f}x",
            ratio <= RATIO_TARGET,
        )
    )
    result.notes.append(
        f"synthetic capture: {n:,} packets, {made['connections']:,} connections (a quarter "
        f"IPv6, ~3% refused, ~5% reset), {made['bytes'] / 1e6:.0f} MB, written in {made_in:.1f} s"
    )
    return result


if __name__ == "__main__":
    sys.exit(run_alone(sys.modules[__name__]))
