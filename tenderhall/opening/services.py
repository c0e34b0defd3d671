"""The escrow opening key: the officials are named before publication; at publication the key is made,
split k-of-n, each share sealed to its official, the certificate published; the whole key is never stored.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from django.db import transaction
from django.utils.translation import gettext

from tenderhall.accounts.choices import CertificateStatus, CertificateUsage, Role
from tenderhall.accounts.models import Certificate, RoleGrant, User
from tenderhall.accounts.selectors import user_has_role
from tenderhall.accounts.trust import escrow_issuer_from_settings
from tenderhall.core.audit import audit_record
from tenderhall.core.errors import DomainError, InvalidInput, NotFound, PermissionDenied
from tenderhall.ledger.services import ledger_append
from tenderhall.opening.escrow import escrow_key_generate
from tenderhall.opening.models import EscrowKey, EscrowPlan, SealedShare
from tenderhall.procedures.choices import TenderStatus
from tenderhall.procedures.models import Tender
from tenderhall.procedures.rules import procedure_rules
from tenderhall.procedures.selectors import can_manage_project


class OfficialNotReady(DomainError):
    code = "official_not_ready"
    status = 422


def _official_certificate(user: User, now: datetime) -> bytes | None:
    certificate = (
        Certificate.objects.filter(
            user=user,
            usage=CertificateUsage.ENCRYPTION,
            status=CertificateStatus.ACCEPTED,
            not_before__lte=now,
            not_after__gt=now,
        )
        .order_by("-accepted_at")
        .first()
    )
    return bytes(certificate.der) if certificate is not None else None


def escrow_plan_set(
    *, actor: User, tender_id: int, official_ids: list[int], k: int, now: datetime
) -> EscrowPlan:
    """Name the opening officials who will hold the escrow key, before the tender is published."""
    with transaction.atomic():
        tender = Tender.objects.select_for_update().select_related("project").filter(pk=tender_id).first()
        if tender is None or not (
            can_manage_project(actor, tender.project) or user_has_role(actor, Role.OPERATOR)
        ):
            raise NotFound(gettext("No such tender."))
        if tender.status != TenderStatus.DRAFT:
            raise PermissionDenied(gettext("The escrow officials are named before the tender is published."))
        if not procedure_rules(tender.procedure_type).escrow_opening_allowed:
            raise InvalidInput(gettext("This procedure type has no escrow opening."))
        escrow_issuer_from_settings(
            now=now
        )  # refused now, not at publication, when no CA can certify the key
        officials = list(User.objects.filter(pk__in=set(official_ids)))
        if len(officials) != len(set(official_ids)) or not 2 <= k <= len(officials):
            raise InvalidInput(
                gettext("Name at least two opening officials and a threshold k between 2 and their number."),
                details={"fields": {"k": "range"}},
            )
        for official in officials:
            if not RoleGrant.objects.filter(user=official, role=Role.OPENING_OFFICIAL).exists():
                raise OfficialNotReady(gettext("%(name)s is not an opening official.") % {"name": official})
            if _official_certificate(official, now) is None:
                raise OfficialNotReady(
                    gettext("%(name)s has no current encryption certificate to receive a share.")
                    % {"name": official}
                )
        plan, _ = EscrowPlan.objects.update_or_create(tender=tender, defaults={"k": k})
        plan.officials.set(officials)
        audit_record(
            actor=actor,
            action="opening:escrow:planned",
            subject_type="tender",
            subject_id=tender.pk,
            at=now,
            changes={"officials": [None, sorted(o.pk for o in officials)], "k": [None, k]},
        )
    return plan


def escrow_issue_on_publish(tender: Any, now: datetime) -> None:
    """Hooked into publication: with a plan, make the key, seal the shares, publish the certificate."""
    plan = EscrowPlan.objects.filter(tender=tender).first()
    if plan is None:
        return
    officials = list(plan.officials.order_by("pk"))
    certificates = []
    for official in officials:
        der = _official_certificate(official, now)
        if der is None:
            raise OfficialNotReady(
                gettext("%(name)s has no current encryption certificate to receive a share.")
                % {"name": official}
            )
        certificates.append((str(official.pk), der))
    key = escrow_key_generate(
        tender_code=tender.code,
        ca=escrow_issuer_from_settings(now=now),
        officials=certificates,
        k=plan.k,
        now=now,
    )
    escrow = EscrowKey.objects.create(
        tender=tender,
        certificate_pem=key.certificate_pem.decode(),
        commitment=key.commitment,
        split_id=key.split_id,
        k=key.k,
        n=key.n,
        created_at=now,
    )
    SealedShare.objects.bulk_create(
        SealedShare(
            escrow=escrow,
            official_id=int(share.official),
            x=share.x,
            digest=share.digest,
            envelope=share.envelope_der,
        )
        for share in key.sealed_shares
    )
    ledger_append(
        event_type="opening:escrow:published",
        subjects={"tender": str(tender.pk)},
        hashes={"escrow_public_key": key.commitment},
        actor=None,
        at=now,
        data={"k": key.k, "n": key.n, "officials": [o.pk for o in officials]},
    )


def escrow_recipients(tender: Any) -> dict[str, bytes]:
    """Sealed bids of a tender with an escrow key must also be readable with it."""
    escrow = EscrowKey.objects.filter(tender=tender).first()
    if escrow is None:
        return {}
    certificate = x509.load_pem_x509_certificate(escrow.certificate_pem.encode())
    return {"escrow": certificate.public_bytes(serialization.Encoding.DER)}


def escrow_published_source(event: dict[str, Any]) -> dict[str, Any] | list[str]:
    """`ledger verify`: the published escrow certificate must still carry the key logged at publication."""
    import hashlib

    escrow = EscrowKey.objects.filter(tender_id=event["subjects"]["tender"]).first()
    if escrow is None:
        return [f"tender {event['subjects']['tender']} has no escrow key any more"]
    public_key = x509.load_pem_x509_certificate(escrow.certificate_pem.encode()).public_key()
    spki = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return {**event, "hashes": {"escrow_public_key": "sha256:" + hashlib.sha256(spki).hexdigest()}}
