"""The opening (开标): started by the scheduler at the bid deadline, then the decryption window in which each
bidder hands over its bid's content key, the outcomes, the escrow opening for bids that failed through no
fault of their bidder, and the signed opening record. docs/opening.md tells the whole story.

Nothing here holds a bid's plaintext or key before the bidder (or k opening officials) chooses to give it.
Every step that changes an outcome is a ledger leaf in the transaction that makes the change.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext

from tenderhall.accounts.certificates import CertificateRejected, validate_certificate
from tenderhall.accounts.choices import CertificateUsage
from tenderhall.accounts.models import Certificate, User
from tenderhall.accounts.trust import trust_roots_from_settings
from tenderhall.accounts.tsa_keys import receipt_signer_load_or_create
from tenderhall.bids.choices import BidStatus
from tenderhall.bids.envelope import (
    EnvelopeRefused,
    Recipient,
    content_key_unwrap,
    envelope_inspect,
    recipient_for,
)
from tenderhall.bids.models import Bid
from tenderhall.bids.selectors import active_bid_counts
from tenderhall.core.audit import audit_record
from tenderhall.core.errors import Conflict, DomainError, InvalidInput, NotFound
from tenderhall.core.hashing import canonical_json, sha256_hex
from tenderhall.core.receipts import receipt_build, receipt_sign
from tenderhall.ledger.services import ledger_append
from tenderhall.opening.escrow import escrow_key_rebuild, escrow_share_verify
from tenderhall.opening.models import (
    EscrowKey,
    OpenedBid,
    OpenedVia,
    OpeningLot,
    OpeningSession,
    Outcome,
    SealedShare,
    SessionStatus,
    SubmittedShare,
)
from tenderhall.opening.selectors import (
    access_opened_bid_for_bidder,
    access_opened_bid_for_manager,
    access_session_for_manager,
    session_bids,
)
from tenderhall.opening.unseal import BidUnsealRefused, Reason, UnsealedBid, bid_unseal
from tenderhall.procedures.choices import NoticeKind, TenderStatus
from tenderhall.procedures.models import Tender
from tenderhall.procedures.notices import notice_create
from tenderhall.procedures.rules import procedure_rules
from tenderhall.procedures.scheduler import notice_publish
from tenderhall.procedures.workflow import TenderEvent

ACTOR = "system:opening"
ALTERED = "stored_envelope_altered"  # the platform's fault: the stored envelope no longer hashes as received
MAX_ATTEMPTS = 10  # wrong content keys a bidder may send for one bid before it must wait for the window's end
RECORD_SCALAR_MAX = 200  # longer bid.json strings are left out of the record (documents belong in files)
# A failure the bidder can retry: the key may be wrong. Any other refusal comes from a correct key and is
# final — the bid itself is bad (unsigned, signature broken, signer not the bidder's).
_RETRYABLE = frozenset({Reason.DECRYPTION_FAILED})


class OpeningWindowClosed(Conflict):
    code = "opening_window_closed"


class BidAlreadyDecided(Conflict):
    code = "bid_already_decided"


class AttemptsExhausted(Conflict):
    code = "decryption_attempts_exhausted"


class OpeningNotReady(Conflict):
    code = "opening_not_ready"


class ShareAlreadySubmitted(Conflict):
    code = "share_already_submitted"


class SignerRejected(DomainError):
    """The bid's signer certificate: not trusted, not valid when the bid came in, or not the bidder's."""

    code = "bid_signer_rejected"
    status = 422


# --- start: hooked into the scheduler's start_opening -----------------------------------------------------


def opening_start_on_transition(tender: Any, event: str, now: datetime) -> None:
    """At the deadline (the scheduler's start_opening): the session, its lots and bids, the bidder list."""
    if event == TenderEvent.START_OPENING:
        opening_start(tender, now=now)


def opening_start(tender: Tender, *, now: datetime) -> OpeningSession:
    """Open the tender's session (once): lots with fewer bids than the procedure's minimum fail (流标), the
    other lots' active bids wait for decryption until ``now`` + the tender's decryption window."""
    existing = OpeningSession.objects.filter(tender=tender).first()
    if existing is not None:
        return existing
    rules = procedure_rules(tender.procedure_type)
    escrow = EscrowKey.objects.filter(tender=tender).first()
    session = OpeningSession.objects.create(
        tender=tender,
        started_at=now,
        decryption_until=now + timedelta(minutes=tender.decryption_minutes),
        escrow_allowed=rules.escrow_opening_allowed and escrow is not None,
    )
    counts = active_bid_counts(tender.pk)
    lots = []
    for lot in tender.lots.order_by("code"):
        failed = counts[lot.pk] < rules.minimum_bids
        OpeningLot.objects.create(session=session, lot=lot, bid_count=counts[lot.pk], failed=failed)
        bids = [] if failed else list(_active_bids(lot.pk))
        OpenedBid.objects.bulk_create(OpenedBid(session=session, bid=bid) for bid in bids)
        lots.append(
            {
                "lot": lot.code,
                "failed": failed,
                "bids": [{"bid": str(bid.token), "envelope": f"sha256:{bid.sha256}"} for bid in bids],
            }
        )
    ledger_append(
        event_type="opening:session:started",
        subjects={"tender": str(tender.pk)},
        hashes={},
        actor=ACTOR,
        at=now,
        data=started_data(session, lots),
    )
    audit_record(
        actor=None,
        action="opening:session:started",
        subject_type="tender",
        subject_id=tender.pk,
        at=now,
        changes={"decryption_until": [None, session.decryption_until.isoformat()]},
    )
    return session


def _active_bids(lot_id: int) -> Iterable[Bid]:
    return Bid.objects.filter(lot_id=lot_id, status=BidStatus.SUBMITTED).order_by("submitted_at", "pk")


def started_data(session: OpeningSession, lots: list[dict[str, Any]]) -> dict[str, Any]:
    """The data of the ``opening:session:started`` leaf (also what ``ledger verify`` recomputes)."""
    return {
        "code": session.tender.code,
        "decryption_until": session.decryption_until.isoformat(),
        "escrow": session.escrow_allowed,
        "lots": lots,
    }


# --- the bidder's key ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WrappedKey:
    """What a bidder unwraps on its own machine: its recipient's encryptedKey and how it was wrapped."""

    bid: Bid
    recipient: Recipient
    content_encryption: str


def wrapped_key_for_bidder(*, actor: User, bid_id: int) -> WrappedKey:
    """The encryptedKey of the bidder's own recipient in its bid (the one for the entity's encryption
    certificate); ``openssl pkeyutl -decrypt`` or ``tenderhall bid unwrap-key`` turns it into the key."""
    opened = access_opened_bid_for_bidder(actor=actor, bid_id=bid_id)
    bid = opened.bid
    info = envelope_inspect(_stored_envelope(bid))
    for certificate in Certificate.objects.filter(
        entity_id=bid.entity_id, usage=CertificateUsage.ENCRYPTION
    ).order_by("-accepted_at"):
        try:
            recipient = recipient_for(info, bytes(certificate.der))
        except EnvelopeRefused:
            continue
        return WrappedKey(bid=bid, recipient=recipient, content_encryption=info.content_encryption)
    raise NotFound(gettext("None of the entity's encryption certificates is a recipient of this bid."))


def content_key_submit(*, actor: User, bid_id: int, content_key: bytes, now: datetime) -> OpenedBid:
    """The bidder hands over its bid's content key in the decryption window: the platform decrypts, checks the
    signature and the signer, reads bid.json and records the outcome. A wrong key may be retried (up to
    ``MAX_ATTEMPTS``); a correct key that reveals a bad bid ends it as the bidder's fault."""
    opened = access_opened_bid_for_bidder(actor=actor, bid_id=bid_id)
    _require_pending(opened, now)
    if opened.attempts >= MAX_ATTEMPTS:
        raise AttemptsExhausted(
            gettext("%(n)s wrong keys were sent for this bid; no more attempts are taken.")
            % {"n": opened.attempts}
        )
    bid = opened.bid
    data = _stored_envelope(bid)
    if hashlib.sha256(data).hexdigest() != bid.sha256:
        _decide(
            opened,
            Outcome.WITHDRAWN,
            gettext("The stored envelope no longer matches its receipt."),
            now,
            code=ALTERED,
        )
        raise OpeningNotReady(
            gettext("The stored envelope of this bid was altered on the platform; it cannot be opened."),
            details={"reason": "stored_envelope_altered"},
        )
    try:
        unsealed = bid_unseal(data, content_key=content_key)
        _check_signer(bid, unsealed)
    except (BidUnsealRefused, SignerRejected) as refused:
        _failed_attempt(opened, refused, now)
        raise
    return _record_opened(opened, unsealed, via=OpenedVia.BIDDER, actor=actor, now=now)


def _require_pending(opened: OpenedBid, now: datetime) -> None:
    session = opened.session
    if session.status != SessionStatus.DECRYPTING or now >= session.decryption_until:
        raise OpeningWindowClosed(
            gettext("The decryption window closed at %(until)s.") % {"until": session.decryption_until},
            details={"decryption_until": session.decryption_until.isoformat()},
        )
    if opened.outcome != Outcome.PENDING:
        raise BidAlreadyDecided(
            gettext("This bid is already %(outcome)s.") % {"outcome": opened.get_outcome_display()},
            details={"outcome": opened.outcome},
        )


def _stored_envelope(bid: Bid) -> bytes:
    with bid.envelope.open("rb") as stored:
        return bytes(stored.read())


def _check_signer(bid: Bid, unsealed: UnsealedBid) -> None:
    """The signer's certificate chains to a trusted CA, was valid when the bid came in, and is one of the
    bidder entity's signing certificates, accepted by then and not revoked before."""
    at = bid.submitted_at
    try:
        validate_certificate(
            unsealed.signer_certificate,
            usage=CertificateUsage.SIGNING,
            trust_roots=trust_roots_from_settings(now=at),
            now=at,
        )
    except CertificateRejected as rejected:
        raise SignerRejected(
            gettext(
                "The bid is signed with a certificate that was not acceptable when it was submitted: %(why)s"
            )
            % {"why": rejected.message},
            details={"reason": "certificate", "certificate": rejected.details},
        ) from None
    fingerprint = hashlib.sha256(unsealed.signer_certificate).hexdigest()
    registered = Certificate.objects.filter(
        entity_id=bid.entity_id, usage=CertificateUsage.SIGNING, fingerprint=fingerprint, accepted_at__lte=at
    ).first()
    if registered is None or (registered.revoked_at is not None and registered.revoked_at <= at):
        raise SignerRejected(
            gettext("The bid is signed with a certificate that is not a signing certificate of the bidder."),
            details={"reason": "not_the_bidder", "fingerprint": fingerprint},
        )


def _failed_attempt(opened: OpenedBid, refused: DomainError, now: datetime) -> None:
    """Count the attempt; a refusal that a correct key produced ends the bid as the bidder's fault."""
    reason = str(refused.details.get("reason", refused.code))
    with transaction.atomic():
        row = OpenedBid.objects.select_for_update().get(pk=opened.pk)
        if row.outcome != Outcome.PENDING:
            return
        row.attempts += 1
        row.last_failure = reason[:40]
        row.save(update_fields=["attempts", "last_failure"])
        audit_record(
            actor=None,
            action="opening:bid:attempt_failed",
            subject_type="bid",
            subject_id=row.bid_id,
            at=now,
            changes={"attempts": [row.attempts - 1, row.attempts], "reason": [None, reason]},
        )
        if isinstance(refused, BidUnsealRefused) and refused.reason in _RETRYABLE:
            return
        _decide(row, Outcome.REVOKED, refused.message, now)


def _decide(
    opened: OpenedBid, outcome: str, reason: str, now: datetime, *, actor: User | None = None, code: str = ""
) -> None:
    before = opened.outcome
    with transaction.atomic():
        opened.outcome, opened.fault_reason, opened.decided_at = outcome, reason, now
        opened.last_failure = code or opened.last_failure
        opened.save(update_fields=["outcome", "fault_reason", "decided_at", "last_failure"])
        ledger_append(
            event_type="opening:bid:failed",
            subjects={"tender": str(opened.session.tender_id), "bid": str(opened.bid.token)},
            hashes={},
            actor=str(actor.pk) if actor else ACTOR,
            at=now,
            data={"outcome": outcome, "reason": reason},
        )
        audit_record(
            actor=actor,
            action="opening:bid:failed",
            subject_type="bid",
            subject_id=opened.bid_id,
            at=now,
            changes={"outcome": [before, outcome], "reason": [None, reason]},
        )


def _record_opened(
    opened: OpenedBid, unsealed: UnsealedBid, *, via: str, actor: User | None, now: datetime
) -> OpenedBid:
    """Keep the opened package and what its form says, with the ledger leaf, in one transaction (the file is
    removed again if the transaction fails)."""
    name = f"{opened.bid.token}.zip"
    with transaction.atomic():
        row = OpenedBid.objects.select_for_update().select_related("session", "bid").get(pk=opened.pk)
        session = OpeningSession.objects.select_for_update().get(pk=row.session_id)
        if via == OpenedVia.BIDDER:
            row.session = session
            _require_pending(row, now)
        elif row.outcome != Outcome.WITHDRAWN:
            return row
        row.package.save(name, ContentFile(unsealed.package), save=False)
        try:
            row.outcome, row.opened_via, row.decided_at = Outcome.OPENED, via, now
            row.form, row.price, row.duration_days = unsealed.form, unsealed.price, unsealed.duration_days
            row.package_sha256 = unsealed.package_sha256
            row.signer_fingerprint = hashlib.sha256(unsealed.signer_certificate).hexdigest()
            row.signer_subject = x509.load_der_x509_certificate(
                unsealed.signer_certificate
            ).subject.rfc4514_string()
            row.save()
            ledger_append(
                event_type="opening:bid:opened",
                subjects={"tender": str(session.tender_id), "bid": str(row.bid.token)},
                hashes={"package": f"sha256:{row.package_sha256}"},
                actor=str(actor.pk) if actor else ACTOR,
                at=now,
                data={"via": via, "price": str(row.price) if row.price is not None else None},
            )
            audit_record(
                actor=actor,
                action="opening:bid:opened",
                subject_type="bid",
                subject_id=row.bid_id,
                at=now,
                changes={"outcome": [opened.outcome, Outcome.OPENED], "via": [None, via]},
            )
        except BaseException:
            row.package.delete(save=False)
            raise
    return row


# --- the window's end, and the manager's decision on a failure ---------------------------------------------


def opening_windows_close_due(*, now: datetime, limit: int = 100) -> int:
    """Close the decryption windows that have ended: every bid still pending failed through its bidder's
    fault (not decrypted in time; treated as revoked). Idempotent, like the scheduler."""
    due = OpeningSession.objects.filter(
        status=SessionStatus.DECRYPTING, decryption_until__lte=now
    ).values_list("pk", flat=True)[:limit]
    closed = 0
    for session_id in list(due):
        with transaction.atomic():
            session = OpeningSession.objects.select_for_update().filter(pk=session_id).first()
            if session is None or session.status != SessionStatus.DECRYPTING:
                continue
            for opened in session.bids.select_related("bid", "session").filter(outcome=Outcome.PENDING):
                _decide(opened, Outcome.REVOKED, gettext("Not decrypted within the decryption window."), now)
            session.status = SessionStatus.DECIDING
            session.save(update_fields=["status"])
            audit_record(
                actor=None,
                action="opening:window:closed",
                subject_type="tender",
                subject_id=session.tender_id,
                at=now,
                changes={"status": [SessionStatus.DECRYPTING, SessionStatus.DECIDING]},
            )
            closed += 1
    return closed


def opening_tick(now: datetime) -> None:
    """The worker's job (``register_worker_job``): close the decryption windows that have ended."""
    opening_windows_close_due(now=now)


def bid_fault_decide(
    *, actor: User, bid_id: int, bidder_at_fault: bool, reason: str, now: datetime
) -> OpenedBid:
    """The manager decides, with a reason, whose fault a failed decryption was: the bidder's (the bid is
    treated as revoked, 撤销) or someone else's (withdrawn, 撤回; the escrow key may then open it)."""
    reason = reason.strip()
    if not reason:
        raise InvalidInput(
            gettext("Give the reason for the decision."), details={"fields": {"reason": "required"}}
        )
    opened = access_opened_bid_for_manager(actor=actor, bid_id=bid_id)
    target = Outcome.REVOKED if bidder_at_fault else Outcome.WITHDRAWN
    with transaction.atomic():
        session = OpeningSession.objects.select_for_update().get(pk=opened.session_id)
        row = OpenedBid.objects.select_for_update().select_related("bid", "session").get(pk=opened.pk)
        if session.status != SessionStatus.DECIDING:
            raise OpeningNotReady(
                gettext(
                    "Failures are decided after the decryption window and before the record is published."
                )
            )
        if row.outcome not in (Outcome.REVOKED, Outcome.WITHDRAWN):
            raise BidAlreadyDecided(
                gettext("This bid is %(outcome)s; only a failed decryption is decided.")
                % {"outcome": row.get_outcome_display()},
                details={"outcome": row.outcome},
            )
        _decide(row, target, reason, now, actor=actor)  # its audit entry names the outcome before and after
    return row


# --- escrow opening ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShareResult:
    submitted: int  # shares held now (0 once the key was rebuilt and used)
    k: int
    opened: list[OpenedBid]  # bids the escrow key opened with this share
    failed: dict[str, str]  # bid token → why the escrow key could not open it


def sealed_share_for_official(*, actor: User, tender_id: int) -> SealedShare:
    share = (
        SealedShare.objects.select_related("escrow")
        .filter(escrow__tender_id=tender_id, official=actor)
        .first()
    )
    if share is None:
        raise NotFound(gettext("You hold no share of this tender's escrow key."))
    return share


def escrow_eligible(session: OpeningSession) -> list[OpenedBid]:
    """The bids the escrow key may open: failed through no fault of their bidder, envelope intact."""
    return [
        opened
        for opened in session_bids(session).filter(outcome=Outcome.WITHDRAWN)
        if opened.last_failure != ALTERED
    ]


def share_submit(*, actor: User, tender_id: int, share: str, now: datetime) -> ShareResult:
    """An official hands over its unwrapped share. With the k-th, the key is rebuilt in memory, checked
    against the published certificate, used for exactly the eligible bids, and dropped with the shares."""
    sealed = sealed_share_for_official(actor=actor, tender_id=tender_id)
    escrow = sealed.escrow
    with transaction.atomic():
        session = OpeningSession.objects.select_for_update().filter(tender_id=tender_id).first()
        if session is None or session.status != SessionStatus.DECIDING or not session.escrow_allowed:
            raise OpeningNotReady(
                gettext(
                    "An escrow opening takes place after the decryption window, before the record, where the "
                    "procedure allows it."
                )
            )
        eligible = escrow_eligible(session)
        if not eligible:
            raise OpeningNotReady(
                gettext("No bid failed through no fault of its bidder: the escrow key has nothing to open.")
            )
        decoded = escrow_share_verify(share.strip(), digest=sealed.digest)
        if SubmittedShare.objects.filter(session=session, official=actor).exists():
            raise ShareAlreadySubmitted(gettext("You have already handed over your share for this opening."))
        SubmittedShare.objects.create(
            session=session, official=actor, x=decoded.x, share=share.strip(), submitted_at=now
        )
        ledger_append(
            event_type="opening:share:submitted",
            subjects={"tender": str(tender_id), "official": str(actor.pk)},
            hashes={"share": sealed.digest},
            actor=str(actor.pk),
            at=now,
            data={"x": decoded.x},
        )
        audit_record(
            actor=actor, action="opening:share:submitted", subject_type="tender", subject_id=tender_id, at=now
        )
        held = list(SubmittedShare.objects.filter(session=session).order_by("x"))
        if len(held) < escrow.k:
            return ShareResult(submitted=len(held), k=escrow.k, opened=[], failed={})
        key = escrow_key_rebuild(
            shares=[s.share for s in held], certificate_pem=escrow.certificate_pem.encode()
        )
        try:
            opened, failed = _escrow_open(session, eligible, key, escrow, now)
        finally:
            del key
        SubmittedShare.objects.filter(session=session).delete()
        ledger_append(
            event_type="opening:escrow:used",
            subjects={"tender": str(tender_id)},
            hashes={},
            actor=ACTOR,
            at=now,
            data={
                "officials": [s.official_id for s in held],
                "opened": sorted(str(o.bid.token) for o in opened),
                "failed": sorted(failed),
            },
        )
    return ShareResult(submitted=0, k=escrow.k, opened=opened, failed=failed)


def _escrow_open(
    session: OpeningSession,
    eligible: list[OpenedBid],
    key: rsa.RSAPrivateKey,
    escrow: EscrowKey,
    now: datetime,
) -> tuple[list[OpenedBid], dict[str, str]]:
    certificate = x509.load_pem_x509_certificate(escrow.certificate_pem.encode())
    escrow_der = certificate.public_bytes(serialization.Encoding.DER)

    def unseal(opened: OpenedBid) -> UnsealedBid:  # no database here: it runs on the pool's threads
        data = _stored_envelope(opened.bid)
        content_key = content_key_unwrap(recipient_for(envelope_inspect(data), escrow_der), key)
        return bid_unseal(data, content_key=content_key)

    results = parallel_map(unseal, eligible)
    opened_rows, failed = [], {}
    for opened, result in zip(eligible, results, strict=True):
        try:
            if isinstance(result, DomainError):
                raise result
            _check_signer(opened.bid, result)
        except DomainError as error:
            failed[str(opened.bid.token)] = error.message
            continue
        opened_rows.append(_record_opened(opened, result, via=OpenedVia.ESCROW, actor=None, now=now))
    return opened_rows, failed


def parallel_map(
    function: Callable[[OpenedBid], UnsealedBid], items: list[OpenedBid]
) -> list[UnsealedBid | DomainError]:
    """``function`` over ``items`` on a thread per core (AES, SHA-256 and RSA release the GIL); a
    ``DomainError`` is returned in place of its result, anything else propagates. ``function`` must not touch
    the database: the threads have no part in the caller's transaction."""

    def guarded(item: OpenedBid) -> UnsealedBid | DomainError:
        try:
            return function(item)
        except DomainError as error:
            return error

    if len(items) <= 1:
        return [guarded(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(len(items), os.cpu_count() or 1)) as pool:
        return list(pool.map(guarded, items))


# --- the opening record -------------------------------------------------------------------------------------


def record_publish(*, actor: User, tender_id: int, now: datetime) -> OpeningSession:
    """Publish the opening record (开标记录表): every lot, every bid with its outcome and what its form says;
    signed by the platform, published as a notice, a ledger leaf."""
    access_session_for_manager(actor=actor, tender_id=tender_id)
    with transaction.atomic():
        session = OpeningSession.objects.select_for_update().select_related("tender").get(tender_id=tender_id)
        pending = session.bids.filter(outcome=Outcome.PENDING).count()
        if session.status == SessionStatus.RECORDED:
            raise Conflict(gettext("The opening record is already published."))
        if pending:
            raise OpeningNotReady(
                gettext("%(n)s bids are still waiting for decryption; the record follows the window.")
                % {"n": pending},
                details={"pending": pending},
            )
        tender = session.tender
        if tender.status != TenderStatus.OPENING:
            raise OpeningNotReady(gettext("The tender is not at its opening."))
        record = opening_record(session)
        signer = receipt_signer_load_or_create()
        signed = receipt_sign(receipt_build(fields=record), key=signer.private_key, key_id=signer.key_id)
        session.record, session.status, session.recorded_at = signed, SessionStatus.RECORDED, now
        notice = notice_create(
            tender=tender,
            kind=NoticeKind.OPENING_RECORD,
            publish_at=now,
            actor=actor,
            now=now,
            extra={"record": record},
        )
        session.record_notice = notice
        session.save(update_fields=["record", "status", "recorded_at", "record_notice"])
        ledger_append(
            event_type="opening:record:published",
            subjects={"tender": str(tender.pk), "notice": str(notice.pk)},
            hashes={"record": record_hash(signed)},
            actor=str(actor.pk),
            at=now,
            data={"bids": sum(len(lot["bids"]) for lot in record["lots"])},
        )
        audit_record(
            actor=actor,
            action="opening:record:published",
            subject_type="tender",
            subject_id=tender.pk,
            at=now,
        )
        notice_publish(notice.pk, now=now)
    return session


def record_hash(signed: dict[str, Any]) -> str:
    return "sha256:" + sha256_hex(canonical_json(signed))


def opening_record(session: OpeningSession) -> dict[str, Any]:
    """The record's content: plain JSON (strings for amounts), as signed; its labels are Chinese, the language
    of the record as published, whatever the language of the request that publishes it."""
    with translation.override("zh-hans"):
        return _opening_record(session)


def _opening_record(session: OpeningSession) -> dict[str, Any]:
    tender = session.tender
    by_lot: dict[int, list[dict[str, Any]]] = {}
    for opened in session_bids(session):
        by_lot.setdefault(opened.bid.lot_id, []).append(_record_bid(opened))
    lots = [
        {
            "code": lot.lot.code,
            "name": lot.lot.name,
            "bid_count": lot.bid_count,
            "failed": lot.failed,
            "bids": by_lot.get(lot.lot_id, []),
        }
        for lot in session.lots.select_related("lot").order_by("lot__code")
    ]
    return {
        "kind": "opening_record",
        "tender": tender.code,
        "tender_name": tender.name,
        "opened_at": session.started_at.isoformat(),
        "decryption_until": session.decryption_until.isoformat(),
        "lots": lots,
    }


def _record_bid(opened: OpenedBid) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "bid": str(opened.bid.token),
        "bidder": opened.bid.entity.name,
        "bidder_id": opened.bid.entity.public_identifier,
        "envelope_sha256": opened.bid.sha256,
        "outcome": opened.outcome,
        "outcome_label": str(opened.get_outcome_display()),
    }
    if opened.outcome == Outcome.OPENED:
        entry |= {
            "via": opened.opened_via,
            "price": str(opened.price) if opened.price is not None else None,
            "duration_days": opened.duration_days,
            "fields": _record_fields(opened.form or {}),
        }
    else:
        entry["reason"] = opened.fault_reason
    return entry


def _record_fields(form: dict[str, Any]) -> dict[str, str]:
    """The other items the bid form states (quality, warranty, project manager ...), as text."""
    fields = {}
    for name, value in sorted(form.items()):
        if name in ("price", "duration_days") or isinstance(value, dict | list) or value is None:
            continue
        text = str(value).lower() if isinstance(value, bool) else str(value)
        if len(text) <= RECORD_SCALAR_MAX and name.isidentifier() and name.isascii():
            fields[name] = text
    return fields


def record_confirm(*, actor: User, bid_id: int, now: datetime) -> OpenedBid:
    """The bidder confirms the published record (an objection goes through the procedure's objections)."""
    opened = access_opened_bid_for_bidder(actor=actor, bid_id=bid_id)
    with transaction.atomic():
        row = OpenedBid.objects.select_for_update().select_related("session", "bid").get(pk=opened.pk)
        if row.session.status != SessionStatus.RECORDED:
            raise OpeningNotReady(gettext("The opening record is not published yet."))
        if row.confirmed_at is not None:
            raise Conflict(gettext("You have already confirmed the record."))
        row.confirmed_at = now
        row.save(update_fields=["confirmed_at"])
        ledger_append(
            event_type="opening:record:confirmed",
            subjects={"tender": str(row.session.tender_id), "bid": str(row.bid.token)},
            hashes={"record": record_hash(row.session.record or {})},
            actor=str(actor.pk),
            at=now,
            data={},
        )
        audit_record(
            actor=actor, action="opening:record:confirmed", subject_type="bid", subject_id=row.bid_id, at=now
        )
    return row
