"""Fixtures shared by every test module: the two built-in tables and a fresh machine.

Kept deliberately small; a fixture used by one module belongs in that module.
"""

from __future__ import annotations

import os
import shutil

import pytest

from tcpviz.model.machine import Machine
from tcpviz.model.table import Table, tcp_table


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


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Tests marked ``exe`` need Graphviz's ``dot``: skip without it, except under CI (``CI``
    set), where the set-up installs it and a missing ``dot`` is a failure."""
    if item.get_closest_marker("exe") is None or shutil.which("dot"):
        return
    reason = "Graphviz's dot is not installed (apt-get install graphviz)"
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; the CI set-up installs it", pytrace=False)
    pytest.skip(reason)
