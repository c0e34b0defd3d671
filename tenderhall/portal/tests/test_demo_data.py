from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import StringIO

import pyotp
import pytest
from django.core.management import call_command

from tenderhall.accounts.choices import Role
from tenderhall.accounts.models import Certificate, RoleGrant, User
from tenderhall.core import clock
from tenderhall.core.models import AuditEntry
from tenderhall.ledger.models import Leaf
from tenderhall.opening.models import OpeningSession
from tenderhall.procedures.choices import TenderStatus
from tenderhall.procedures.models import Notice, Tender
from tenderhall.registry.choices import EntityStatus
from tenderhall.registry.models import EntityVersion, MarketEntity

pytestmark = pytest.mark.django_db
DEMO_NOW = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo tender's dates follow the clock; fix it inside the years the working-day calendar covers."""
    monkeypatch.setattr(clock, "now", lambda: DEMO_NOW)


def counts() -> tuple[int, ...]:
    return tuple(
        model.objects.count()
        for model in (
            User,
            RoleGrant,
            MarketEntity,
            EntityVersion,
            Certificate,
            Leaf,
            AuditEntry,
            Tender,
            Notice,
        )
    )


def test_demo_data_covers_every_role_and_a_second_run_changes_nothing():
    # when
    call_command("demo-data", "--no-evaluations", stdout=StringIO())
    first = counts()
    call_command("demo-data", "--no-evaluations", stdout=StringIO())
    # then
    assert counts() == first
    assert set(RoleGrant.objects.values_list("role", flat=True)) == set(Role.values)
    assert set(MarketEntity.objects.values_list("status", flat=True)) == {EntityStatus.APPROVED}
    assert MarketEntity.objects.count() == 7
    # the bidders' and the agency's (one signing certificate for each demo tender's documents)
    assert Certificate.objects.filter(entity__isnull=False).count() == 10
    assert Leaf.objects.filter(event_type="registry:entity:approved").count() == 7
    tender = Tender.objects.get(bid_deadline__gt=DEMO_NOW)  # its documents are out: bidding is open
    assert (tender.status, tender.bid_deadline) == (
        TenderStatus.BIDDING,
        datetime(2026, 3, 24, 1, 30, tzinfo=UTC),
    )
    assert Notice.objects.get(tender=tender).published_at == DEMO_NOW
    for user in User.objects.all():
        assert user.check_password("demo-Passw0rd-2026")
    # and a tender at its opening: three bids, the first decrypted, the window open for eight hours
    opening = OpeningSession.objects.get()
    assert (opening.tender.status, opening.started_at, opening.decryption_until) == (
        TenderStatus.OPENING,
        DEMO_NOW,
        DEMO_NOW + timedelta(hours=8),
    )
    assert [b.outcome for b in opening.bids.order_by("bid__submitted_at")] == ["opened", "pending", "pending"]


def test_demo_data_prints_the_current_two_factor_code_of_a_demo_user():
    call_command("demo-data", "--no-evaluations", stdout=StringIO())
    out = StringIO()
    call_command("demo-data", "--code", "operator", stdout=out)
    operator = User.objects.get(username="operator")
    assert pyotp.TOTP(operator.totp_secret).verify(out.getvalue().strip(), valid_window=1)


def test_demo_data_is_refused_in_production_mode(settings):
    from django.core.management.base import CommandError

    settings.TENDERHALL_MODE = "production"
    with pytest.raises(CommandError, match="refused in production"):
        call_command("demo-data", "--no-evaluations", stdout=StringIO())
    assert not User.objects.exists()


def test_every_leaf_of_the_demo_data_is_recomputed_from_the_live_rows():
    from tenderhall.ledger.services import ledger_integrate
    from tenderhall.ledger.verify import verify_local

    call_command("demo-data", "--no-evaluations", stdout=StringIO())
    ledger_integrate(now=DEMO_NOW)
    report = verify_local()
    assert (report.problems, report.unknown_types) == ([], {})
    assert report.leaves_checked == Leaf.objects.count()
