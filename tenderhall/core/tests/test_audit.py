"""The audit trail: one entry per change, in the change's transaction, with the request's address and
channel."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction

from tenderhall.core.audit import AuditContext, AuditRecord, audit_context, audit_record, audit_record_batch
from tenderhall.core.models import AuditEntry

pytestmark = pytest.mark.django_db
AT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
_made = iter(range(1, 1000))


def make_user() -> AbstractBaseUser:
    """A bare account: the audit trail knows users only by their key and name (core sits below accounts)."""
    n = next(_made)
    return get_user_model().objects.create(
        username=f"audited{n}", full_name=f"审计{n}", id_number=f"audited{n}", date_joined=AT
    )


def test_an_entry_names_the_actor_and_the_context_of_the_request():
    user = make_user()
    with audit_context(remote_addr="203.0.113.7", channel="api"), transaction.atomic():
        entry = audit_record(
            actor=user,
            action="bids:bid:submitted",
            subject_type="bid",
            subject_id=7,
            at=AT,
            changes={"at": AT},
        )
    stored = AuditEntry.objects.get(pk=entry.pk)
    assert (stored.actor_id, stored.actor_label, stored.remote_addr, stored.channel) == (
        user.pk,
        str(user),
        "203.0.113.7",
        "api",
    )
    assert (stored.subject_id, stored.changes) == ("7", {"at": "2026-03-02T09:30:00+00:00"})


def test_a_batch_writes_each_entry_with_its_own_request_context_or_the_current_one():
    users = [make_user(), make_user()]
    records = [
        AuditRecord(
            actor=users[0],
            action="bids:bid:submitted",
            subject_type="bid",
            subject_id=1,
            at=AT,
            context=AuditContext(remote_addr="198.51.100.1", channel="api"),
        ),
        AuditRecord(actor=users[1], action="bids:bid:replaced", subject_type="bid", subject_id=2, at=AT),
        AuditRecord(actor=None, action="bids:bid:submitted", subject_type="bid", subject_id=3, at=AT),
    ]
    with audit_context(remote_addr="192.0.2.9", channel="web"), transaction.atomic():
        written = audit_record_batch(records)
    stored = AuditEntry.objects.filter(pk__in=[entry.pk for entry in written]).order_by("subject_id")
    assert [(e.subject_id, e.action, e.actor_id, e.remote_addr, e.channel) for e in stored] == [
        ("1", "bids:bid:submitted", users[0].pk, "198.51.100.1", "api"),
        ("2", "bids:bid:replaced", users[1].pk, "192.0.2.9", "web"),
        ("3", "bids:bid:submitted", None, "192.0.2.9", "web"),
    ]


@pytest.mark.django_db(transaction=True)  # the test's own transaction would hide the check
def test_an_entry_outside_the_changes_transaction_is_refused_and_nothing_is_written():
    record = AuditRecord(actor=None, action="x:y:z", subject_type="bid", subject_id=1, at=AT)
    with pytest.raises(RuntimeError, match="inside the transaction of the change it records"):
        audit_record(actor=None, action="x:y:z", subject_type="bid", subject_id=1, at=AT)
    with pytest.raises(RuntimeError, match="inside the transaction of the change it records"):
        audit_record_batch([record])
    assert not AuditEntry.objects.exists()
