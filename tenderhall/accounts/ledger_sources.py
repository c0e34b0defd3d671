"""How `ledger verify` recomputes the accounts' leaves from the live rows."""

from __future__ import annotations

import hashlib
from typing import Any

from tenderhall.accounts.models import Certificate
from tenderhall.ledger.sources import register_leaf_source


def certificate_accepted(event: dict[str, Any]) -> dict[str, Any] | list[str]:
    """The certificate's stored DER must still hash to the recorded fingerprint, and its facts must match."""
    certificate = Certificate.objects.filter(pk=event["subjects"]["certificate"]).first()
    if certificate is None:
        return [f"certificate {event['subjects']['certificate']} no longer exists"]
    owner = (
        {"entity": str(certificate.entity_id)}
        if certificate.entity_id is not None
        else {"user": str(certificate.user_id)}
    )
    return {
        **event,
        "subjects": {"certificate": str(certificate.pk), **owner},
        "hashes": {"certificate": "sha256:" + hashlib.sha256(bytes(certificate.der)).hexdigest()},
        "data": {
            "usage": certificate.usage,
            "subject": certificate.subject,
            "issuer": certificate.issuer,
            "serial": certificate.serial,
        },
    }


def register() -> None:
    register_leaf_source("accounts:certificate:accepted", certificate_accepted)
