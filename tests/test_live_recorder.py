"""The kernel's port filter (sock_diag bytecode) and the state recorder, on real loopback
sockets made here."""

from __future__ import annotations

import itertools
import socket
import struct
import sys
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tcpviz.errors import InvalidFilter
from tcpviz.traffic import StateRecorder, port_filter, read_sock_diag

linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="sock_diag")

S_EQ, D_EQ = 11, 12


def kernel_accepts(code: bytes, sport: int, dport: int) -> bool:
    """net/ipv4/inet_diag.c, inet_diag_bc_audit then inet_diag_bc_run, for the two port tests
    (written out again here, from the kernel's source)."""
    # The audit: every jump a multiple of 4, no further than 4 bytes past the end.
    offset = 0
    while offset < len(code):
        op, yes, no = struct.unpack_from("=BBH", code, offset)
        left = len(code) - offset
        assert op in (S_EQ, D_EQ), op
        assert 8 <= yes <= left + 4 and yes % 4 == 0, (offset, yes)
        assert 8 <= no <= left + 4 and no % 4 == 0, (offset, no)
        offset += 8
    # The run.
    offset, length = 0, len(code)
    while length > 0:
        op, yes, no = struct.unpack_from("=BBH", code, offset)
        (port,) = struct.unpack_from("=H", code, offset + 6)
        match = (sport if op == S_EQ else dport) == port
        jump = yes if match else no
        offset += jump
        length -= jump
    return length == 0


@given(
    st.sets(st.integers(1, 65535), min_size=1, max_size=6),
    st.integers(1, 65535),
    st.integers(0, 65535),
)
def test_the_port_filter_keeps_exactly_the_sockets_with_a_port_at_either_end(ports, sport, dport):
    code = port_filter(ports)
    assert len(code) == 16 * len(ports)
    assert kernel_accepts(code, sport, dport) == (sport in ports or dport in ports)
    for port in ports:
        assert kernel_accepts(code, port, dport) and kernel_accepts(code, sport, port)


def test_a_port_filter_needs_a_port():
    with pytest.raises(ValueError, match="at least one port"):
        port_filter([])


@linux
def test_the_kernel_filters_as_python_would():
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        client = socket.create_connection(("127.0.0.1", port), timeout=5)
        server, _ = listener.accept()
        with client, server:
            everything = read_sock_diag()
            kept = read_sock_diag(ports=[port])
    key = lambda s: (s.local_port, s.remote_port, s.state_code)  # noqa: E731
    expected = sorted(key(s) for s in everything if port in (s.local_port, s.remote_port))
    assert sorted(key(s) for s in kept) == expected and len(expected) == 3


def _ends(recorder: StateRecorder, port: int, client_port: int) -> tuple[list[str], list[str]]:
    return (
        recorder.states_of(local_port=client_port, remote_port=port),
        recorder.states_of(local_port=port, remote_port=client_port),
    )


@linux
def test_the_recorder_sees_an_active_close_in_order():
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(5)
    port = listener.getsockname()[1]
    with StateRecorder(port) as recorder:
        client = socket.create_connection(("127.0.0.1", port), timeout=5)
        server, _ = listener.accept()
        client_port = client.getsockname()[1]
        assert recorder.wait_for(lambda r: len(r.connections(local_port=port)) == 2)
        client.close()  # the client closes first: FIN-WAIT-1, FIN-WAIT-2, then TIME-WAIT
        server.recv(1)
        # The server holds CLOSE-WAIT long enough to be polled, then closes (LAST-ACK).
        assert recorder.wait_for(lambda r: "CLOSE-WAIT" in _ends(r, port, client_port)[1])
        time.sleep(0.05)
        server.close()
        assert recorder.wait_for(lambda r: "TIME-WAIT" in _ends(r, port, client_port)[0])
        assert recorder.wait_for(lambda r: _ends(r, port, client_port)[1][-1] == "CLOSED")
        listener.close()
    client_states, server_states = _ends(recorder, port, client_port)
    assert client_states[0] == "ESTABLISHED" and client_states[-1] == "TIME-WAIT"
    assert StateRecorder.seen_in_order(
        client_states, ["ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT"]
    ), client_states
    assert StateRecorder.seen_in_order(
        server_states, ["ESTABLISHED", "CLOSE-WAIT", "LAST-ACK", "CLOSED"]
    ), server_states
    assert {"ESTABLISHED", "CLOSE-WAIT", "CLOSED"} <= set(server_states)
    assert recorder.states_of(local_port=port, remote_port=0) == ["LISTEN", "CLOSED"]
    # Each sighting spans the polls that saw it, in time order.
    sightings = recorder.history[recorder.connections(local_port=port, remote_port=client_port)[0]]
    assert all(a.first <= a.last <= b.first for a, b in itertools.pairwise(sightings))
    assert recorder.polls >= 3 and recorder.error is None  # first, in the thread, last
    assert "connections" in repr(recorder)


@linux
def test_polling_is_bounded_by_its_limit():
    recorder = StateRecorder(1, interval=0.001, limit=0.2).start()
    time.sleep(0.5)
    polls = recorder.polls
    time.sleep(0.2)
    assert recorder.polls == polls  # it stopped on its own
    recorder.stop()
    assert recorder.history == {}


def test_bad_settings_and_ambiguous_questions_are_refused():
    with pytest.raises(InvalidFilter, match="at least one port"):
        StateRecorder([])
    with pytest.raises(InvalidFilter, match="interval must be at least"):
        StateRecorder(80, interval=0)
    with pytest.raises(InvalidFilter, match="limit must be from 0 to 3600"):
        StateRecorder(80, limit=0)
    recorder = StateRecorder(80)
    recorder.history = {(4, "127.0.0.1", 80, "127.0.0.1", 5000 + i): [] for i in range(2)}
    with pytest.raises(InvalidFilter, match="match 2 connections, not one"):
        recorder.states_of(local_port=80)
    assert not StateRecorder.seen_in_order(
        ["TIME-WAIT", "ESTABLISHED"], ["ESTABLISHED", "TIME-WAIT"]
    )
    assert not StateRecorder.seen_in_order(["LISTEN"], ["ESTABLISHED"])
