"""`ledger verify` recomputes the registry's and the certificates' leaves from the live rows."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings

from tenderhall.accounts.demo_ca import demo_ca_load_or_create
from tenderhall.accounts.models import Certificate
from tenderhall.accounts.tests.factories import make_user
from tenderhall.core import clock
from tenderhall.ledger.verify import verify_local
from tenderhall.registry import services
from tenderhall.registry.models import EntityVersion, MarketEntity
from tenderhall.registry.tests.factories import make_entity, make_operator

pytestmark = pytest.mark.django_db


def approved_entity_with_certificate() -> tuple[MarketEntity, Certificate]:
    registrant = make_user()
    entity = make_entity(registrant=registrant, approved_by=make_operator())
    ca = demo_ca_load_or_create(Path(settings.TENDERHALL_DATA_DIR) / "demo-ca", now=clock.now())
    _key, pem = ca.issue_key_and_certificate(
        common_name=entity.name, serial_number=entity.identifier, usage="signing", now=clock.now()
    )
    certificate = services.entity_certificate_upload(
        actor=registrant, entity_id=entity.pk, data=pem, usage="signing", now=clock.now()
    )
    return entity, certificate


def test_untouched_records_verify_cleanly():
    approved_entity_with_certificate()
    report = verify_local()
    assert report.problems == []
    assert report.unknown_types == {}


def test_a_changed_entity_row_is_found_and_named():
    # given
    entity, _certificate = approved_entity_with_certificate()
    # when: someone edits the row behind the platform's back
    MarketEntity.objects.filter(pk=entity.pk).update(name="篡改后的名称")
    # then
    report = verify_local()
    assert len(report.problems) == 1
    assert f"entity:{entity.pk}" in report.problems[0]
    assert "field name reads '篡改后的名称'" in report.problems[0]


def test_a_changed_approved_snapshot_is_found_after_the_entity_moved_on():
    # given: an approved entity that has changed since (so its live row is not the approved version)
    entity, _certificate = approved_entity_with_certificate()
    owner = entity.role_grants.get().user
    services.entity_update(
        actor=owner, entity_id=entity.pk, changes={"contact_phone": "02712345678"}, now=clock.now()
    )
    # when: the approved snapshot is edited
    version = EntityVersion.objects.get(entity=entity, change="approved")
    version.snapshot = {**version.snapshot, "legal_representative": "李鬼"}
    version.save(update_fields=["snapshot"])
    # then
    report = verify_local()
    assert len(report.problems) == 1
    assert "hashes.snapshot is 'sha256:" in report.problems[0]


def test_a_changed_certificate_is_found_and_named():
    _entity, certificate = approved_entity_with_certificate()
    der = bytearray(bytes(certificate.der))
    der[-5] ^= 0xFF
    Certificate.objects.filter(pk=certificate.pk).update(der=bytes(der))
    report = verify_local()
    assert len(report.problems) == 1
    assert "accounts:certificate:accepted" in report.problems[0]
    assert "hashes.certificate" in report.problems[0]
