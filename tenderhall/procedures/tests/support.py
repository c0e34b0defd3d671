"""Fixtures for the documents, questions, objections and complaints tests.

A published tender is built with the ORM (project, tender, lot) around a document uploaded through
``document_upload`` while the tender is still a draft, so these tests depend on no other procedure service.
Signatures are made by the ``openssl cms`` CLI (the independent peer) or by ``cryptography``'s PKCS#7 builder,
with keys and certificates issued by the demo CA and written to files.
"""

from __future__ import annotations

import io
import itertools
import json
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import NameOID
from django.conf import settings

from tenderhall.accounts import services as account_services
from tenderhall.accounts.choices import Role
from tenderhall.accounts.demo_ca import demo_ca_load_or_create
from tenderhall.accounts.models import Certificate, User
from tenderhall.accounts.tests.factories import make_user
from tenderhall.core.models import AuditEntry
from tenderhall.ledger.canonical import canonical_json
from tenderhall.ledger.models import Leaf
from tenderhall.procedures import clarifications, documents, objections
from tenderhall.procedures.choices import Sector, TenderStatus
from tenderhall.procedures.documents import document_download, document_upload
from tenderhall.procedures.models import (
    Clarification,
    Complaint,
    DocumentDownload,
    Lot,
    Notice,
    Notification,
    Objection,
    Project,
    Question,
    Tender,
    TenderDocument,
)
from tenderhall.registry import services as registry_services
from tenderhall.registry.models import MarketEntity
from tenderhall.registry.tests.factories import make_entity

# Monday 2 March 2026, 09:30 in Beijing: a month without holidays.
NOW = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)
# The bid deadline: Friday 27 March 2026, 09:30 in Beijing.
DEADLINE = datetime(2026, 3, 27, 1, 30, tzinfo=UTC)
DOCUMENT = "招标文件正文 — tender documents, version 1\n".encode() * 64
_numbers = itertools.count(1)


@dataclass
class Signer:
    """A signing key and certificate issued by the demo CA, written to files for the openssl CLI."""

    key_path: Path
    cert_path: Path
    key_pem: bytes
    cert_pem: bytes

    def openssl(self, content: bytes, *, digest: str = "sha256", pem: bool = False) -> bytes:
        """``openssl cms -sign -binary`` over ``content``: a detached signature, DER unless ``pem``."""
        directory = self.key_path.parent
        data = directory / f"content-{next(_numbers)}.bin"
        data.write_bytes(content)
        result = subprocess.run(
            [
                "openssl",
                "cms",
                "-sign",
                "-binary",
                "-md",
                digest,
                "-in",
                str(data),
                "-signer",
                str(self.cert_path),
                "-inkey",
                str(self.key_path),
                "-outform",
                "PEM" if pem else "DER",
            ],
            check=True,
            capture_output=True,
        )
        return result.stdout

    def pkcs7(self, content: bytes) -> bytes:
        """``cryptography``'s PKCS#7 builder: a detached, binary SignedData in DER."""
        key = serialization.load_pem_private_key(self.key_pem, password=None)
        certificate = x509.load_pem_x509_certificate(self.cert_pem)
        return (
            pkcs7.PKCS7SignatureBuilder()
            .set_data(content)
            .add_signer(certificate, key, hashes.SHA256())  # type: ignore[arg-type]  # an RSA key
            .sign(
                serialization.Encoding.DER,
                [pkcs7.PKCS7Options.DetachedSignature, pkcs7.PKCS7Options.Binary],
            )
        )


def make_ec_signer(*, common_name: str, serial_number: str, now: datetime = NOW) -> Signer:
    """An EC P-256 signing key, certified by the demo CA from a request."""
    ca = demo_ca_load_or_create(Path(settings.TENDERHALL_DATA_DIR) / "demo-ca", now=now)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.SERIAL_NUMBER, serial_number),
        ]
    )
    csr = x509.CertificateSigningRequestBuilder().subject_name(name).sign(key, hashes.SHA256())
    cert_pem = ca.issue_from_csr(csr.public_bytes(serialization.Encoding.PEM), usage="signing", now=now)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return _signer_files(key_pem, cert_pem)


def _signer_files(key_pem: bytes, cert_pem: bytes) -> Signer:
    directory = Path(settings.TENDERHALL_DATA_DIR) / "signers"
    directory.mkdir(exist_ok=True)
    n = next(_numbers)
    key_path, cert_path = directory / f"key-{n}.pem", directory / f"cert-{n}.pem"
    key_path.write_bytes(key_pem)
    key_path.chmod(0o600)
    cert_path.write_bytes(cert_pem)
    return Signer(key_path, cert_path, key_pem, cert_pem)


def make_signer(*, common_name: str, serial_number: str, now: datetime = NOW) -> Signer:
    ca = demo_ca_load_or_create(Path(settings.TENDERHALL_DATA_DIR) / "demo-ca", now=now)
    key_pem, cert_pem = ca.issue_key_and_certificate(
        common_name=common_name, serial_number=serial_number, usage="signing", now=now
    )
    return _signer_files(key_pem, cert_pem)


def accept_for_entity(
    signer: Signer, *, actor: User, entity: MarketEntity, now: datetime = NOW
) -> Certificate:
    return registry_services.entity_certificate_upload(
        actor=actor, entity_id=entity.pk, data=signer.cert_pem, usage="signing", now=now
    )


def accept_for_user(signer: Signer, *, user: User, now: datetime = NOW) -> Certificate:
    return account_services.certificate_accept(
        actor=user, data=signer.cert_pem, usage="signing", now=now, user=user
    )


@dataclass
class World:
    operator: User
    regulator: User
    agency_user: User
    agency: MarketEntity
    tenderee_user: User
    tenderee: MarketEntity
    other_agency_user: User
    other_agency: MarketEntity
    bidder: User
    bidder_entity: MarketEntity
    other_bidder: User
    other_bidder_entity: MarketEntity
    signer: Signer
    tender: Tender
    document: TenderDocument
    other_tender: Tender
    users: dict[str, User] = field(default_factory=dict)


def make_tender_row(
    *,
    agency: MarketEntity,
    tenderee: MarketEntity,
    created_by: User,
    procedure_type: str = "works_open",
    sector: str = Sector.WORKS,
    deadline: datetime = DEADLINE,
    now: datetime = NOW,
) -> Tender:
    """A draft tender with one lot and its timeline: documents on issue from a day before ``now`` until
    six days before the deadline."""
    n = next(_numbers)
    letter = "E" if sector == Sector.WORKS else "G"
    project = Project.objects.create(
        code=f"{letter}4201002026{n:06d}",
        name=f"江城市测试工程{n}",
        sector=sector,
        region_code="420100",
        tenderee=tenderee,
        agency=agency,
        budget=Decimal(12_000_000),
        registered_by=created_by,
        registered_at=now - timedelta(days=2),
    )
    tender = Tender.objects.create(
        project=project,
        code=f"{project.code}001",
        name=f"教学楼改造施工{n}",
        procedure_type=procedure_type,
        notice_publish_at=now - timedelta(days=1),
        documents_from=now - timedelta(days=1),
        documents_until=deadline - timedelta(days=6),
        bid_deadline=deadline,
        created_by=created_by,
        created_at=now - timedelta(days=2),
    )
    Lot.objects.create(
        tender=tender,
        code=f"{tender.code}001",
        name="施工一标段",
        estimate=Decimal(9_800_000),
        bid_bond=Decimal(150_000),
    )
    return tender


def publish_row(tender: Tender, *, status: str = TenderStatus.BIDDING, now: datetime = NOW) -> Tender:
    """Mark a draft tender published, as ``tender_publish`` and the scheduler would have left it."""
    tender.status = status
    tender.published_at = now - timedelta(days=1)
    tender.next_check_at = tender.bid_deadline if status == TenderStatus.BIDDING else tender.documents_from
    tender.save(update_fields=["status", "published_at", "next_check_at"])
    return tender


def make_world(
    *,
    status: str = TenderStatus.BIDDING,
    procedure_type: str = "works_open",
    sector: str = Sector.WORKS,
    deadline: datetime = DEADLINE,
    now: datetime = NOW,
) -> World:
    operator = make_user(role=Role.OPERATOR, now=now)
    regulator = make_user(role=Role.REGULATOR, now=now)

    def entity(role: str, name: str) -> tuple[User, MarketEntity]:
        user = make_user(now=now)
        return user, make_entity(registrant=user, role=role, approved_by=operator, name=name, now=now)

    agency_user, agency = entity(Role.AGENCY, "华信工程咨询有限公司")
    tenderee_user, tenderee = entity(Role.TENDEREE, "江城市第一实验中学")
    other_agency_user, other_agency = entity(Role.AGENCY, "远东招标代理有限公司")
    bidder, bidder_entity = entity(Role.BIDDER, "江城建设集团有限公司")
    other_bidder, other_bidder_entity = entity(Role.BIDDER, "长江路桥工程有限公司")
    issued = now - timedelta(days=3)  # before the documents are uploaded
    signer = make_signer(common_name="华信工程咨询有限公司", serial_number=agency.identifier, now=issued)
    accept_for_entity(signer, actor=agency_user, entity=agency, now=issued)
    tender = make_tender_row(
        agency=agency,
        tenderee=tenderee,
        created_by=agency_user,
        procedure_type=procedure_type,
        sector=sector,
        deadline=deadline,
        now=now,
    )
    document = document_upload(
        actor=agency_user,
        tender_id=tender.pk,
        name="招标文件.pdf",
        file=io.BytesIO(DOCUMENT),
        signature=signer.openssl(DOCUMENT),
        now=now - timedelta(days=2),
    )
    other_signer = make_signer(
        common_name="远东招标代理有限公司", serial_number=other_agency.identifier, now=issued
    )
    accept_for_entity(other_signer, actor=other_agency_user, entity=other_agency, now=issued)
    other_tender = make_tender_row(
        agency=other_agency, tenderee=tenderee, created_by=other_agency_user, now=now
    )
    document_upload(
        actor=other_agency_user,
        tender_id=other_tender.pk,
        name="招标文件.pdf",
        file=io.BytesIO(DOCUMENT),
        signature=other_signer.openssl(DOCUMENT),
        now=now - timedelta(days=2),
    )
    if status != TenderStatus.DRAFT:
        publish_row(tender, status=status, now=now)
        publish_row(other_tender, now=now)
    world = World(
        operator=operator,
        regulator=regulator,
        agency_user=agency_user,
        agency=agency,
        tenderee_user=tenderee_user,
        tenderee=tenderee,
        other_agency_user=other_agency_user,
        other_agency=other_agency,
        bidder=bidder,
        bidder_entity=bidder_entity,
        other_bidder=other_bidder,
        other_bidder_entity=other_bidder_entity,
        signer=signer,
        tender=tender,
        document=document,
        other_tender=other_tender,
    )
    world.users = {
        "bidder": bidder,
        "other_bidder": other_bidder,
        "agency": agency_user,
        "tenderee": tenderee_user,
        "other_agency": other_agency_user,
        "operator": operator,
        "regulator": regulator,
    }
    return world


def stored_files() -> list[Path]:
    """Every tender document file in storage."""
    root = Path(settings.TENDERHALL_DATA_DIR) / "files" / "tender-documents"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def state() -> dict[str, int]:
    """Row counts of everything these services write, and the stored files: equal before and after a
    refused request."""
    models = (
        TenderDocument,
        DocumentDownload,
        Question,
        Clarification,
        Notice,
        Notification,
        Objection,
        Complaint,
        AuditEntry,
        Leaf,
    )
    counts = {model.__name__: model.objects.count() for model in models}
    counts["files"] = len(stored_files())
    counts["suspended"] = Tender.objects.filter(status=TenderStatus.SUSPENDED).count()
    return counts


def leaves(event_type: str) -> list[dict[str, Any]]:
    return [
        json.loads(bytes(leaf.data)) for leaf in Leaf.objects.filter(event_type=event_type).order_by("index")
    ]


def leaf_source_problems() -> list[str]:
    """Rebuild every leaf of documents, clarifications, objections and complaints from the live rows and files
    with this module's leaf sources; what differs from the logged leaf, or the source's own complaints."""
    sources = {**documents.leaf_sources(), **clarifications.leaf_sources(), **objections.leaf_sources()}
    problems: list[str] = []
    for leaf in Leaf.objects.filter(event_type__in=sources).order_by("index"):
        event = json.loads(bytes(leaf.data))
        rebuilt = sources[leaf.event_type](event)
        if isinstance(rebuilt, list):
            problems.extend(rebuilt)
        elif canonical_json(rebuilt) != bytes(leaf.data):
            problems.append(f"leaf {leaf.index} ({leaf.event_type}) differs from the live data")
    return problems


def download(world: World, user: User, *, now: datetime = NOW) -> TenderDocument:
    return document_download(actor=user, document_id=world.document.pk, now=now, remote_addr="203.0.113.7")
