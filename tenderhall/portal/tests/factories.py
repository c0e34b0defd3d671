"""Portal test data built directly with the ORM: projects, tenders, lots, notices and documents, so that these
tests depend on no procedure service. Publishing goes through ``core.hooks.notice_published``, as the
scheduler does, so the portal's registration in ``ready()`` is exercised too."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.core.files.base import ContentFile

from tenderhall.accounts.models import Certificate, User
from tenderhall.accounts.tests.factories import make_user
from tenderhall.core.hooks import notice_published
from tenderhall.procedures.choices import NoticeKind, Sector, TenderStatus
from tenderhall.procedures.models import Lot, Notice, Project, Tender, TenderDocument
from tenderhall.registry.models import MarketEntity
from tenderhall.registry.tests.factories import make_entity

# Monday 2 March 2026, 09:00 in Beijing.
T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
_sequence = itertools.count(1)
_people: dict[str, User | MarketEntity] = {}


def _author() -> User:
    user = _people.get("author")
    if not isinstance(user, User) or not User.objects.filter(pk=user.pk).exists():
        user = _people["author"] = make_user()
    return user


def _tenderee() -> MarketEntity:
    entity = _people.get("tenderee")
    if not isinstance(entity, MarketEntity) or not MarketEntity.objects.filter(pk=entity.pk).exists():
        entity = _people["tenderee"] = make_entity(name="江城市第一实验中学")
    return entity


def make_tender(
    *,
    name: str = "教学楼改造施工",
    region_code: str = "420102",
    sector: str = Sector.WORKS,
    procedure_type: str = "works_open",
    status: str = TenderStatus.BIDDING,
    lots: int = 1,
) -> Tender:
    n = next(_sequence)
    letters: dict[str, str] = {Sector.WORKS: "E", Sector.PROCUREMENT: "G"}
    letter = letters.get(sector, "Q")
    project = Project.objects.create(
        code=f"{letter}{region_code}2026{n:06d}",
        name=f"{name}项目",
        sector=sector,
        region_code=region_code,
        tenderee=_tenderee(),
        budget=Decimal("12000000"),
        registered_by=_author(),
        registered_at=T0,
    )
    tender = Tender.objects.create(
        project=project,
        code=f"{project.code}001",
        name=name,
        procedure_type=procedure_type,
        status=status,
        description="教学楼外立面及室内改造",
        notice_publish_at=T0,
        documents_from=T0,
        documents_until=T0 + timedelta(days=20),
        bid_deadline=T0 + timedelta(days=21, minutes=30),
        created_by=_author(),
        created_at=T0,
        published_at=None if status == TenderStatus.DRAFT else T0,
    )
    for i in range(1, lots + 1):
        Lot.objects.create(
            tender=tender,
            code=f"{tender.code}{i:03d}",
            name=f"施工{i}标段",
            estimate=Decimal("9800000"),
            bid_bond=Decimal("150000"),
            duration_days=180,
        )
    return tender


def make_notice(
    *,
    title: str = "教学楼改造施工招标公告",
    body: str = "项目名称：教学楼改造施工\n招标人：江城市第一实验中学",
    tender: Tender | None = None,
    kind: str = NoticeKind.TENDER,
    published_at: datetime | None = T0,
    corrects: Notice | None = None,
    **tender_fields: Any,
) -> Notice:
    """A notice of ``tender`` (a new one with ``tender_fields`` if none), published at ``published_at``
    through the publication hook; ``published_at=None`` leaves it unpublished."""
    tender = tender or make_tender(**tender_fields)
    notice = Notice.objects.create(
        tender=tender,
        kind=kind,
        title=title,
        body=body,
        data={"kind": kind, "tender": {"code": tender.code}},
        region_code=tender.project.region_code,
        sector=tender.project.sector,
        procedure_type=tender.procedure_type,
        publish_at=published_at or T0 + timedelta(days=30),
        corrects=corrects,
        search_text=" ".join(f"{title}\n{body}".split()),
        created_by=_author(),
        created_at=T0,
    )
    if published_at is not None:
        notice.published_at = published_at
        notice.save(update_fields=["published_at"])
        notice_published(notice)
    return notice


def make_document(
    tender: Tender, *, name: str = "招标文件.pdf", content: bytes = b"%PDF-1.7 test"
) -> TenderDocument:
    n = next(_sequence)
    certificate = Certificate.objects.create(
        usage="signing",
        entity=_tenderee(),
        der=b"0",
        fingerprint=f"{n:064x}",
        subject="CN=华信工程咨询有限公司",
        issuer="CN=tenderhall demo CA",
        serial=str(n),
        not_before=T0 - timedelta(days=1),
        not_after=T0 + timedelta(days=365),
        uploaded_by=_author(),
        accepted_at=T0,
    )
    document = TenderDocument(
        tender=tender,
        name=name,
        size=len(content),
        sha256="a" * 64,
        sm3="b" * 64,
        signature=b"sig",
        signer_certificate=certificate,
        uploaded_by=_author(),
        uploaded_at=T0,
    )
    document.file.save(name, ContentFile(content), save=False)
    document.save()
    return document
