from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from tenderhall.procedures.choices import (
    ComplaintStatus,
    NoticeKind,
    ObjectionStatus,
    ObjectionSubject,
    Sector,
    TenderStatus,
)


class CodeCounter(models.Model):
    """The next sequence number within a scope (a region and year, or a parent code). Codes are never reused:
    the counter only grows, under a row lock."""

    scope = models.CharField(max_length=40, primary_key=True)
    next_value = models.PositiveIntegerField(default=1)

    def __str__(self) -> str:
        return f"{self.scope} → {self.next_value}"


class Project(models.Model):
    """A project registered on the platform (进场登记)."""

    code = models.CharField(_("项目编号"), max_length=17, unique=True)
    name = models.CharField(_("项目名称"), max_length=200)
    sector = models.CharField(_("行业"), max_length=12, choices=Sector.choices)
    region_code = models.CharField(_("行政区划代码"), max_length=6)
    tenderee = models.ForeignKey(
        "registry.MarketEntity", on_delete=models.PROTECT, related_name="projects_as_tenderee"
    )
    agency = models.ForeignKey(
        "registry.MarketEntity",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="projects_as_agency",
    )
    budget = models.DecimalField(_("预算/估算（元）"), max_digits=20, decimal_places=2)
    funding_source = models.CharField(_("资金来源"), max_length=200, blank=True)
    registered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    registered_at = models.DateTimeField()

    class Meta:
        ordering = ("-registered_at",)
        constraints = (models.CheckConstraint(condition=Q(budget__gt=0), name="project_budget_positive"),)

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Tender(models.Model):
    """A tender project (招标项目 / 采购项目) run under one procedure type, with its timeline and status."""

    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="tenders")
    code = models.CharField(_("招标项目编号"), max_length=20, unique=True)
    name = models.CharField(_("招标项目名称"), max_length=200)
    procedure_type = models.CharField(_("交易方式"), max_length=40)
    status = models.CharField(max_length=16, choices=TenderStatus.choices, default=TenderStatus.DRAFT)
    suspended_from = models.CharField(max_length=16, choices=TenderStatus.choices, blank=True)
    control_price = models.DecimalField(
        _("最高投标限价（元）"), max_digits=20, decimal_places=2, null=True, blank=True
    )
    description = models.TextField(_("招标范围与内容"), blank=True)
    # Timeline (aware datetimes). Opening is at the bid deadline.
    notice_publish_at = models.DateTimeField(_("公告发布时间"), null=True, blank=True)
    documents_from = models.DateTimeField(_("文件获取开始"), null=True, blank=True)
    documents_until = models.DateTimeField(_("文件获取截止"), null=True, blank=True)
    bid_deadline = models.DateTimeField(_("投标截止时间"), null=True, blank=True)
    prequalification_deadline = models.DateTimeField(_("资格预审申请截止"), null=True, blank=True)
    # The opening's decryption window: how long bidders have, from the deadline, to decrypt their bids.
    decryption_minutes = models.PositiveSmallIntegerField(_("解密时限（分钟）"), default=60)
    # Scheduler: when the next timed event is due (None: nothing pending).
    next_check_at = models.DateTimeField(null=True, blank=True, db_index=True)
    rules_version = models.CharField(max_length=40, blank=True)
    calendar_version = models.CharField(max_length=40, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()
    published_at = models.DateTimeField(null=True, blank=True)
    # What the tender committed to when published (timeline, lots, documents); hashed into the ledger.
    published_record = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at",)
        indexes = (models.Index(fields=("status", "bid_deadline")),)

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Lot(models.Model):
    """A lot or section (标段/包): bids are made per lot."""

    tender = models.ForeignKey(Tender, on_delete=models.CASCADE, related_name="lots")
    code = models.CharField(_("标段（包）编号"), max_length=23, unique=True)
    name = models.CharField(_("标段（包）名称"), max_length=200)
    estimate = models.DecimalField(_("估算价（元）"), max_digits=20, decimal_places=2)
    control_price = models.DecimalField(
        _("最高投标限价（元）"), max_digits=20, decimal_places=2, null=True, blank=True
    )
    bid_bond = models.DecimalField(_("投标保证金（元）"), max_digits=20, decimal_places=2, default=0)
    duration_days = models.PositiveIntegerField(_("工期/服务期（日）"), null=True, blank=True)

    class Meta:
        ordering = ("code",)
        constraints = (
            models.CheckConstraint(condition=Q(estimate__gt=0), name="lot_estimate_positive"),
            models.CheckConstraint(condition=Q(bid_bond__gte=0), name="lot_bid_bond_not_negative"),
        )

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Notice(models.Model):
    """A public notice built from structured data; immutable once published (a correction is a new one)."""

    tender = models.ForeignKey(Tender, on_delete=models.PROTECT, related_name="notices")
    kind = models.CharField(max_length=20, choices=NoticeKind.choices)
    title = models.CharField(max_length=300)
    body = models.TextField()
    data = models.JSONField(default=dict)
    region_code = models.CharField(max_length=6, db_index=True)
    sector = models.CharField(max_length=12, choices=Sector.choices)
    procedure_type = models.CharField(max_length=40)
    publish_at = models.DateTimeField(db_index=True)
    published_at = models.DateTimeField(null=True, blank=True, db_index=True)
    content_hash = models.CharField(max_length=71, blank=True)
    corrects = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="corrections"
    )
    search_text = models.TextField(blank=True)  # normalised text for full-text search (portal)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ("-publish_at", "-id")
        indexes = (models.Index(fields=("published_at", "kind")),)

    def __str__(self) -> str:
        return self.title


class TenderDocument(models.Model):
    """A tender document, hashed with SHA-256 and SM3, signed by the agency (CMS detached signature)."""

    tender = models.ForeignKey(Tender, on_delete=models.PROTECT, related_name="documents")
    name = models.CharField(max_length=200)
    file = models.FileField(upload_to="tender-documents/%Y/%m/")
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    sm3 = models.CharField(max_length=64)
    signature = models.BinaryField()
    signer_certificate = models.ForeignKey("accounts.Certificate", on_delete=models.PROTECT, related_name="+")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField()
    superseded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("uploaded_at", "id")

    def __str__(self) -> str:
        return self.name


class DocumentDownload(models.Model):
    """Each download of a document: who, for which entity, when and from where. Secret until the deadline."""

    document = models.ForeignKey(TenderDocument, on_delete=models.PROTECT, related_name="downloads")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    downloaded_at = models.DateTimeField()
    remote_addr = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ("downloaded_at", "id")
        indexes = (models.Index(fields=("document", "user")),)

    def __str__(self) -> str:
        return f"{self.document_id} by {self.user_id}"


class Question(models.Model):
    """A bidder's question. The asker is known to the platform only; the agency sees the text."""

    tender = models.ForeignKey(Tender, on_delete=models.PROTECT, related_name="questions")
    asked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField()
    asked_at = models.DateTimeField()
    clarification = models.ForeignKey(
        "Clarification", null=True, blank=True, on_delete=models.PROTECT, related_name="questions"
    )

    class Meta:
        ordering = ("asked_at", "id")

    def __str__(self) -> str:
        return f"question {self.pk} on {self.tender_id}"


class Clarification(models.Model):
    """A clarification or amendment (澄清/修改) sent to every downloader; one that may affect bid preparation
    and comes too late moves the bid deadline."""

    tender = models.ForeignKey(Tender, on_delete=models.PROTECT, related_name="clarifications")
    text = models.TextField()
    affects_bids = models.BooleanField(default=False)
    published_at = models.DateTimeField()
    deadline_before = models.DateTimeField()
    deadline_after = models.DateTimeField()
    notice = models.OneToOneField(Notice, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ("published_at", "id")

    def __str__(self) -> str:
        return f"clarification {self.pk} on {self.tender_id}"


class Notification(models.Model):
    """A message to one user (an answer, an amendment, a moved deadline), shown on their pages."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    tender = models.ForeignKey(Tender, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    text = models.TextField()
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")

    def __str__(self) -> str:
        return f"to {self.user_id}: {self.text[:40]}"


class Objection(models.Model):
    """An objection (异议) to the tenderee; the procedure is suspended while an objection to the documents
    is open."""

    tender = models.ForeignKey(Tender, on_delete=models.PROTECT, related_name="objections")
    subject = models.CharField(max_length=12, choices=ObjectionSubject.choices)
    raised_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    raised_for = models.ForeignKey("registry.MarketEntity", on_delete=models.PROTECT, related_name="+")
    text = models.TextField()
    raised_at = models.DateTimeField()
    answer_due_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=ObjectionStatus.choices, default=ObjectionStatus.OPEN)
    answer = models.TextField(blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ("raised_at", "id")
        constraints = (
            models.CheckConstraint(
                condition=Q(status=ObjectionStatus.OPEN) | (~Q(answer="") & Q(answered_at__isnull=False)),
                name="objection_answered_has_answer",
            ),
        )

    def __str__(self) -> str:
        return f"objection {self.pk} on {self.tender_id}"


class Complaint(models.Model):
    """A complaint (投诉) to the regulator, with its acceptance and decision limits."""

    tender = models.ForeignKey(Tender, on_delete=models.PROTECT, related_name="complaints")
    raised_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    raised_for = models.ForeignKey("registry.MarketEntity", on_delete=models.PROTECT, related_name="+")
    text = models.TextField()
    raised_at = models.DateTimeField()
    accept_due_at = models.DateTimeField()
    decision_due_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(
        max_length=10, choices=ComplaintStatus.choices, default=ComplaintStatus.SUBMITTED
    )
    outcome = models.TextField(blank=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    handled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("raised_at", "id")

    def __str__(self) -> str:
        return f"complaint {self.pk} on {self.tender_id}"
