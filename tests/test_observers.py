"""tcpviz._observers: the one list of views that Machine and Connection both tell of changes."""

from __future__ import annotations

import warnings

import pytest

from tcpviz import Machine
from tcpviz._observers import Observers


def test_observers_hear_in_order_and_unsubscribe_twice_is_harmless() -> None:
    heard: list[tuple[str, object, int]] = []
    observers: Observers[str, int] = Observers()
    first = observers.subscribe(lambda s, c: heard.append(("first", s, c)))
    observers.subscribe(lambda s, c: heard.append(("second", s, c)))
    observers.notify("model", 1)
    first()
    first()
    observers.notify("model", 2)
    assert heard == [("first", "model", 1), ("second", "model", 1), ("second", "model", 2)]
    assert len(observers) == 1


def test_a_broken_observer_is_a_warning_naming_the_caller_and_the_others_still_hear() -> None:
    machine = Machine()
    heard: list[str] = []

    def broken(_machine: Machine, _change: object) -> None:
        raise ZeroDivisionError("a closed tab")

    machine.subscribe(broken)
    machine.subscribe(lambda _m, change: heard.append(change.action))
    with pytest.warns(RuntimeWarning, match="failed on fire: ZeroDivisionError") as caught:
        machine.fire("passive open")
    assert heard == ["fire"]
    assert caught[0].filename == __file__  # points at the line that fired, not at tcpviz


def test_held_tells_nobody_and_keeps_who_subscribed_inside() -> None:
    heard: list[int] = []
    observers: Observers[None, int] = Observers()
    observers.subscribe(lambda _s, c: heard.append(c))
    with observers.held():
        observers.notify(None, 1)
        observers.subscribe(lambda _s, c: heard.append(10 * c))
    observers.notify(None, 2)
    assert heard == [2, 20]
    with pytest.raises(KeyError), observers.held():
        raise KeyError("an interrupted run")
    assert len(observers) == 2  # restored after an error too
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        observers.notify(None, 3)
