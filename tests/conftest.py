"""Fixtures shared by every test module: the two built-in tables and a fresh machine.

Kept deliberately small; a fixture used by one module belongs in that module.
"""

from __future__ import annotations

import pytest

from tcpviz.machine import Machine
from tcpviz.table import Table, tcp_table


@pytest.fixture
def classic() -> Table:
    """RFC 9293 Figure 5 (plus its Note 2 arrow)."""
    return tcp_table()


@pytest.fixture
def extended() -> Table:
    """Figure 5 plus what section 3.10 adds (RST, ABORT, user timeout)."""
    return tcp_table(extended=True)


@pytest.fixture(params=[False, True], ids=["classic", "extended"])
def any_table(request: pytest.FixtureRequest) -> Table:
    """Each built-in table in turn."""
    return tcp_table(extended=request.param)


@pytest.fixture
def machine() -> Machine:
    """A fresh machine on the classic table, in CLOSED."""
    return Machine()
