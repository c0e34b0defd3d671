"""Procedure test data made through the services: an agency, a tenderee, a project and a draft tender."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from tenderhall.accounts.choices import Role
from tenderhall.accounts.models import User
from tenderhall.accounts.tests.factories import enable_two_factor, make_user
from tenderhall.procedures import services
from tenderhall.procedures.models import Project, Tender
from tenderhall.registry.models import MarketEntity
from tenderhall.registry.tests.factories import make_entity, make_operator

# A Monday in a month without holidays, 09:00 in Beijing.
PUBLISH_AT = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


@dataclass
class Parties:
    agency_user: User
    agency: MarketEntity
    tenderee_user: User
    tenderee: MarketEntity
    operator: User


def make_parties() -> Parties:
    operator = make_operator()
    agency_user = make_user(role=None)
    agency = make_entity(
        registrant=agency_user, role=Role.AGENCY, approved_by=operator, name="华信工程咨询有限公司"
    )
    enable_two_factor(agency_user)  # the agency's role requires it
    tenderee_user = make_user()
    tenderee = make_entity(
        registrant=tenderee_user, role=Role.TENDEREE, approved_by=operator, name="江城市第一实验中学"
    )
    return Parties(agency_user, agency, tenderee_user, tenderee, operator)


def make_project(parties: Parties, *, sector: str = "works", now: datetime = PUBLISH_AT) -> Project:
    return services.project_register(
        actor=parties.agency_user,
        name="江城市第一实验中学教学楼改造工程",
        sector=sector,
        region_code="420100",
        tenderee_id=parties.tenderee.pk,
        agency_id=parties.agency.pk,
        budget=Decimal("12000000"),
        now=now,
    )


def make_draft_tender(
    parties: Parties,
    *,
    procedure_type: str = "works_open",
    sector: str = "works",
    now: datetime = PUBLISH_AT,
    days_to_deadline: int = 22,
) -> Tender:
    project = make_project(parties, sector=sector, now=now)
    tender = services.tender_create(
        actor=parties.agency_user,
        project_id=project.pk,
        name="教学楼改造施工",
        procedure_type=procedure_type,
        now=now,
    )
    services.lot_add(
        actor=parties.agency_user,
        tender_id=tender.pk,
        name="施工一标段",
        estimate=Decimal("9800000"),
        bid_bond=Decimal("150000"),
        now=now,
    )
    services.tender_schedule(
        actor=parties.agency_user,
        tender_id=tender.pk,
        notice_publish_at=now,
        documents_from=now,
        documents_until=now + timedelta(days=days_to_deadline - 1),
        bid_deadline=now + timedelta(days=days_to_deadline),
        now=now,
    )
    tender.refresh_from_db()
    return tender


def attach_signed_document(parties: Parties, tender: Tender, *, now: datetime = PUBLISH_AT) -> None:
    """The agency signs the tender documents with its accepted certificate and uploads them."""
    import io

    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.serialization import pkcs7
    from cryptography.x509 import load_pem_x509_certificate

    from tenderhall.procedures.documents import document_upload
    from tenderhall.procedures.tests.support import accept_for_entity, make_signer

    signer = make_signer(common_name=parties.agency.name, serial_number=parties.agency.identifier, now=now)
    accept_for_entity(signer, actor=parties.agency_user, entity=parties.agency, now=now)
    content = "第一章 招标公告\n第二章 投标人须知\n".encode() * 50
    key = serialization.load_pem_private_key(signer.key_pem, password=None)
    signature = (
        pkcs7.PKCS7SignatureBuilder()
        .set_data(content)
        .add_signer(load_pem_x509_certificate(signer.cert_pem), key, hashes.SHA256())  # type: ignore[arg-type]  # an RSA key
        .sign(serialization.Encoding.DER, [pkcs7.PKCS7Options.DetachedSignature, pkcs7.PKCS7Options.Binary])
    )
    document_upload(
        actor=parties.agency_user,
        tender_id=tender.pk,
        name="招标文件.pdf",
        file=io.BytesIO(content),
        signature=signature,
        now=now,
    )
