"""The states: RFC names, descriptions carrying the manual's facts, other tools' spellings."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import rfc9293
from hypothesis import given
from hypothesis import strategies as st

from tcpviz.errors import TcpvizError, UnknownState
from tcpviz.model.states import (
    ALIASES,
    DESCRIPTIONS,
    PROC_NET_TCP_CODES,
    STATES,
    canonical_state,
    state_key,
)

SEED = Path("/work/shared/seeds/connection-states.txt")
# The manual's facts, copied here so the tests run anywhere (CI has no /work/shared); the
# test below checks the copy against the file when the file is present.
SEED_FACTS = {
    "CLOSED": "There is no connection.",
    "LISTEN": "The local end-point is waiting for a connection request from a remote end-point "
    "i.e. a passive open was performed.",
    "SYN-SENT": "The first step of the three-way connection handshake was performed. A connection "
    "request has been sent to a remote end-point i.e. an active open was performed.",
    "SYN-RECEIVED": "The second step of the three-way connection handshake was performed. An "
    "acknowledgement for the received connection request as well as a connection request has "
    "been sent to the remote end-point.",
    "ESTABLISHED": "The third step of the three-way connection handshake was performed. The "
    "connection is open.",
    "FIN-WAIT-1": "The first step of an active close (four-way handshake) was performed. The "
    "local end-point has sent a connection termination request to the remote end-point.",
    "CLOSE-WAIT": "The local end-point has received a connection termination request and "
    "acknowledged it e.g. a passive close has been performed and the local end-point needs to "
    "perform an active close to leave this state.",
    "FIN-WAIT-2": "The remote end-point has sent an acknowledgement for the previously sent "
    "connection termination request. The local end-point waits for an active connection "
    "termination request from the remote end-point.",
    "LAST-ACK": "The local end-point has performed a passive close and has initiated an active "
    "close by sending a connection termination request to the remote end-point.",
    "CLOSING": "The local end-point is waiting for an acknowledgement for a connection "
    "termination request before going to the TIME-WAIT state.",
    "TIME-WAIT": "The local end-point waits for twice the maximum segment lifetime (MSL) to pass "
    "before going to CLOSED to be sure that the remote end-point received the acknowledgement.",
}

# Each fact of the manual, as patterns that our wording must match (case-insensitive). A
# tuple means "one of these".
REQUEST = r"(connection request|SYN)"
TERMINATION = r"(termination request|FIN)"
FACTS: dict[str, list[str | tuple[str, ...]]] = {
    "CLOSED": [r"\bno connection\b"],
    "LISTEN": [r"passive open", r"wait(s|ing)? for a " + REQUEST, r"remote end"],
    "SYN-SENT": [
        r"first step of the three-way handshake",
        r"active open",
        r"(has )?sent a connection request",
        r"to the remote end",
    ],
    "SYN-RECEIVED": [
        r"second step of the three-way handshake",
        r"received a connection request",
        r"(its|an?) own connection request",
        r"acknowledge?ment of the one it received",
    ],
    "ESTABLISHED": [r"third step of the three-way handshake", r"connection is (now )?open"],
    "FIN-WAIT-1": [
        r"first step of an active close",
        r"four-way handshake",
        r"sent a connection termination request",
        r"to the remote end",
    ],
    "CLOSE-WAIT": [
        r"passive close",
        r"received a termination request",
        r"acknowledged it",
        r"to leave this state.*must close",
        r"active close",
    ],
    "FIN-WAIT-2": [
        r"remote end has acknowledged the termination request",
        r"the local end sent",
        r"waits for the remote end's own termination request",
    ],
    "LAST-ACK": [
        r"after a passive close",
        r"active close",
        r"sent an? (own )?termination request",
        r"to the remote end",
    ],
    "CLOSING": [
        r"waits for the acknowledge?ment of its own " + TERMINATION,
        r"before it goes to TIME-WAIT",
    ],
    "TIME-WAIT": [
        (r"twice the maximum segment lifetime", r"2\s?MSL"),
        r"2MSL",
        r"before it goes to CLOSED",
        r"to be sure the remote end received the acknowledge?ment",
    ],
}


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+(?:-[a-z0-9]+)*", text.lower())


def sentences(text: str) -> list[str]:
    # "i.e." and "e.g." are not sentence ends.
    text = re.sub(r"\b(i\.e|e\.g)\.", r"\1", text.strip())
    return [s for s in re.split(r"(?<=[.!?])\s+", text) if s]


def longest_shared_run(a: list[str], b: list[str]) -> list[str]:
    best: list[str] = []
    for i in range(len(a)):
        for j in range(len(b)):
            k = 0
            while i + k < len(a) and j + k < len(b) and a[i + k] == b[j + k]:
                k += 1
            if k > len(best):
                best = a[i : i + k]
    return best


# -- names ------------------------------------------------------------------------------------


def test_states_are_the_rfc_states_with_closed_first():
    assert set(STATES) == set(rfc9293.STATES)
    assert len(STATES) == len(set(STATES)) == 11
    assert STATES[0] == "CLOSED"


def test_every_state_has_a_description_and_aliases():
    assert set(DESCRIPTIONS) == set(ALIASES) == set(STATES)
    assert all(DESCRIPTIONS[s].strip() for s in STATES)


# -- descriptions -----------------------------------------------------------------------------


@pytest.mark.skipif(not SEED.exists(), reason="the seed file lives outside the repository")
def test_seed_copy_matches_the_manual():
    text = SEED.read_text(encoding="utf-8")
    found = dict(re.findall(r"^- ([A-Z0-9-]+): (.*?)\s*$", text, re.M))
    assert found == SEED_FACTS


@pytest.mark.parametrize("state", STATES)
def test_description_carries_every_fact_of_the_manual(state):
    description = DESCRIPTIONS[state]
    for fact in FACTS[state]:
        patterns = fact if isinstance(fact, tuple) else (fact,)
        assert any(re.search(p, description, re.I | re.S) for p in patterns), (
            f"{state}: the description {description!r} lacks the fact {fact!r}"
        )


@pytest.mark.parametrize("state", STATES)
def test_description_is_one_to_three_sentences(state):
    description = DESCRIPTIONS[state]
    assert description == description.strip()
    assert description[0].isupper() and description.endswith(".")
    assert 1 <= len(sentences(description)) <= 3, sentences(description)


@pytest.mark.parametrize("state", STATES)
def test_description_is_in_our_own_words(state):
    ours = words(DESCRIPTIONS[state])
    for seed_state, fact in SEED_FACTS.items():
        for sentence in sentences(fact):
            theirs = words(sentence)
            shared = longest_shared_run(ours, theirs)
            assert shared != theirs, (
                f"{state} copies the manual's {seed_state} sentence {sentence!r}"
            )
            # Technical terms ("twice the maximum segment lifetime") may be shared; a longer
            # run of the manual's words would be copying.
            assert len(shared) < 8, f"{state} shares {' '.join(shared)!r} with the manual"


def test_descriptions_use_our_vocabulary():
    # The manual says "end-point"; tcpviz says "local end" and "remote end" throughout.
    for state, description in DESCRIPTIONS.items():
        assert "end-point" not in description, state


# -- aliases ----------------------------------------------------------------------------------

SPELLINGS = {
    # Linux kernel (enum tcp_state), with and without the TCP_ prefix
    "TCP_ESTABLISHED": "ESTABLISHED",
    "TCP_SYN_SENT": "SYN-SENT",
    "TCP_SYN_RECV": "SYN-RECEIVED",
    "TCP_FIN_WAIT1": "FIN-WAIT-1",
    "TCP_FIN_WAIT2": "FIN-WAIT-2",
    "TCP_TIME_WAIT": "TIME-WAIT",
    "TCP_CLOSE": "CLOSED",
    "TCP_CLOSE_WAIT": "CLOSE-WAIT",
    "TCP_LAST_ACK": "LAST-ACK",
    "TCP_LISTEN": "LISTEN",
    "TCP_CLOSING": "CLOSING",
    # ss
    "ESTAB": "ESTABLISHED",
    "SYN-RECV": "SYN-RECEIVED",
    "UNCONN": "CLOSED",
    "FIN-WAIT-1": "FIN-WAIT-1",
    # netstat (Linux) and psutil
    "SYN_RECV": "SYN-RECEIVED",
    "FIN_WAIT1": "FIN-WAIT-1",
    "FIN_WAIT2": "FIN-WAIT-2",
    "TIME_WAIT": "TIME-WAIT",
    "CLOSE_WAIT": "CLOSE-WAIT",
    "LAST_ACK": "LAST-ACK",
    "CLOSE": "CLOSED",
    "SYN_SENT": "SYN-SENT",
    # BSD / macOS netstat
    "SYN_RCVD": "SYN-RECEIVED",
    "SYN-RCVD": "SYN-RECEIVED",
    "FIN_WAIT_1": "FIN-WAIT-1",
    "FIN_WAIT_2": "FIN-WAIT-2",
    # Windows netstat
    "LISTENING": "LISTEN",
    "SYN_RECEIVED": "SYN-RECEIVED",
    # RFC 793 prose
    "SYN-RECEIVED": "SYN-RECEIVED",
}


@pytest.mark.parametrize(("spelling", "state"), sorted(SPELLINGS.items()))
def test_other_tools_spellings(spelling, state):
    assert canonical_state(spelling) == state
    assert canonical_state(spelling.lower()) == state
    assert canonical_state(spelling.title()) == state
    assert canonical_state(f"  {spelling} ") == state


@pytest.mark.parametrize(("box", "state"), sorted(rfc9293.FIGURE_BOX_NAMES.items()))
def test_figure_5_box_names(box, state):
    assert canonical_state(box) == state


@pytest.mark.parametrize("state", STATES)
def test_every_state_and_alias_maps_to_itself(state):
    assert canonical_state(state) == state
    for alias in ALIASES[state]:
        assert canonical_state(alias) == state


def test_no_two_states_share_a_spelling():
    owners: dict[str, set[str]] = {}
    for s in STATES:
        for name in (s, *ALIASES[s]):
            owners.setdefault(state_key(name), set()).add(s)
    shared = {key: states for key, states in owners.items() if len(states) > 1}
    assert not shared
    assert len(owners) > len(STATES)  # the aliases add spellings


@pytest.mark.parametrize("bad", ["", "ESTABLISH", "SYN", "open", "TCP_", "FIN-WAIT-3", "NONE"])
def test_unknown_state_lists_the_valid_names(bad):
    with pytest.raises(
        UnknownState, match=rf"unknown state: {re.escape(repr(bad))} \(must be one of \["
    ) as info:
        canonical_state(bad)
    for state in STATES:
        assert repr(state) in str(info.value)
    assert isinstance(info.value, TcpvizError) and isinstance(info.value, ValueError)


@pytest.mark.parametrize("bad", [None, 1, b"LISTEN", ("LISTEN",)])
def test_a_state_name_must_be_a_string(bad):
    with pytest.raises(UnknownState, match="must be a string"):
        canonical_state(bad)


def test_unknown_state_raises_from_none():
    with pytest.raises(UnknownState) as info:
        canonical_state("nope")
    assert info.value.__suppress_context__


@given(st.text(max_size=20))
def test_canonical_state_returns_a_state_or_raises_unknown_state(name):
    try:
        result = canonical_state(name)
    except UnknownState:
        return
    assert result in STATES
    assert canonical_state(result) == result


def test_proc_net_tcp_codes():
    # include/net/tcp_states.h: TCP_ESTABLISHED = 1 ... TCP_CLOSING = 11, printed as %02X.
    kernel_order = [
        "ESTABLISHED",
        "SYN_SENT",
        "SYN_RECV",
        "FIN_WAIT1",
        "FIN_WAIT2",
        "TIME_WAIT",
        "CLOSE",
        "CLOSE_WAIT",
        "LAST_ACK",
        "LISTEN",
        "CLOSING",
    ]
    expected = {f"{n:02X}": canonical_state(name) for n, name in enumerate(kernel_order, start=1)}
    assert expected == PROC_NET_TCP_CODES
    assert PROC_NET_TCP_CODES["0A"] == "LISTEN"
    assert set(PROC_NET_TCP_CODES.values()) == set(STATES)
