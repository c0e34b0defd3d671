from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class EscrowPlan(models.Model):
    """Who holds a tender's escrow opening key, and how many it takes (k of n); set before publishing."""

    tender = models.OneToOneField("procedures.Tender", on_delete=models.CASCADE, related_name="escrow_plan")
    k = models.PositiveSmallIntegerField()
    officials = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="+")

    class Meta:
        constraints = (models.CheckConstraint(condition=Q(k__gte=2), name="escrow_plan_k_at_least_2"),)

    def __str__(self) -> str:
        return f"escrow plan of tender {self.tender_id}"


class EscrowKey(models.Model):
    """The public side of a tender's escrow opening key: its certificate (the commitment) and the sealed
    shares. The private key is never stored: only the officials' shares, each sealed to its official."""

    tender = models.OneToOneField("procedures.Tender", on_delete=models.PROTECT, related_name="escrow_key")
    certificate_pem = models.TextField()
    commitment = models.CharField(max_length=71)
    split_id = models.CharField(max_length=32)
    k = models.PositiveSmallIntegerField()
    n = models.PositiveSmallIntegerField()
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"escrow key of tender {self.tender_id}"


class SealedShare(models.Model):
    escrow = models.ForeignKey(EscrowKey, on_delete=models.PROTECT, related_name="shares")
    official = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    x = models.PositiveSmallIntegerField()
    digest = models.CharField(max_length=71)
    envelope = models.BinaryField()

    class Meta:
        constraints = (models.UniqueConstraint(fields=("escrow", "x"), name="sealed_share_once"),)

    def __str__(self) -> str:
        return f"share {self.x} of {self.escrow_id}"


class SessionStatus(models.TextChoices):
    DECRYPTING = "decrypting", _("解密中")
    DECIDING = "deciding", _("解密结束，待确认结果")
    RECORDED = "recorded", _("开标记录已公布")


class Outcome(models.TextChoices):
    PENDING = "pending", _("待解密")
    OPENED = "opened", _("已解密")
    REVOKED = "revoked", _("投标人原因解密失败（视为撤销）")
    WITHDRAWN = "withdrawn", _("非投标人原因解密失败（视为撤回）")


class OpenedVia(models.TextChoices):
    BIDDER = "bidder", _("投标人解密")
    ESCROW = "escrow", _("托管密钥解密")


class OpeningSession(models.Model):
    """A tender's opening (开标): started by the scheduler at the bid deadline, then the decryption window,
    the outcomes, and the opening record (开标记录表) once published."""

    tender = models.OneToOneField("procedures.Tender", on_delete=models.PROTECT, related_name="opening")
    status = models.CharField(max_length=12, choices=SessionStatus.choices, default=SessionStatus.DECRYPTING)
    started_at = models.DateTimeField()
    decryption_until = models.DateTimeField()
    escrow_allowed = models.BooleanField()  # the procedure's rules allow escrow opening, and a key exists
    record = models.JSONField(null=True, blank=True)  # the signed record, as published
    record_signature = models.JSONField(null=True, blank=True)
    record_notice = models.OneToOneField(
        "procedures.Notice", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"opening of tender {self.tender_id}"


class OpeningLot(models.Model):
    """A lot at the opening: opened when it had enough bids at the deadline, else failed (流标)."""

    session = models.ForeignKey(OpeningSession, on_delete=models.CASCADE, related_name="lots")
    lot = models.OneToOneField("procedures.Lot", on_delete=models.PROTECT, related_name="opening")
    bid_count = models.PositiveIntegerField()
    failed = models.BooleanField()

    class Meta:
        ordering = ("lot__code",)

    def __str__(self) -> str:
        return f"lot {self.lot_id} at the opening"


class OpenedBid(models.Model):
    """One bid at the opening: its outcome and, once decrypted, what its bid form says."""

    session = models.ForeignKey(OpeningSession, on_delete=models.CASCADE, related_name="bids")
    bid = models.OneToOneField("bids.Bid", on_delete=models.PROTECT, related_name="opening")
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.PENDING)
    opened_via = models.CharField(max_length=8, choices=OpenedVia.choices, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_failure = models.CharField(max_length=40, blank=True)  # the reason code of the last failed attempt
    fault_reason = models.TextField(blank=True)  # why it failed, as decided
    decided_at = models.DateTimeField(null=True, blank=True)
    form = models.JSONField(null=True, blank=True)  # bid.json
    price = models.DecimalField(max_digits=20, decimal_places=2, null=True, blank=True)
    duration_days = models.PositiveIntegerField(null=True, blank=True)
    package = models.FileField(upload_to="opened/%Y/%m/", blank=True)  # the decrypted, signed package
    package_sha256 = models.CharField(max_length=64, blank=True)
    signer_fingerprint = models.CharField(max_length=64, blank=True)
    signer_subject = models.CharField(max_length=500, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)  # the bidder confirmed the record

    class Meta:
        ordering = ("bid__lot__code", "bid__submitted_at", "id")

    def __str__(self) -> str:
        return f"opening of bid {self.bid_id}"


class SubmittedShare(models.Model):
    """An official's escrow share, held only until k have come: then the key is rebuilt in memory, used and
    these rows are deleted in the same transaction. Fewer than k shares say nothing about the key."""

    session = models.ForeignKey(OpeningSession, on_delete=models.CASCADE, related_name="shares")
    official = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    x = models.PositiveSmallIntegerField()
    share = models.TextField()
    submitted_at = models.DateTimeField()

    class Meta:
        constraints = (models.UniqueConstraint(fields=("session", "official"), name="submitted_share_once"),)

    def __str__(self) -> str:
        return f"share {self.x} for {self.session_id}"
