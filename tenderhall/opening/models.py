from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


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
