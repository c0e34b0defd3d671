from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from tenderhall.bids.choices import BidStatus


class Bid(models.Model):
    """A sealed envelope for one lot from one bidder entity. Nobody but the bidder can read it before the
    opening; earlier envelopes stay when replaced (superseded) or withdrawn."""

    token = models.UUIDField(
        default=uuid.uuid4, unique=True, editable=False
    )  # public name, e.g. in the ledger
    lot = models.ForeignKey("procedures.Lot", on_delete=models.PROTECT, related_name="bids")
    entity = models.ForeignKey("registry.MarketEntity", on_delete=models.PROTECT, related_name="bids")
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    envelope = models.FileField(upload_to="bids/%Y/%m/")
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    content_encryption = models.CharField(max_length=20)
    status = models.CharField(max_length=12, choices=BidStatus.choices, default=BidStatus.SUBMITTED)
    submitted_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)  # when superseded or withdrawn
    replaces = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    bond_amount = models.DecimalField(max_digits=20, decimal_places=2)
    bond_payer_account = models.CharField(max_length=64, blank=True)
    bond_guarantee_reference = models.CharField(max_length=100, blank=True)
    receipt = models.JSONField(null=True, blank=True)
    timestamp_token = models.BinaryField(null=True, blank=True)

    class Meta:
        ordering = ("submitted_at", "id")
        constraints = (
            models.UniqueConstraint(
                fields=("lot", "entity"),
                condition=Q(status=BidStatus.SUBMITTED),
                name="bid_one_active_per_lot",
            ),
            models.CheckConstraint(
                condition=~Q(bond_payer_account="") | ~Q(bond_guarantee_reference=""), name="bid_bond_source"
            ),
        )

    def __str__(self) -> str:
        return f"bid {self.token}"
