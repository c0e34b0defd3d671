from __future__ import annotations

import json
from datetime import date

import pytest

from tenderhall.accounts.choices import Role
from tenderhall.accounts.models import RoleGrant
from tenderhall.accounts.tests.factories import NOW, make_user
from tenderhall.core.errors import Conflict, InvalidInput, PermissionDenied
from tenderhall.core.models import AuditEntry
from tenderhall.ledger.models import Leaf
from tenderhall.registry import services
from tenderhall.registry.choices import EntityKind, EntityStatus
from tenderhall.registry.models import EntityVersion, MarketEntity
from tenderhall.registry.tests.factories import make_entity, make_operator, uscc

pytestmark = pytest.mark.django_db


def test_registration_makes_a_pending_entity_version_one_and_a_role_for_the_registrant():
    # given
    user = make_user()
    # when
    entity = services.entity_register(
        actor=user,
        kind=EntityKind.LEGAL_PERSON,
        name="江城建工集团有限公司",
        identifier="91350100m000100y43",
        role=Role.BIDDER,
        legal_representative="王国栋",
        now=NOW,
    )
    # then
    assert (entity.identifier, entity.org_code, entity.region_code) == (
        "91350100M000100Y43",
        "M000100Y4",
        "350100",
    )
    assert (entity.status, entity.version) == (EntityStatus.PENDING, 1)
    assert RoleGrant.objects.get(user=user, entity=entity).role == Role.BIDDER
    version = EntityVersion.objects.get(entity=entity)
    assert (version.version, version.change, version.snapshot["name"]) == (
        1,
        "registered",
        "江城建工集团有限公司",
    )
    assert (
        AuditEntry.objects.filter(action="registry:entity:registered", subject_id=str(entity.pk)).count() == 1
    )


def test_letter_prefixed_codes_register():
    entity = services.entity_register(
        actor=make_user(),
        kind=EntityKind.OTHER_ORGANISATION,
        name="某村股份经济合作社",
        identifier="N2330784MF0000005A",
        role=Role.TENDEREE,
        legal_representative="李四",
        now=NOW,
    )
    assert entity.region_code == "330784"


def test_an_invalid_code_is_refused_with_the_reason_on_the_field_and_nothing_stored():
    with pytest.raises(services.EntityInvalid) as raised:
        services.entity_register(
            actor=make_user(),
            kind=EntityKind.LEGAL_PERSON,
            name="甲公司",
            identifier="91110000600037341N",
            role=Role.BIDDER,
            legal_representative="张三",
            now=NOW,
        )
    assert "expected L" in raised.value.details["fields"]["identifier"]
    assert not MarketEntity.objects.exists()
    assert not RoleGrant.objects.filter(entity__isnull=False).exists()


def test_an_entity_registers_once_platform_wide():
    entity = make_entity()
    with pytest.raises(services.EntityAlreadyRegistered) as raised:
        services.entity_register(
            actor=make_user(),
            kind=EntityKind.LEGAL_PERSON,
            name="另一个名字",
            identifier=entity.identifier,
            role=Role.BIDDER,
            legal_representative="张三",
            now=NOW,
        )
    assert raised.value.code == "entity_already_registered"
    assert MarketEntity.objects.count() == 1


def test_an_individual_business_needs_a_92_code():
    with pytest.raises(services.EntityInvalid) as raised:
        services.entity_register(
            actor=make_user(),
            kind=EntityKind.INDIVIDUAL_BUSINESS,
            name="李记五金店",
            identifier=uscc(900),
            role=Role.BIDDER,
            legal_representative="李四",
            now=NOW,
        )
    assert "92" in raised.value.details["fields"]["identifier"]


def test_approval_is_versioned_audited_and_a_ledger_leaf_in_the_same_transaction():
    # given
    operator = make_operator()
    entity = make_entity()
    # when
    services.entity_approve(actor=operator, entity_id=entity.pk, now=NOW)
    # then
    entity.refresh_from_db()
    assert (entity.status, entity.version, entity.reviewed_by) == (EntityStatus.APPROVED, 2, operator)
    leaf = Leaf.objects.get(event_type="registry:entity:approved")
    event = json.loads(bytes(leaf.data))
    assert event["subjects"] == {"entity": str(entity.pk)}
    assert event["hashes"]["snapshot"] == services.snapshot_hash(entity.versions.get(version=2).snapshot)
    assert event["data"]["identifier"] == entity.identifier
    assert leaf.record_key == f"entity:{entity.pk}"


def test_only_operators_approve_and_only_pending_entities():
    entity = make_entity()
    with pytest.raises(PermissionDenied):
        services.entity_approve(actor=make_user(), entity_id=entity.pk, now=NOW)
    operator = make_operator()
    services.entity_approve(actor=operator, entity_id=entity.pk, now=NOW)
    with pytest.raises(services.ReviewNotPending):
        services.entity_approve(actor=operator, entity_id=entity.pk, now=NOW)
    assert Leaf.objects.filter(event_type="registry:entity:approved").count() == 1


def test_a_rejection_needs_a_reason_and_the_entity_can_be_resubmitted():
    operator = make_operator()
    registrant = make_user()
    entity = make_entity(registrant=registrant)
    with pytest.raises(InvalidInput):
        services.entity_reject(actor=operator, entity_id=entity.pk, reason="  ", now=NOW)
    services.entity_reject(actor=operator, entity_id=entity.pk, reason="营业执照照片不清晰", now=NOW)
    entity.refresh_from_db()
    assert (entity.status, entity.rejection_reason) == (EntityStatus.REJECTED, "营业执照照片不清晰")
    services.entity_resubmit(actor=registrant, entity_id=entity.pk, now=NOW)
    entity.refresh_from_db()
    assert (entity.status, entity.rejection_reason, entity.version) == (EntityStatus.PENDING, "", 3)


def test_changing_an_approved_entitys_name_sends_it_back_to_review_but_a_phone_change_does_not():
    operator = make_operator()
    registrant = make_user()
    entity = make_entity(registrant=registrant, approved_by=operator)
    services.entity_update(
        actor=registrant, entity_id=entity.pk, changes={"contact_phone": "02788886666"}, now=NOW
    )
    entity.refresh_from_db()
    assert (entity.status, entity.version) == (EntityStatus.APPROVED, 3)
    services.entity_update(actor=registrant, entity_id=entity.pk, changes={"name": "新名称有限公司"}, now=NOW)
    entity.refresh_from_db()
    assert (entity.status, entity.version, entity.name) == (EntityStatus.PENDING, 4, "新名称有限公司")
    changes = [v.change for v in entity.versions.order_by("version")]
    assert changes == ["registered", "approved", "updated", "updated"]


def test_strangers_cannot_change_an_entity_and_nothing_changes():
    entity = make_entity()
    with pytest.raises(PermissionDenied):
        services.entity_update(actor=make_user(), entity_id=entity.pk, changes={"name": "劫持"}, now=NOW)
    entity.refresh_from_db()
    assert (entity.name.startswith("测试建设有限公司"), entity.version) == (True, 1)


def test_identity_fields_cannot_be_changed_by_update():
    registrant = make_user()
    entity = make_entity(registrant=registrant)
    with pytest.raises(services.EntityInvalid):
        services.entity_update(
            actor=registrant, entity_id=entity.pk, changes={"identifier": uscc(999)}, now=NOW
        )


def test_qualifications_and_personnel_are_versioned_in_the_snapshot():
    registrant = make_user()
    entity = make_entity(registrant=registrant)
    services.qualification_add(
        actor=registrant,
        entity_id=entity.pk,
        qualification_type="建筑工程施工总承包",
        grade="一级",
        number="D142000001",
        issuer="湖北省住房和城乡建设厅",
        valid_from=date(2024, 1, 1),
        valid_until=date(2029, 1, 1),
        now=NOW,
    )
    person = services.person_add(
        actor=registrant,
        entity_id=entity.pk,
        full_name="李工",
        id_number="360426199101010071",
        position="项目经理",
        title="一级建造师",
        certificate_number="鄂142000000001",
        now=NOW,
    )
    latest = entity.versions.order_by("-version").first()
    assert latest is not None
    assert latest.snapshot["qualifications"][0]["grade"] == "一级"
    assert latest.snapshot["personnel"][0]["full_name"] == "李工"
    with pytest.raises(Conflict):
        services.person_add(
            actor=registrant,
            entity_id=entity.pk,
            full_name="李工",
            id_number="360426199101010071",
            position="",
            title="",
            certificate_number="",
            now=NOW,
        )
    services.person_remove(actor=registrant, entity_id=entity.pk, person_id=person.pk, now=NOW)
    entity.refresh_from_db()
    assert entity.version == 4


def test_a_qualification_must_end_after_it_starts():
    registrant = make_user()
    entity = make_entity(registrant=registrant)
    with pytest.raises(services.EntityInvalid) as raised:
        services.qualification_add(
            actor=registrant,
            entity_id=entity.pk,
            qualification_type="甲",
            grade="",
            number="1",
            issuer="乙",
            valid_from=date(2025, 1, 1),
            valid_until=date(2025, 1, 1),
            now=NOW,
        )
    assert set(raised.value.details["fields"]) == {"valid_until"}


def test_an_entity_certificate_issued_to_another_code_is_refused(settings):
    from pathlib import Path

    from tenderhall.accounts.demo_ca import demo_ca_load_or_create
    from tenderhall.accounts.models import Certificate
    from tenderhall.accounts.services import CertificateOwnerMismatch
    from tenderhall.core import clock

    registrant = make_user()
    entity = make_entity(registrant=registrant)
    ca = demo_ca_load_or_create(Path(settings.TENDERHALL_DATA_DIR) / "demo-ca", now=clock.now())
    _key, other = ca.issue_key_and_certificate(
        common_name="别家", serial_number=uscc(4242), usage="signing", now=clock.now()
    )
    _key, own = ca.issue_key_and_certificate(
        common_name=entity.name, serial_number=entity.identifier, usage="signing", now=clock.now()
    )
    with pytest.raises(CertificateOwnerMismatch) as raised:
        services.entity_certificate_upload(
            actor=registrant, entity_id=entity.pk, data=other, usage="signing", now=clock.now()
        )
    assert raised.value.details == {"certificate_holder": uscc(4242), "owner": entity.identifier}
    assert not Certificate.objects.exists()
    certificate = services.entity_certificate_upload(
        actor=registrant, entity_id=entity.pk, data=own, usage="signing", now=clock.now()
    )
    assert certificate.entity == entity
    leaf = Leaf.objects.get(event_type="accounts:certificate:accepted")
    assert json.loads(bytes(leaf.data))["hashes"] == {"certificate": f"sha256:{certificate.fingerprint}"}


def test_the_list_filters_by_sub_registry_tag_exactly():
    from tenderhall.registry.selectors import entity_list

    registrant = make_user()
    tagged = make_entity(registrant=registrant, approved_by=make_operator())
    services.entity_update(
        actor=registrant, entity_id=tagged.pk, changes={"tags": ["data_assets", "enterprises"]}, now=NOW
    )
    make_entity(approved_by=make_operator())
    assert list(entity_list(viewer=None, tag="enterprises")) == [tagged]
    assert list(entity_list(viewer=None, tag="data_assets")) == [tagged]
    assert list(entity_list(viewer=None, tag="enterprise")) == []
    assert list(entity_list(viewer=None, tag="personnel")) == []


def full_width(text: str) -> str:
    """The text as typed with a Chinese input method in full-width mode."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def test_a_code_typed_in_full_width_is_stored_in_ascii_and_registers_once():
    # given an entity whose code was typed in full-width characters, lower-case letters included
    entity = services.entity_register(
        actor=make_user(),
        kind=EntityKind.LEGAL_PERSON,
        name="江城建工集团有限公司",
        identifier=full_width("91350100m000100y43"),
        role=Role.BIDDER,
        legal_representative="王国栋",
        now=NOW,
    )
    # when the same code is registered again in ASCII
    with pytest.raises(services.EntityAlreadyRegistered):
        services.entity_register(
            actor=make_user(),
            kind=EntityKind.LEGAL_PERSON,
            name="另一个名字",
            identifier="91350100M000100Y43",
            role=Role.BIDDER,
            legal_representative="张三",
            now=NOW,
        )
    # then one entity exists, its code and the parts taken from it in ASCII
    entity.refresh_from_db()
    assert (entity.identifier, entity.org_code, entity.region_code) == (
        "91350100M000100Y43",
        "M000100Y4",
        "350100",
    )
    assert MarketEntity.objects.count() == 1


def test_a_natural_persons_full_width_identity_number_registers_once():
    # given
    services.entity_register(
        actor=make_user(),
        kind=EntityKind.NATURAL_PERSON,
        name="张小明",
        identifier="11010519491231002X",
        role=Role.BIDDER,
        now=NOW,
    )
    # when the same person registers with the number in full-width digits and a lower-case x
    with pytest.raises(services.EntityAlreadyRegistered):
        services.entity_register(
            actor=make_user(),
            kind=EntityKind.NATURAL_PERSON,
            name="张小明",
            identifier=full_width("11010519491231002x"),
            role=Role.BIDDER,
            now=NOW,
        )
    # then
    assert list(MarketEntity.objects.values_list("identifier", flat=True)) == ["11010519491231002X"]


def test_a_person_typed_in_full_width_is_the_same_person_on_the_personnel_list():
    # given a person on the entity's list
    registrant = make_user()
    entity = make_entity(registrant=registrant)

    def add(id_number: str) -> None:
        services.person_add(
            actor=registrant,
            entity_id=entity.pk,
            full_name="李工",
            id_number=id_number,
            position="",
            title="",
            certificate_number="",
            now=NOW,
        )

    add(full_width("11010519491231002x"))
    # when the same number is added again in ASCII
    with pytest.raises(Conflict):
        add("11010519491231002X")
    # then
    assert list(entity.personnel.values_list("id_number", flat=True)) == ["11010519491231002X"]


def test_searching_the_list_by_a_full_width_code_finds_the_entity():
    from tenderhall.registry.selectors import entity_list

    entity = make_entity(approved_by=make_operator())
    assert list(entity_list(viewer=None, search=full_width(entity.identifier.lower()))) == [entity]


def test_a_region_code_typed_in_full_width_is_stored_in_ascii_and_retyping_it_is_no_change():
    # given an entity registered with its region code typed in full-width digits
    registrant = make_user()
    entity = services.entity_register(
        actor=registrant,
        kind=EntityKind.LEGAL_PERSON,
        name="江城建工集团有限公司",
        identifier="91350100M000100Y43",
        region_code=full_width("350102"),
        role=Role.BIDDER,
        legal_representative="王国栋",
        now=NOW,
    )
    # when the same code is sent again in full-width, then another one
    same = services.entity_update(
        actor=registrant, entity_id=entity.pk, changes={"region_code": full_width("350102")}, now=NOW
    )
    other = services.entity_update(
        actor=registrant, entity_id=entity.pk, changes={"region_code": full_width("350103")}, now=NOW
    )
    # then the codes are kept in ASCII, and only the real change made a version
    assert (entity.region_code, same.version) == ("350102", 1)
    assert (other.region_code, other.version) == ("350103", 2)
    assert MarketEntity.objects.get(pk=entity.pk).region_code == "350103"


def test_text_longer_than_its_column_is_refused_per_field_and_nothing_is_stored():
    # PostgreSQL refused such rows with a database error (a 500) and SQLite kept them whole
    user = make_user()
    with pytest.raises(InvalidInput) as refused:
        services.entity_register(
            actor=user,
            kind=EntityKind.LEGAL_PERSON,
            name="名" * 201,
            identifier=uscc(901),
            role=Role.BIDDER,
            legal_representative="张" * 101,
            address="路" * 301,
            now=NOW,
        )
    assert refused.value.details["fields"] == {
        "name": "At most 200 characters.",
        "legal_representative": "At most 100 characters.",
        "address": "At most 300 characters.",
    }
    assert not MarketEntity.objects.exists()
    entity = make_entity()
    with pytest.raises(InvalidInput) as refused:
        services.entity_update(
            actor=entity.registered_by, entity_id=entity.pk, changes={"address": "路" * 301}, now=NOW
        )
    assert refused.value.details["fields"] == {"address": "At most 300 characters."}
    with pytest.raises(InvalidInput) as refused:
        services.qualification_add(
            actor=entity.registered_by,
            entity_id=entity.pk,
            qualification_type="建筑工程施工总承包",
            grade="一" * 51,
            number="D" * 65,
            issuer="住房和城乡建设部",
            valid_from=date(2025, 1, 1),
            valid_until=date(2030, 1, 1),
            now=NOW,
        )
    assert refused.value.details["fields"] == {
        "grade": "At most 50 characters.",
        "number": "At most 64 characters.",
    }
    with pytest.raises(InvalidInput) as refused:
        services.person_add(
            actor=entity.registered_by,
            entity_id=entity.pk,
            full_name="李四",
            id_number="11010519491231002X",
            position="项" * 101,
            title="",
            certificate_number="",
            now=NOW,
        )
    assert refused.value.details["fields"] == {"position": "At most 100 characters."}
    entity.refresh_from_db()
    assert (entity.address, entity.version, entity.qualifications.count(), entity.personnel.count()) == (
        "",
        1,
        0,
        0,
    )


@pytest.mark.parametrize(
    ("phone", "accepted"),
    [
        ("13812345678", True),
        ("138 1234 5678", True),
        ("010-88886666", True),
        ("0755-8888666", True),
        ("0755-88886666-801", True),
        ("(0755)88886666", True),
        ("400-810-8888", True),
        ("+86 10 8888 6666", True),
        ("+44 20 7946 0958", True),
        ("12345", False),
        ("call the office", False),
        ("8888666", False),  # a local number without its area code
        ("010-8888666６", True),  # full-width digits are read as ASCII
    ],
)
def test_the_contact_phone_is_a_number_someone_can_call(phone, accepted):
    user = make_user()
    register = {
        "actor": user,
        "kind": EntityKind.LEGAL_PERSON,
        "name": "江城建工集团有限公司",
        "identifier": uscc(902),
        "role": Role.BIDDER,
        "legal_representative": "张三",
        "contact_phone": phone,
        "now": NOW,
    }
    if accepted:
        assert services.entity_register(**register).contact_phone
    else:
        with pytest.raises(InvalidInput) as refused:
            services.entity_register(**register)
        assert set(refused.value.details["fields"]) == {"contact_phone"}
        assert not MarketEntity.objects.exists()
