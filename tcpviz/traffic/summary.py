"""A one-word summary of each connection, in Zeek's vocabulary (``conn_state`` and ``history``).

Zeek keeps a coarse state per endpoint from what that endpoint *sent* (inactive, SYN sent,
SYN-ACK sent, partial, established, closed, reset) and names the connection from the pair:
``S0`` (an attempt, no reply), ``SF`` (normal setup and close), ``REJ`` (refused), ``RSTO``/
``RSTR`` (aborted by the originator/responder)... Network monitors print these, so students
meet them; tcpviz prints them beside its own per-endpoint RFC 9293 states as a cross-check.

The rules follow Zeek's ``TCPSessionAdapter::UpdateStateMachine`` and the ``conn_state``
function of ``scripts/base/protocols/conn/main.zeek`` (their meanings are in
:data:`CONN_STATES`); the ``history`` letters are Zeek's, upper case for the originator.
"""

from __future__ import annotations

from .decode import ACK, FIN, RST, SYN

__all__ = ["CONN_STATES", "ZeekSummary"]

#: Zeek's connection summaries and what each means (from Zeek's own documentation).
CONN_STATES: dict[str, str] = {
    "S0": "Connection attempt seen, no reply.",
    "S1": "Connection established, not terminated.",
    "SF": "Normal establishment and termination.",
    "REJ": "Connection attempt rejected.",
    "S2": "Connection established and close attempt by originator seen (but no reply from "
    "responder).",
    "S3": "Connection established and close attempt by responder seen (but no reply from "
    "originator).",
    "RSTO": "Connection established, originator aborted (sent a RST).",
    "RSTR": "Responder sent a RST.",
    "RSTOS0": "Originator sent a SYN followed by a RST, we never saw a SYN-ACK from the responder.",
    "RSTRH": "Responder sent a SYN ACK followed by a RST, we never saw a SYN from the "
    "(purported) originator.",
    "SH": "Originator sent a SYN followed by a FIN, we never saw a SYN ACK from the responder "
    '(hence the connection was "half" open).',
    "SHR": "Responder sent a SYN ACK followed by a FIN, we never saw a SYN from the originator.",
    "OTH": "No SYN seen, just midstream traffic (one example of this is a partial connection "
    "that was not later closed).",
}

INACTIVE, SYN_SENT, SYN_ACK_SENT, PARTIAL, ESTABLISHED, CLOSED, RESET = range(7)


class _Side:
    __slots__ = ("bytes", "did_close", "letters", "prev", "state")

    def __init__(self) -> None:
        self.state: int = INACTIVE
        self.prev: int = INACTIVE
        self.bytes: int = 0
        self.did_close: bool = False
        # Last sequence number recorded per letter, and counts for the logarithmic letters.
        self.letters: dict[str, int] = {}

    def set(self, state: int) -> None:
        self.prev, self.state = self.state, state


class ZeekSummary:
    """Zeek's endpoint states and history for one connection, fed segment by segment.

    >>> z = ZeekSummary()
    >>> z.add(True, SYN, 100, 0, 0)
    >>> z.add(False, RST | ACK, 0, 101, 0)
    >>> z.conn_state, z.history
    ('REJ', 'Sr')
    """

    __slots__ = ("history_letters", "orig", "resp")

    def __init__(self) -> None:
        self.orig: _Side = _Side()
        self.resp: _Side = _Side()
        self.history_letters: list[str] = []

    # -- history --------------------------------------------------------------------------

    def _letter(self, is_orig: bool, side: _Side, letter: str, seq: int | None) -> None:
        """Record ``letter``: once (seq ``None``), or again when its sequence number changed."""
        last = side.letters.get(letter)
        if seq is None:
            if last is not None:
                return
            side.letters[letter] = 0
        else:
            if last == seq:
                return
            side.letters[letter] = seq
        self.history_letters.append(letter.upper() if is_orig else letter)

    def _logarithmic(self, is_orig: bool, side: _Side, letter: str) -> None:
        # Zeek records t (retransmission) and w (zero window) at the 1st, 10th, 100th... time.
        key = letter + "#"
        count = side.letters.get(key, 0) + 1
        side.letters[key] = count
        if count in (1, 10, 100, 1000, 10000, 100000, 1000000):
            self.history_letters.append(letter.upper() if is_orig else letter)

    def retransmission(self, is_orig: bool) -> None:
        """Note a segment whose data was sent before (Zeek's ``t``)."""
        self._logarithmic(is_orig, self.orig if is_orig else self.resp, "t")

    # -- the state machine ----------------------------------------------------------------

    def add(
        self, is_orig: bool, flags: int, seq: int, ack: int, length: int, window: int = 1
    ) -> None:
        """Feed one segment sent by the originator (``is_orig``) or the responder."""
        endpoint, peer = (self.orig, self.resp) if is_orig else (self.resp, self.orig)
        if not flags & (SYN | FIN | RST):
            # Data and ACKs (most segments): a letter the first time, and no state change
            # except for an end not seen before.
            letters = endpoint.letters
            if length:
                if "d" not in letters:
                    self._letter(is_orig, endpoint, "d", None)
            elif flags & ACK and "a" not in letters:
                self._letter(is_orig, endpoint, "a", None)
            if window == 0:
                self._logarithmic(is_orig, endpoint, "w")
            endpoint.bytes += length
            if endpoint.state == INACTIVE:
                self._inactive(endpoint, peer, is_orig, flags, length)
            return
        syn, fin, rst, has_ack = flags & SYN, flags & FIN, flags & RST, flags & ACK
        if syn:
            self._letter(is_orig, endpoint, "h" if has_ack else "s", seq)
        if fin:
            self._letter(is_orig, endpoint, "f", seq)
        if rst:
            self._letter(is_orig, endpoint, "r", seq)
        if length:
            self._letter(is_orig, endpoint, "d", None)
        elif has_ack and not (syn or fin or rst):
            self._letter(is_orig, endpoint, "a", None)
        if (syn and (fin or rst)) or (fin and rst):
            self._letter(is_orig, endpoint, "q" if syn else "i", None)
        if window == 0 and not rst and not syn:
            self._logarithmic(is_orig, endpoint, "w")
        endpoint.bytes += length

        state = endpoint.state
        if state == INACTIVE:
            self._inactive(endpoint, peer, is_orig, flags, length)
        elif state in (SYN_SENT, SYN_ACK_SENT):
            if fin:
                endpoint.set(CLOSED)
                endpoint.did_close = True
            if rst:
                endpoint.set(RESET)
        elif state in (ESTABLISHED, PARTIAL):
            if syn and state == PARTIAL and peer.state == INACTIVE and not has_ack:
                endpoint.set(SYN_SENT)
            if fin and not rst:
                endpoint.set(CLOSED)
                endpoint.did_close = True
                if peer.state == RESET and peer.prev == CLOSED:
                    peer.set(CLOSED)  # the peer sent a FIN and then a RST: a normal close
            if rst:
                endpoint.set(RESET)
        elif state == CLOSED and rst and peer.state != CLOSED:
            endpoint.set(RESET)
        # RESET: nothing moves it any more.

    def _inactive(self, endpoint: _Side, peer: _Side, is_orig: bool, flags: int, length: int):
        if flags & SYN:
            if is_orig:
                endpoint.set(SYN_ACK_SENT if flags & ACK else SYN_SENT)
            else:
                if peer.state == SYN_SENT:
                    peer.set(ESTABLISHED)
                endpoint.set(ESTABLISHED)
        if flags & FIN:
            endpoint.set(CLOSED)
            endpoint.did_close = True
        if flags & RST:
            endpoint.set(RESET)
        if endpoint.state == INACTIVE:  # no control flag changed it
            if not is_orig and length == 0 and self.orig.state == SYN_SENT:
                pass  # an ACK of the SYN before the SYN-ACK: not a partial connection
            elif flags & ACK and peer.state == ESTABLISHED:
                endpoint.set(ESTABLISHED)  # the SYN was missed, the SYN-ACK and ACK seen
            else:
                endpoint.set(PARTIAL)

    # -- results --------------------------------------------------------------------------

    @property
    def history(self) -> str:
        """Zeek's history string: ``'ShADadFf'`` for a normal connection with data."""
        return "".join(self.history_letters)

    @property
    def conn_state(self) -> str:
        """Zeek's ``conn_state`` for the connection as seen so far (a key of CONN_STATES)."""
        os, rs = self.orig.state, self.resp.state
        o_inactive = os in (INACTIVE, PARTIAL)
        r_inactive = rs in (INACTIVE, PARTIAL)
        if rs == RESET:
            if os in (SYN_SENT, SYN_ACK_SENT) or (
                os == RESET and self.orig.bytes == 0 and self.resp.bytes == 0
            ):
                return "REJ"
            return "RSTRH" if o_inactive else "RSTR"
        if os == RESET:
            if r_inactive:
                history = self.history.lstrip("^")
                # Zeek's pattern ^?S[^HAFGIQ]*R.*: a SYN, then a RST with nothing in between.
                if history.startswith("S"):
                    before = history[1 : history.find("R")] if "R" in history else None
                    if before is not None and not set(before) & set("HAFGIQ"):
                        return "RSTOS0"
                return "OTH"
            return "RSTO"
        if rs == CLOSED and os == CLOSED:
            return "SF"
        if os == CLOSED:
            return "SH" if r_inactive else "S2"
        if rs == CLOSED:
            return "SHR" if o_inactive else "S3"
        if os == SYN_SENT and rs == INACTIVE:
            return "S0"
        if os == ESTABLISHED and rs == ESTABLISHED:
            return "S1"
        return "OTH"

    @property
    def closed(self) -> bool:
        """Both ends closed (a FIN each way) or one reset: a new SYN starts a new connection."""
        o, r = self.orig.state, self.resp.state
        return (o == CLOSED and r == CLOSED) or o == RESET or r == RESET
