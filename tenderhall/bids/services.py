"""Bid writes: submit, replace and withdraw sealed envelopes until the deadline.

The envelope streams to storage with its SHA-256 computed in the same pass, and the row is committed under
the tender's row lock, the same lock the scheduler takes to close bidding: a bid either commits before the
close or is refused after it, to the microsecond. A failure removes the stored file; a crash between the file
and the row leaves an orphan file that no row names, which `tenderhall bids sweep` removes — no partial bid is
ever visible. The ledger names a bid only by its random token, so the public log does not tell who bid.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from typing import IO

from django.core.files.base import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils.translation import gettext

from tenderhall.accounts.choices import CertificateStatus, CertificateUsage, Role
from tenderhall.accounts.models import Certificate, RoleGrant, User
from tenderhall.accounts.tsa_keys import receipt_signer_load_or_create, tsa_signer_load_or_create
from tenderhall.bids.choices import BidStatus
from tenderhall.bids.envelope import envelope_inspect, envelope_require_recipients
from tenderhall.bids.models import Bid
from tenderhall.core.audit import audit_record
from tenderhall.core.errors import Conflict, DomainError, InvalidInput, NotFound, PermissionDenied
from tenderhall.core.hooks import sealing_recipients
from tenderhall.core.receipts import receipt_build, receipt_sign
from tenderhall.core.tsa import tsa_serial_new, tsa_timestamp
from tenderhall.ledger.services import ledger_append
from tenderhall.procedures.choices import TenderStatus
from tenderhall.procedures.models import Lot, Tender
from tenderhall.registry.choices import EntityStatus

MAX_ENVELOPE_BYTES = 200 * 1024 * 1024
CHUNK = 1024 * 1024
BOND_MAX_SHARE = Decimal("0.02")


class BiddingClosed(Conflict):
    code = "bidding_closed"


class EnvelopeTooLarge(DomainError):
    code = "envelope_too_large"
    status = 413


class BidderNotReady(DomainError):
    code = "bidder_not_ready"
    status = 422


def _bidder_entity_check(actor: User, entity_id: int, now: datetime) -> dict[str, bytes]:
    """The actor acts for an approved entity as bidder, whose current certificates are returned by usage."""
    grant = RoleGrant.objects.filter(
        user=actor, role=Role.BIDDER, entity_id=entity_id, entity__status=EntityStatus.APPROVED
    ).first()
    if grant is None:
        raise PermissionDenied(
            gettext("Only people acting as bidder for an approved entity submit its bids.")
        )
    certificates: dict[str, bytes] = {}
    for usage in (CertificateUsage.SIGNING, CertificateUsage.ENCRYPTION):
        certificate = (
            Certificate.objects.filter(
                entity_id=entity_id,
                usage=usage,
                status=CertificateStatus.ACCEPTED,
                not_before__lte=now,
                not_after__gt=now,
            )
            .order_by("-accepted_at")
            .first()
        )
        if certificate is None:
            raise BidderNotReady(
                gettext("The entity has no current %(usage)s certificate: upload one before bidding.")
                % {"usage": usage},
                details={"missing": usage},
            )
        certificates[usage] = bytes(certificate.der)
    return certificates


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
    return problems


class _HashingReader:
    """Reads the upload for the storage backend, hashing and counting every chunk as it passes."""

    def __init__(self, upload: IO[bytes], *, max_size: int) -> None:
        self.upload, self.max_size = upload, max_size
        self.digest, self.size = hashlib.sha256(), 0

    def read(self, size: int = -1) -> bytes:
        chunk = self.upload.read(size if size and size > 0 else CHUNK)
        self.size += len(chunk)
        if self.size > self.max_size:
            raise EnvelopeTooLarge(
                gettext("An envelope may be at most %(max)s bytes.") % {"max": self.max_size},
                details={"max": self.max_size},
            )
        self.digest.update(chunk)
        return chunk


@contextmanager
def _stored(upload: IO[bytes], *, max_size: int) -> Iterator[tuple[str, int, str, bytes]]:
    """Stream the upload to storage with its SHA-256 computed in the same pass; the file is removed unless
    the caller's block completes (and its transaction commits), or if the stream breaks off."""
    reader = _HashingReader(upload, max_size=max_size)
    name = f"bids/{uuid.uuid4().hex[:2]}/{uuid.uuid4().hex}.p7m"
    try:
        name = default_storage.save(name, File(reader, name=name))  # type: ignore[arg-type]  # a readable stream
    except BaseException:
        if default_storage.exists(name):
            default_storage.delete(name)
        raise
    try:
        with default_storage.open(name, "rb") as stored:
            data = stored.read()  # the envelope check parses the whole structure
        yield name, reader.size, reader.digest.hexdigest(), data
    except BaseException:
        default_storage.delete(name)
        raise


def bid_submit(
    *,
    actor: User,
    lot_id: int,
    entity_id: int,
    envelope: IO[bytes],
    bond_amount: Decimal,
    now: datetime,
    bond_payer_account: str = "",
    bond_guarantee_reference: str = "",
    max_size: int = MAX_ENVELOPE_BYTES,
) -> Bid:
    """Submit (or replace) the entity's sealed envelope for a lot, before the deadline."""
    lot = Lot.objects.select_related("tender").filter(pk=lot_id).first()
    if lot is None or lot.tender.status == TenderStatus.DRAFT:
        raise NotFound(gettext("No such lot."))
    certificates = _bidder_entity_check(actor, entity_id, now)
    _open_for_bids(lot.tender, now)
    problems = _bond_problems(lot, bond_amount, bond_payer_account, bond_guarantee_reference)
    if problems:
        raise InvalidInput(next(iter(problems.values())), details={"fields": problems})
    with _stored(envelope, max_size=max_size) as (name, size, sha256, data):
        info = envelope_inspect(data)
        required = {"bidder": certificates[CertificateUsage.ENCRYPTION], **sealing_recipients(lot.tender)}
        envelope_require_recipients(info, certificates=required)
        with transaction.atomic():
            tender = Tender.objects.select_for_update().get(pk=lot.tender_id)
            _open_for_bids(tender, now)  # under the lock the scheduler closes bidding with
            previous = (
                Bid.objects.select_for_update()
                .filter(lot=lot, entity_id=entity_id, status=BidStatus.SUBMITTED)
                .first()
            )
            if previous is not None:
                previous.status, previous.ended_at = BidStatus.SUPERSEDED, now
                previous.save(update_fields=["status", "ended_at"])
            bid = Bid.objects.create(
                lot=lot,
                entity_id=entity_id,
                submitted_by=actor,
                envelope=name,
                size=size,
                sha256=sha256,
                content_encryption=info.content_encryption,
                submitted_at=now,
                replaces=previous,
                bond_amount=bond_amount,
                bond_payer_account=bond_payer_account.strip(),
                bond_guarantee_reference=bond_guarantee_reference.strip(),
            )
            bid.receipt, bid.timestamp_token = _receipt(bid, lot, now)
            bid.save(update_fields=["receipt", "timestamp_token"])
            event = "bids:bid:replaced" if previous is not None else "bids:bid:submitted"
            ledger_append(
                event_type=event,
                subjects={"bid": str(bid.token), **({"replaces": str(previous.token)} if previous else {})},
                hashes={"envelope": f"sha256:{sha256}"},
                actor=None,
                at=now,
            )
            audit_record(
                actor=actor,
                action=event,
                subject_type="bid",
                subject_id=bid.pk,
                at=now,
                changes={"lot": [None, lot.code], "sha256": [None, sha256], "size": [None, size]},
            )
    return bid


def _receipt(bid: Bid, lot: Lot, now: datetime) -> tuple[dict[str, object], bytes]:
    """The platform-signed receipt of a bid and an RFC 3161 token over the envelope's SHA-256 (openssl ts
    -verify accepts it); the ledger inclusion proof is fetched once the leaf is integrated."""
    fields = {
        "kind": "bid",
        "bid": str(bid.token),
        "tender": lot.tender.code,
        "lot": lot.code,
        "bidder": bid.entity.identifier,
        "envelope_sha256": bid.sha256,
        "envelope_size": bid.size,
        "submitted_at": now.isoformat(timespec="microseconds"),
        "replaces": str(bid.replaces.token) if bid.replaces is not None else None,
    }
    signer = receipt_signer_load_or_create()
    receipt = receipt_sign(receipt_build(fields=fields), key=signer.private_key, key_id=signer.key_id)
    token = tsa_timestamp(
        digest=bytes.fromhex(bid.sha256),
        now=now,
        serial=tsa_serial_new(),
        signer=tsa_signer_load_or_create(now=now),
    )
    return receipt, token


def bid_withdraw(*, actor: User, bid_id: int, now: datetime) -> Bid:
    """Withdraw a bid before the deadline; the envelope is kept, marked withdrawn."""
    with transaction.atomic():
        bid = Bid.objects.select_for_update().select_related("lot").filter(pk=bid_id).first()
        if (
            bid is None
            or not RoleGrant.objects.filter(user=actor, role=Role.BIDDER, entity_id=bid.entity_id).exists()
        ):
            raise NotFound(gettext("No such bid."))
        tender = Tender.objects.select_for_update().get(pk=bid.lot.tender_id)
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
