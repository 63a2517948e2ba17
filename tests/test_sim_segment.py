"""Segments: one notation, checked fields, and 32-bit sequence arithmetic (RFC 9293 3.4)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tcpviz.errors import InvalidSegment
from tcpviz.sim import (
    FLAGS,
    SEQ_MOD,
    Segment,
    flags_label,
    seq_add,
    seq_diff,
    seq_ge,
    seq_gt,
    seq_le,
    seq_lt,
)

numbers = st.integers(0, SEQ_MOD - 1)


@pytest.mark.parametrize(
    ("flags", "label"),
    [
        ("SYN", "SYN seq=7"),
        ("ack,syn", "SYN,ACK seq=7 ack=9"),
        ("SYN+ACK", "SYN,ACK seq=7 ack=9"),
        ({"FIN", "ACK"}, "FIN,ACK seq=7 ack=9"),
        ("RST ACK", "RST,ACK seq=7 ack=9"),
        ("", "(no flags) seq=7"),
    ],
)
def test_one_notation_whatever_the_spelling(flags, label):
    segment = Segment("a", "b", 7, 9, flags)
    assert segment.label == label
    assert "+" not in segment.label
    assert Segment.parse(label, "a", "b").label == label
    if "ACK" in segment.flags:
        assert Segment.parse(label, "a", "b") == segment


def test_length_counts_syn_fin_and_data():
    assert Segment("a", "b", 1, flags="SYN").length == 1
    assert Segment("a", "b", 1, flags="FIN,ACK", payload=5).length == 6
    assert Segment("a", "b", 1, flags="ACK").length == 0
    assert Segment("a", "b", SEQ_MOD - 1, flags="SYN", payload=2).end == 2  # wraps
    assert Segment("a", "b", 1, 2, "PSH,ACK", 3).label == "PSH,ACK seq=1 ack=2 len=3"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"seq": -1}, r"seq must be an integer from 0 to 2\*\*32 - 1, not -1"),
        ({"seq": SEQ_MOD}, "seq must be"),
        ({"seq": 1, "ack": 1.5}, "ack must be"),
        ({"seq": 1, "flags": "SYN,URG"}, r"unknown flag 'URG' \(must be one of \['SYN', 'FIN'"),
        ({"seq": 1, "payload": -2}, "payload must be a number of octets >= 0"),
        ({"seq": True}, "seq must be"),
    ],
)
def test_impossible_segments_are_refused(kwargs, message):
    with pytest.raises(InvalidSegment, match=message):
        Segment("a", "b", **kwargs)


@pytest.mark.parametrize("text", ["", "SYN", "SYN seq=x", "SYN ack=3", "SYN seq=1 win=5"])
def test_unreadable_labels_are_refused(text):
    with pytest.raises(InvalidSegment):
        Segment.parse(text, "a", "b")


def test_segments_are_immutable_and_hashable_and_the_note_is_not_part_of_identity():
    s = Segment("a", "b", 1, flags="SYN")
    with pytest.raises(AttributeError):
        s.seq = 2  # type: ignore[misc]
    assert s == Segment("a", "b", 1, flags="SYN", note="again") and len({s, s}) == 1
    assert s.has("syn") and not s.has("ACK")
    assert flags_label(["ACK", "FIN"]) == "FIN,ACK" and FLAGS[0] == "SYN"
    assert s.as_dict()["label"] == "SYN seq=1" and s.as_dict()["length"] == 1


def reference_lt(a: int, b: int) -> bool:
    """RFC 1982-style serial comparison, written out: a < b iff b - a is in (0, 2**31)."""
    return 0 < (b - a) % SEQ_MOD < 2**31


@given(numbers, numbers)
def test_comparisons_agree_with_serial_number_arithmetic(a, b):
    if (b - a) % SEQ_MOD == 2**31:
        return  # the comparison is undefined half-way round
    assert seq_lt(a, b) == reference_lt(a, b)
    assert seq_gt(a, b) == reference_lt(b, a)
    assert seq_le(a, b) == (a == b or reference_lt(a, b))
    assert seq_ge(a, b) == (a == b or reference_lt(b, a))


@given(numbers, st.integers(-(2**31) + 1, 2**31 - 1))
def test_add_and_diff_are_inverse(a, n):
    b = seq_add(a, n)
    assert 0 <= b < SEQ_MOD
    assert seq_diff(b, a) == n
    assert seq_lt(a, b) == (n > 0)
