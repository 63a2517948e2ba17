"""The views that follow a model (a Machine, a Connection), told of every change it makes.

One list of callbacks with the two rules every model here needs: a broken view (a closed
browser tab, a buggy callback) never breaks the model, since the change has happened, so every
observer still hears of it and errors become warnings; and an all-or-nothing run is heard once,
at its end, not step by step.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

__all__ = ["Observers"]

S = TypeVar("S")
C = TypeVar("C")


class Observers(Generic[S, C]):
    """Callbacks ``observer(subject, change)``, in the order they subscribed."""

    def __init__(self) -> None:
        self._callbacks: list[Callable[[S, C], Any]] = []

    def __len__(self) -> int:
        return len(self._callbacks)

    def subscribe(self, observer: Callable[[S, C], Any]) -> Callable[[], None]:
        """Add ``observer``; returns a function that removes it again (twice is harmless)."""
        self._callbacks.append(observer)

        def unsubscribe() -> None:
            if observer in self._callbacks:
                self._callbacks.remove(observer)

        return unsubscribe

    def notify(self, subject: S, change: C, *, stacklevel: int = 3) -> None:
        """Tell every observer; one that raises becomes a warning (``stacklevel`` as for
        :func:`warnings.warn`, counted from here: 3 names the caller of the model's method)."""
        for observer in list(self._callbacks):
            try:
                observer(subject, change)
            except Exception as error:
                warnings.warn(
                    f"tcpviz observer {observer!r} failed on "
                    f"{getattr(change, 'action', change)}: {error!r}",
                    RuntimeWarning,
                    stacklevel=stacklevel,
                )

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """Nobody hears of what happens inside (a run tells its observers once, after)."""
        callbacks, self._callbacks = self._callbacks, []
        try:
            yield
        finally:
            # Observers that subscribed during the run (a view built in a callback) are kept too.
            self._callbacks = callbacks + self._callbacks
