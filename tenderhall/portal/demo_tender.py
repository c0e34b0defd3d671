"""A published demo tender for `tenderhall demo-data`: a works tender by the demo agency, with lawful dates
from the day it runs, signed documents and its notice, made through the services like real data."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509 import load_pem_x509_certificate

from tenderhall.accounts.demo_ca import DemoCA
from tenderhall.accounts.models import User
from tenderhall.procedures import services
from tenderhall.procedures.calendar import calendar_load
from tenderhall.procedures.deadlines import Timeline, timeline_violations
from tenderhall.procedures.documents import document_upload
from tenderhall.procedures.models import Project, Tender
from tenderhall.procedures.rules import procedure_rules
from tenderhall.registry.models import MarketEntity
from tenderhall.registry.services import entity_certificate_upload

PROJECT_NAME = "江城市第一实验中学教学楼改造工程"
PROCEDURE = "works_open"
LOCAL = ZoneInfo("Asia/Shanghai")
DOCUMENT = (
    "江城市第一实验中学教学楼改造工程施工招标文件\n"
    "第一章 招标公告\n第二章 投标人须知\n第三章 评标办法（综合评估法）\n第四章 合同条款及格式\n"
    "第五章 工程量清单\n第六章 图纸\n第七章 技术标准和要求\n第八章 投标文件格式\n"
).encode()


def lawful_deadline(*, documents_from: datetime) -> datetime:
    """The earliest bid deadline at 09:30 Beijing time that keeps every limit of the procedure."""
    rules, calendar = procedure_rules(PROCEDURE), calendar_load()
    local = documents_from.astimezone(LOCAL)
    deadline = (local + timedelta(days=20)).replace(hour=9, minute=30, second=0, microsecond=0)
    for _ in range(5):
        timeline = Timeline(
            notice_published_at=documents_from,
            documents_from=documents_from,
            documents_until=deadline,
            bid_deadline=deadline,
        )
        violations = timeline_violations(rules, timeline, calendar=calendar)
        if not violations:
            return deadline
        deadline = max(v.earliest_legal for v in violations)
    msg = "no lawful demo deadline found"
    raise RuntimeError(msg)


def demo_tender_publish(
    *,
    agency_user: User,
    agency: MarketEntity,
    tenderee: MarketEntity,
    ca: DemoCA,
    now: datetime,
    project_name: str = PROJECT_NAME,
    tender_name: str = "江城市第一实验中学教学楼改造施工",
    decryption_minutes: int = 60,
) -> Tender | None:
    """Publish a demo tender once, as of ``now``; None when it already exists."""
    if Project.objects.filter(name=project_name, tenderee=tenderee).exists():
        return None
    key_pem, cert_pem = ca.issue_key_and_certificate(
        common_name=agency.name,
        serial_number=agency.identifier,
        organization=agency.name,
        usage="signing",
        now=now,
    )
    entity_certificate_upload(actor=agency_user, entity_id=agency.pk, data=cert_pem, usage="signing", now=now)
    project = services.project_register(
        actor=agency_user,
        name=project_name,
        sector="works",
        region_code="420100",
        tenderee_id=tenderee.pk,
        agency_id=agency.pk,
        budget=Decimal("12800000"),
        funding_source="财政资金",
        now=now,
    )
    tender = services.tender_create(
        actor=agency_user,
        project_id=project.pk,
        name=tender_name,
        procedure_type=PROCEDURE,
        control_price=Decimal("11500000"),
        description="教学楼主体加固、外立面改造、给排水及电气改造，工期180日历天。",
        now=now,
    )
    services.lot_add(
        actor=agency_user,
        tender_id=tender.pk,
        name="施工标段",
        estimate=Decimal("11800000"),
        control_price=Decimal("11500000"),
        bid_bond=Decimal("200000"),
        duration_days=180,
        now=now,
    )
    deadline = lawful_deadline(documents_from=now)
    services.tender_schedule(
        actor=agency_user,
        tender_id=tender.pk,
        notice_publish_at=now,
        documents_from=now,
        documents_until=deadline,
        bid_deadline=deadline,
        decryption_minutes=decryption_minutes,
        now=now,
    )
    key = serialization.load_pem_private_key(key_pem, password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    signature = (
        pkcs7.PKCS7SignatureBuilder()
        .set_data(DOCUMENT)
        .add_signer(load_pem_x509_certificate(cert_pem), key, hashes.SHA256())
        .sign(serialization.Encoding.DER, [pkcs7.PKCS7Options.DetachedSignature, pkcs7.PKCS7Options.Binary])
    )
    document_upload(
        actor=agency_user,
        tender_id=tender.pk,
        name="招标文件.txt",
        file=io.BytesIO(DOCUMENT),
        signature=signature,
        now=now,
    )
    return services.tender_publish(actor=agency_user, tender_id=tender.pk, now=now)
