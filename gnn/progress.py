"""Per-epoch progress of a training run, for whoever is watching (the CLI's status line).

Models report each epoch to the reporter set for the current context, if any; nothing is printed
otherwise, so library use and logs stay quiet::

    >>> from gnn.progress import reporting
    >>> with reporting(lambda e: print(e.line())):
    ...     scorer.fit(data, train_mask, val_mask)

A context variable rather than a ``fit`` argument: every registered model keeps the one ``fit``
signature of :class:`gnn.scorers.Scorer`, and a model that does not report still trains.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class Epoch:
    """One finished epoch.

    Attributes:
        epoch: 1-based epoch number.
        epochs: the configured maximum.
        loss: training loss.
        val_ap: validation average precision (None without a validation set).
        best_ap: the best validation AP so far, at ``best_epoch``.
        best_epoch: the epoch whose weights are kept so far.
        seconds: time since training started.
        left: epochs that may still run: to the maximum, or until early stopping's patience runs out,
            whichever comes first.
    """

    epoch: int
    epochs: int
    loss: float
    val_ap: float | None
    best_ap: float | None
    best_epoch: int
    seconds: float
    left: int

    def seconds_left(self) -> float:
        """At most this long to go, at the mean pace so far."""
        return self.left * self.seconds / max(self.epoch, 1)

    def line(self) -> str:
        """``epoch 12/200  loss 0.412  val AP 0.622 (best 0.640 @ 9)  at most 35 s left``."""
        parts = [f"epoch {self.epoch}/{self.epochs}", f"loss {self.loss:.3f}"]
        if self.val_ap is not None:
            best = f" (best {self.best_ap:.3f} @ {self.best_epoch})" if self.best_ap is not None else ""
            parts.append(f"val AP {self.val_ap:.3f}{best}")
        parts.append(f"at most {self.seconds_left():.0f} s left")
        return "  ".join(parts)


_REPORTER: contextvars.ContextVar[Callable[[Epoch], None] | None] = contextvars.ContextVar(
    "ringscope_epoch_reporter", default=None
)


@contextmanager
def reporting(reporter: Callable[[Epoch], None]) -> Iterator[None]:
    """Sends every epoch trained inside the block to ``reporter``."""
    token = _REPORTER.set(reporter)
    try:
        yield
    finally:
        _REPORTER.reset(token)


def report(epoch: Epoch) -> None:
    """Called by models after each epoch; does nothing when nobody is watching."""
    reporter = _REPORTER.get()
    if reporter is not None:
        reporter(epoch)
