#!/usr/bin/env python3
"""Record the example capture shipped with tcpviz: real Linux TCP on 127.0.0.1, five connections.

    sudo .venv/bin/python scripts/record-loopback-capture.py tcpviz/traffic/data/loopback.pcap

Needs tcpdump and the right to capture (root). The five connections, each on a port of its own:
a request and a reply closed by the client first; the same closed by the server first; a
connect to a port nobody listens on (refused); an abort with SO_LINGER 0 (a RST instead of a
FIN); and a server that closes without reading what it was sent (a RST, RFC 9293 3.6.1).
"""

from __future__ import annotations

import contextlib
import os
import socket
import struct
import subprocess
import sys
import time


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pause() -> None:
    time.sleep(0.05)


def listener(port: int) -> socket.socket:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(1)
    s.settimeout(5)
    return s


def client_closes_first(port: int) -> None:
    with listener(port) as server, socket.create_connection(("127.0.0.1", port), 5) as client:
        conn, _ = server.accept()
        with conn:
            client.sendall(b"GET /hello\r\n")
            conn.recv(100)
            conn.sendall(b"hello, student\r\n")
            client.recv(100)
            pause()
            client.close()
            pause()
            conn.recv(100)
            conn.close()
            pause()


def server_closes_first(port: int) -> None:
    with listener(port) as server, socket.create_connection(("127.0.0.1", port), 5) as client:
        conn, _ = server.accept()
        conn.sendall(b"bye\r\n")
        pause()
        conn.close()
        pause()
        client.recv(100)
        client.recv(100)
        client.close()
        pause()


def refused(port: int) -> None:
    with socket.socket() as client, contextlib.suppress(ConnectionRefusedError):
        client.settimeout(5)
        client.connect(("127.0.0.1", port))


def abort(port: int) -> None:
    with listener(port) as server, socket.create_connection(("127.0.0.1", port), 5) as client:
        conn, _ = server.accept()
        with conn:
            client.sendall(b"ping\r\n")
            conn.recv(100)
            pause()
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            client.close()
            pause()


def unread(port: int) -> None:
    with listener(port) as server, socket.create_connection(("127.0.0.1", port), 5) as client:
        conn, _ = server.accept()
        client.sendall(b"you will never read this\r\n")
        pause()
        conn.close()
        pause()
        with contextlib.suppress(ConnectionResetError):
            client.recv(100)


def main(path: str) -> int:
    scenarios = [client_closes_first, server_closes_first, refused, abort, unread]
    ports = [free_port() for _ in scenarios]
    expression = " or ".join(f"tcp port {p}" for p in ports)
    command = ["tcpdump", "-i", "lo", "--immediate-mode", "-U", "-n", "-w", path]
    if os.geteuid() == 0:
        command += ["-Z", "root"]
    dump = subprocess.Popen([*command, expression], stderr=subprocess.PIPE)
    assert dump.stderr is not None
    dump.stderr.readline()  # "listening on lo ..."
    time.sleep(0.5)
    try:
        for scenario, port in zip(scenarios, ports, strict=True):
            scenario(port)
            time.sleep(0.2)
    finally:
        time.sleep(0.5)
        dump.terminate()
        dump.wait(timeout=10)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "loopback.pcap"))
