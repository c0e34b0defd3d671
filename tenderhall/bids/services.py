"""Bid writes: submit, replace and withdraw sealed envelopes until the deadline.

A submission is checked before any byte of its envelope is read (the bidder, its certificates, the bond, the
deadline); the envelope then streams to storage with its SHA-256 in the same pass and is checked
(tenderhall.bids.uploads); the recipients are matched and the RFC 3161 token made. Only then are the rows
written, together with those of the bids that arrived meanwhile (``_GroupCommit``), under the tender's row
lock — the lock the scheduler closes bidding with — held for those statements alone: a bid either commits
before the close or is refused after it, to the microsecond, by the clock read when its upload had arrived.
A failure removes the stored file; a crash between the file and the row leaves an orphan file that no row
names, which `tenderhall bids sweep` removes — no partial bid is ever visible. The ledger names a bid only by
its random token, so the public log does not tell who bid.
"""

from __future__ import annotations

import contextlib
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import Case, Value, When
from django.utils.translation import gettext

from tenderhall.accounts.choices import CertificateStatus, CertificateUsage, Role
from tenderhall.accounts.models import Certificate, RoleGrant, User
from tenderhall.accounts.tsa_keys import receipt_signer_load_or_create, tsa_signer_load_or_create
from tenderhall.bids.choices import BidStatus
from tenderhall.bids.envelope import envelope_require_recipients
from tenderhall.bids.models import Bid
from tenderhall.bids.uploads import MAX_ENVELOPE_BYTES, EnvelopeBody, ReceivedEnvelope, envelope_received
from tenderhall.core.audit import AuditContext, AuditRecord, audit_record, audit_record_batch, current_context
from tenderhall.core.errors import Conflict, DomainError, InvalidInput, NotFound, PermissionDenied
from tenderhall.core.hooks import sealing_recipients
from tenderhall.core.receipts import receipt_build, receipt_sign
from tenderhall.core.tsa import tsa_serial_new, tsa_timestamp
from tenderhall.ledger.services import LedgerEvent, ledger_append, ledger_append_batch
from tenderhall.procedures.choices import TenderStatus
from tenderhall.procedures.models import Lot, Tender
from tenderhall.registry.choices import EntityStatus

BOND_MAX_SHARE = Decimal("0.02")


class BiddingClosed(Conflict):
    code = "bidding_closed"


class BidderNotReady(DomainError):
    code = "bidder_not_ready"
    status = 422


def _bidder_entity_check(actor: User, entity_id: int, now: datetime) -> tuple[str, dict[str, bytes]]:
    """The actor acts for an approved entity as bidder: the entity's identifier (USCC), and its current
    certificates by usage (the latest accepted of each)."""
    identifier = (
        RoleGrant.objects.filter(
            user=actor, role=Role.BIDDER, entity_id=entity_id, entity__status=EntityStatus.APPROVED
        )
        .values_list("entity__identifier", flat=True)
        .first()
    )
    if identifier is None:
        raise PermissionDenied(
            gettext("Only people acting as bidder for an approved entity submit its bids.")
        )
    current = Certificate.objects.filter(
        entity_id=entity_id,
        usage__in=(CertificateUsage.SIGNING, CertificateUsage.ENCRYPTION),
        status=CertificateStatus.ACCEPTED,
        not_before__lte=now,
        not_after__gt=now,
    ).order_by("-accepted_at")
    certificates: dict[str, bytes] = {}
    for usage, der in current.values_list("usage", "der"):
        certificates.setdefault(usage, bytes(der))
    for usage in (CertificateUsage.SIGNING, CertificateUsage.ENCRYPTION):
        if usage not in certificates:
            raise BidderNotReady(
                gettext("The entity has no current %(usage)s certificate: upload one before bidding.")
                % {"usage": usage},
                details={"missing": usage},
            )
    return identifier, certificates


def _open_for_bids(tender: Tender, now: datetime) -> None:
    if tender.status != TenderStatus.BIDDING or tender.bid_deadline is None or now >= tender.bid_deadline:
        raise BiddingClosed(
            gettext(
                "Bids for this tender are not accepted now: the tender is %(status)s, deadline %(deadline)s."
            )
            % {
                "status": tender.status,
                "deadline": tender.bid_deadline.isoformat() if tender.bid_deadline else "—",
            },
            details={"deadline": tender.bid_deadline.isoformat() if tender.bid_deadline else None},
        )


def _bond_problems(lot: Lot, amount: Decimal, payer_account: str, guarantee_reference: str) -> dict[str, str]:
    problems: dict[str, str] = {}
    if amount < lot.bid_bond:
        problems["bond_amount"] = gettext("The tender asks a bid bond of %(required)s yuan for this lot.") % {
            "required": lot.bid_bond
        }
    elif amount > lot.estimate * BOND_MAX_SHARE:
        problems["bond_amount"] = gettext(
            "A bid bond is at most 2%% of the estimate, here %(maximum)s yuan."
        ) % {"maximum": (lot.estimate * BOND_MAX_SHARE).quantize(Decimal("0.01"))}
    if not payer_account.strip() and not guarantee_reference.strip():
        problems["bond_payer_account"] = gettext(
            "Give the bank account the bond is paid from, or the reference of an electronic guarantee."
        )
    if amount.as_tuple().exponent < -2:  # type: ignore[operator]  # finite: the schema takes numbers only
        problems["bond_amount"] = gettext("Give the bid bond in yuan with at most two decimals.")
    for name, value in (
        ("bond_payer_account", payer_account),
        ("bond_guarantee_reference", guarantee_reference),
    ):
        longest = getattr(Bid._meta.get_field(name), "max_length", None)
        if longest is not None and len(value.strip()) > longest:
            problems[name] = gettext("At most %(n)s characters.") % {"n": longest}
    return problems


@dataclass(frozen=True)
class _Submission:
    """What was checked before the envelope was read."""

    actor: User
    lot: Lot  # with its tender
    entity_id: int
    entity_identifier: str  # the USCC, named in the receipt
    recipients: dict[str, bytes]  # name -> DER certificate the envelope must be sealed to
    bond_amount: Decimal
    bond_payer_account: str
    bond_guarantee_reference: str


def bid_submit(
    *,
    actor: User,
    lot_id: int,
    entity_id: int,
    envelope: EnvelopeBody,
    bond_amount: Decimal,
    now: datetime,
    bond_payer_account: str = "",
    bond_guarantee_reference: str = "",
    max_size: int = MAX_ENVELOPE_BYTES,
) -> Bid:
    """Submit (or replace) the entity's sealed envelope for a lot, before the deadline. ``now`` is the
    moment the whole upload had arrived (``uploads.body_arrived``)."""
    submission = _submission_check(
        actor=actor,
        lot_id=lot_id,
        entity_id=entity_id,
        bond_amount=bond_amount,
        bond_payer_account=bond_payer_account,
        bond_guarantee_reference=bond_guarantee_reference,
        now=now,
    )
    with envelope_received(envelope, max_size=max_size) as received:
        envelope_require_recipients(received.info, certificates=submission.recipients)
        pending = _Pending(
            submission=submission,
            envelope=received,
            now=now,
            # made before any lock: an RFC 3161 token over the envelope's SHA-256 (openssl ts -verify)
            timestamp_token=tsa_timestamp(
                digest=bytes.fromhex(received.sha256),
                now=now,
                serial=tsa_serial_new(),
                signer=tsa_signer_load_or_create(now=now),
            ),
            context=current_context(),
        )
        if transaction.get_connection().in_atomic_block:
            _commit([pending])  # inside the caller's transaction, which decides for it
        else:
            _COMMITS.commit(pending)
        if pending.error is not None:
            raise pending.error
        assert pending.bid is not None  # set with error None
        return pending.bid


def _submission_check(
    *,
    actor: User,
    lot_id: int,
    entity_id: int,
    bond_amount: Decimal,
    bond_payer_account: str,
    bond_guarantee_reference: str,
    now: datetime,
) -> _Submission:
    lot = (
        Lot.objects.select_related("tender")
        .only("code", "estimate", "bid_bond", "tender__code", "tender__status", "tender__bid_deadline")
        .filter(pk=lot_id)
        .first()
    )
    if lot is None or lot.tender.status == TenderStatus.DRAFT:
        raise NotFound(gettext("No such lot."))
    identifier, certificates = _bidder_entity_check(actor, entity_id, now)
    _open_for_bids(lot.tender, now)
    problems = _bond_problems(lot, bond_amount, bond_payer_account, bond_guarantee_reference)
    if problems:
        raise InvalidInput(next(iter(problems.values())), details={"fields": problems})
    return _Submission(
        actor=actor,
        lot=lot,
        entity_id=entity_id,
        entity_identifier=identifier,
        recipients={"bidder": certificates[CertificateUsage.ENCRYPTION], **sealing_recipients(lot.tender)},
        bond_amount=bond_amount,
        bond_payer_account=bond_payer_account.strip(),
        bond_guarantee_reference=bond_guarantee_reference.strip(),
    )


@dataclass
class _Pending:
    """An accepted envelope on its way to its rows, and what became of it."""

    submission: _Submission
    envelope: ReceivedEnvelope
    now: datetime  # when the upload had arrived
    timestamp_token: bytes
    context: AuditContext  # of the request that sent it: the audit entry is written in another thread
    bid: Bid | None = None
    error: BaseException | None = None
    woken: threading.Event = field(default_factory=threading.Event)


class _GroupCommit:
    """Bids of one process commit together: whoever finds no commit running writes every bid waiting, in one
    transaction, then hands the lead to the first that arrived meanwhile.

    Each bid needs the tender's row lock and the ledger's head (which serialises all appends anyway). One
    transaction per bid made a rush of uploads a queue of commits, each waiting for the interpreter lock
    between its statements while the other uploads computed; on SQLite the waiters also polled the
    database lock on their own, every 100 ms, and went through in clumps. A batch takes the locks once and
    appends its leaves in one insert (docs/performance.md).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: list[_Pending] = []
        self._leading = False

    def commit(self, pending: _Pending) -> None:
        with self._lock:
            self._waiting.append(pending)
            lead, self._leading = not self._leading, True
        if not lead:
            pending.woken.wait()  # committed (or refused), or handed the lead
        if pending.bid is None and pending.error is None:
            self._lead()

    def _lead(self) -> None:
        with self._lock:
            batch, self._waiting = self._waiting, []
        try:
            _commit_batch(batch)
        finally:
            with self._lock:
                successor = self._waiting[0] if self._waiting else None
                self._leading = successor is not None
            for pending in batch:
                pending.woken.set()
            if successor is not None:
                successor.woken.set()


_COMMITS = _GroupCommit()


def _commit_batch(batch: list[_Pending]) -> None:
    """``_commit`` of the batch; if its transaction fails as a whole (a bid's ledger leaf or audit entry
    could not be written, say), each bid is tried again alone, so that one bid's failure is its own. Raises
    only for a batch of one, the error that is also on its pending."""
    try:
        _commit(batch)
    except Exception:
        if len(batch) == 1:
            raise
        for pending in batch:
            pending.error = None
            with contextlib.suppress(Exception):  # the error is on the pending, raised in its own request
                _commit([pending])


def _commit(batch: list[_Pending]) -> None:
    """The rows of each accepted envelope, under the locks of their tenders (taken in one order): a bid that
    arrived after its tender closed is refused alone (its error on its pending, raised in its own request),
    the others are written together — a fixed number of statements however many bids (``_bids_write``), one
    ledger insert, one audit insert. Results go on the pendings: a bid, or the error to raise. A statement
    that fails fails the whole transaction; ``_commit_batch`` then tries each bid alone."""
    try:
        with transaction.atomic():
            tender_ids = sorted({pending.submission.lot.tender_id for pending in batch})
            tenders = {
                tender.pk: tender
                for tender in Tender.objects.select_for_update()
                .only("status", "bid_deadline")
                .filter(pk__in=tender_ids)
                .order_by("pk")
            }
            on_time = []
            for pending in batch:
                try:
                    _open_for_bids(tenders[pending.submission.lot.tender_id], pending.now)
                except BiddingClosed as error:
                    pending.bid, pending.error = None, error
                else:
                    on_time.append(pending)
            for wave in _waves(on_time):
                _bids_write(wave)
            if on_time:
                ledger_append_batch(events=[_ledger_event(pending) for pending in on_time])
                _audit(on_time)
    except BaseException as error:  # nothing of the batch was committed
        for pending in batch:
            pending.bid, pending.error = None, error
        raise


def _waves(batch: list[_Pending]) -> list[list[_Pending]]:
    """The batch in waves in which each lot and entity appears once, in order of arrival: a bidder's second
    upload in one batch replaces its first, so it is written after it."""
    waves: list[list[_Pending]] = []
    seen: dict[tuple[int, int], int] = {}
    for pending in batch:
        key = (pending.submission.lot.pk, pending.submission.entity_id)
        seen[key] = seen.get(key, -1) + 1
        if seen[key] == len(waves):
            waves.append([])
        waves[seen[key]].append(pending)
    return waves


def _bids_write(wave: list[_Pending]) -> None:
    """The bids of a wave (one per lot and entity), each replacing the entity's active bid for the lot if
    there is one: one read of those, one update of those replaced, one insert."""
    previous = {
        (bid.lot_id, bid.entity_id): bid
        for bid in Bid.objects.select_for_update()
        .only("token", "lot_id", "entity_id")
        .filter(
            lot_id__in={pending.submission.lot.pk for pending in wave},
            entity_id__in={pending.submission.entity_id for pending in wave},
            status=BidStatus.SUBMITTED,
        )
    }
    bids, ended = [], {}
    for pending in wave:
        submission, envelope, now = pending.submission, pending.envelope, pending.now
        replaced = previous.get((submission.lot.pk, submission.entity_id))
        if replaced is not None:
            ended[replaced.pk] = now
        token = uuid.uuid4()
        bids.append(
            Bid(
                token=token,
                lot=submission.lot,
                entity_id=submission.entity_id,
                submitted_by=submission.actor,
                envelope=envelope.name,
                size=envelope.size,
                sha256=envelope.sha256,
                content_encryption=envelope.info.content_encryption,
                submitted_at=now,
                replaces=replaced,
                bond_amount=submission.bond_amount,
                bond_payer_account=submission.bond_payer_account,
                bond_guarantee_reference=submission.bond_guarantee_reference,
                receipt=_receipt(
                    token, submission, envelope, now, replaces=replaced.token if replaced else None
                ),
                timestamp_token=pending.timestamp_token,
            )
        )
    if ended:  # each ends when its replacement arrived
        Bid.objects.filter(pk__in=ended).update(
            status=BidStatus.SUPERSEDED,
            ended_at=Case(*(When(pk=pk, then=Value(at)) for pk, at in ended.items())),
        )
    for pending, bid in zip(wave, Bid.objects.bulk_create(bids), strict=True):
        assert bid.pk is not None  # PostgreSQL and SQLite from 3.35 return the keys of a bulk insert
        pending.bid = bid


def _event_type(bid: Bid) -> str:
    return "bids:bid:replaced" if bid.replaces is not None else "bids:bid:submitted"


def _ledger_event(pending: _Pending) -> LedgerEvent:
    bid = pending.bid
    assert bid is not None  # written
    replaces = {"replaces": str(bid.replaces.token)} if bid.replaces is not None else {}
    return LedgerEvent(
        event_type=_event_type(bid),
        subjects={"bid": str(bid.token), **replaces},
        hashes={"envelope": f"sha256:{bid.sha256}"},
        actor=None,
        at=pending.now,
    )


def _audit(written: list[_Pending]) -> None:
    records = []
    for pending in written:
        bid = pending.bid
        assert bid is not None  # written
        records.append(
            AuditRecord(
                actor=pending.submission.actor,
                action=_event_type(bid),
                subject_type="bid",
                subject_id=bid.pk,
                at=pending.now,
                changes={"lot": [None, bid.lot.code], "sha256": [None, bid.sha256], "size": [None, bid.size]},
                context=pending.context,
            )
        )
    audit_record_batch(records)


def _receipt(
    token: uuid.UUID,
    submission: _Submission,
    envelope: ReceivedEnvelope,
    now: datetime,
    *,
    replaces: uuid.UUID | None,
) -> dict[str, object]:
    """The platform-signed receipt of a bid (docs/receipts.md); the ledger inclusion proof is fetched once
    the leaf is integrated, and the RFC 3161 token is kept beside it."""
    fields = {
        "kind": "bid",
        "bid": str(token),
        "tender": submission.lot.tender.code,
        "lot": submission.lot.code,
        "bidder": submission.entity_identifier,
        "envelope_sha256": envelope.sha256,
        "envelope_size": envelope.size,
        "submitted_at": now.isoformat(timespec="microseconds"),
        "replaces": str(replaces) if replaces is not None else None,
    }
    signer = receipt_signer_load_or_create()
    return receipt_sign(receipt_build(fields=fields), key=signer.private_key, key_id=signer.key_id)


def bid_withdraw(*, actor: User, bid: Bid, now: datetime) -> Bid:
    """Withdraw a bid (from ``selectors.access_bid_for_bidder``) before the deadline; the envelope is kept,
    marked withdrawn."""
    with transaction.atomic():
        tender = Tender.objects.select_for_update().only("status", "bid_deadline").get(pk=bid.lot.tender_id)
        bid = Bid.objects.select_for_update(of=("self",)).select_related("lot", "replaces").get(pk=bid.pk)
        _open_for_bids(tender, now)
        if bid.status != BidStatus.SUBMITTED:
            raise Conflict(gettext("This bid is already %(status)s.") % {"status": bid.status})
        bid.status, bid.ended_at = BidStatus.WITHDRAWN, now
        bid.save(update_fields=["status", "ended_at"])
        ledger_append(
            event_type="bids:bid:withdrawn", subjects={"bid": str(bid.token)}, hashes={}, actor=None, at=now
        )
        audit_record(
            actor=actor,
            action="bids:bid:withdrawn",
            subject_type="bid",
            subject_id=bid.pk,
            at=now,
            changes={"status": [BidStatus.SUBMITTED, BidStatus.WITHDRAWN]},
        )
    return bid
