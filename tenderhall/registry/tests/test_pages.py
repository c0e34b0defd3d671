from __future__ import annotations

import pytest
from django.test import Client

from tenderhall.accounts.tests.factories import make_user
from tenderhall.registry.choices import EntityStatus
from tenderhall.registry.tests.factories import make_entity, make_operator, uscc

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_operator_rejects_with_a_reason_that_only_the_entitys_people_see():
    # given
    registrant, operator = make_user(), make_operator()
    entity = make_entity(registrant=registrant)
    # when
    response = signed_in(operator).post(f"/registry/{entity.pk}/reject", {"reason": "营业执照已过期"})
    # then
    assert response.status_code == 302
    entity.refresh_from_db()
    assert (entity.status, entity.rejection_reason) == (EntityStatus.REJECTED, "营业执照已过期")
    assert "营业执照已过期" in signed_in(registrant).get(f"/registry/{entity.pk}/").content.decode()
    assert signed_in(make_user()).get(f"/registry/{entity.pk}/").status_code == 404
    assert Client().get(f"/registry/{entity.pk}/").status_code == 404


def test_a_rejection_without_a_reason_is_refused_on_the_page_and_nothing_changes():
    operator = make_operator()
    entity = make_entity()
    client = signed_in(operator)
    client.post(f"/registry/{entity.pk}/reject", {"reason": " "})
    page = client.get(f"/registry/{entity.pk}/").content.decode()
    entity.refresh_from_db()
    assert entity.status == EntityStatus.PENDING
    assert "请填写驳回理由，以便申请人更正。" in page


def test_a_bidder_cannot_approve_its_own_entity_from_the_page():
    registrant = make_user()
    entity = make_entity(registrant=registrant)
    signed_in(registrant).post(f"/registry/{entity.pk}/approve")
    entity.refresh_from_db()
    assert entity.status == EntityStatus.PENDING


def test_the_review_queue_is_for_operators_only():
    make_entity(name="待审建设有限公司")
    assert "待审建设有限公司" in signed_in(make_operator()).get("/registry/review/").content.decode()
    assert signed_in(make_user()).get("/registry/review/").status_code == 404


def test_the_live_field_check_gives_the_services_reason():
    bad = uscc(31)[:-1] + ("0" if uscc(31)[-1] != "0" else "1")
    response = Client().get("/registry/register/check", {"kind": "legal_person", "identifier": bad})
    html = response.content.decode()
    assert 'id="check-identifier"' in html
    assert "应为" in html
    good = Client().get("/registry/register/check", {"kind": "legal_person", "identifier": uscc(31)})
    assert 'data-field="identifier" hx-swap-oob="true"></p>' in good.content.decode()


def test_a_natural_persons_identity_number_is_masked_for_everyone_but_its_own_people():
    from tenderhall.accounts.tests.factories import NOW, resident_id
    from tenderhall.registry import services
    from tenderhall.registry.choices import EntityKind

    operator = make_operator()
    owner = make_user()
    number = resident_id(4242)
    person = services.entity_register(
        actor=owner, kind=EntityKind.NATURAL_PERSON, name="王小明", identifier=number, role="bidder", now=NOW
    )
    services.entity_approve(actor=operator, entity_id=person.pk, now=NOW)
    masked = number[:3] + "*" * 13 + number[-2:]
    public = Client()
    assert public.get(f"/api/v1/registry/entities/{person.pk}").json()["identifier"] == masked
    page = public.get(f"/registry/{person.pk}/").content.decode()
    assert masked in page
    assert number not in page
    assert number not in public.get("/registry/").content.decode()
    own = Client()
    own.force_login(owner)
    assert number in own.get(f"/registry/{person.pk}/").content.decode()
