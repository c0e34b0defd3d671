"""Observers of events that cross the layers upwards, without Django signals.

A lower app announces an event by calling a function here; a higher app, which the lower one may not import,
registers its observer once, in its ``AppConfig.ready()``. The call is explicit at the place where the event
happens, so reading the announcing code shows that something else runs, and where to look.

* ``notice_published(notice)``: procedures calls it in the transaction that publishes a notice (after
  ``published_at`` is saved); the portal registers its search indexer. An observer runs inside that
  transaction, so what it writes commits or rolls back with the publication, and an observer that raises
  rolls the publication back: observers must be quick, write only to the database and never fail for
  reasons of their own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

NoticeObserver = Callable[[Any], None]
"""Takes the ``procedures.Notice`` just published (``Any``: core may not import procedures)."""

_notice_published: list[NoticeObserver] = []


def register_notice_published(observer: NoticeObserver) -> None:
    """Call ``observer(notice)`` whenever a notice is published. Registering the same function twice (a
    second ``ready()`` in tests) keeps one registration."""
    if observer not in _notice_published:
        _notice_published.append(observer)


def notice_published(notice: Any) -> None:
    """Announce that ``notice`` has just been published, in the transaction that published it."""
    for observer in tuple(_notice_published):
        observer(notice)
