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


# --- tenders published, and the recipients every sealed bid of a tender must have -----------------------

TenderObserver = Callable[[Any, Any], None]
"""Takes the ``procedures.Tender`` just published and the ``now`` of the publication."""
RecipientsProvider = Callable[[Any], dict[str, bytes]]
"""Takes a ``procedures.Tender``; returns required envelope recipients as name → certificate DER."""

_tender_published: list[TenderObserver] = []
_sealing_recipients: list[RecipientsProvider] = []


def register_tender_published(observer: TenderObserver) -> None:
    """Call ``observer(tender, now)`` in the transaction that publishes a tender (the opening app makes the
    tender's escrow opening key there)."""
    if observer not in _tender_published:
        _tender_published.append(observer)


def tender_published(tender: Any, now: Any) -> None:
    for observer in tuple(_tender_published):
        observer(tender, now)


def register_sealing_recipients(provider: RecipientsProvider) -> None:
    """Add the recipients a tender's envelopes need besides the bidder (the escrow opening certificate)."""
    if provider not in _sealing_recipients:
        _sealing_recipients.append(provider)


def sealing_recipients(tender: Any) -> dict[str, bytes]:
    required: dict[str, bytes] = {}
    for provider in tuple(_sealing_recipients):
        required |= provider(tender)
    return required
