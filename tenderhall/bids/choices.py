from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class BidStatus(models.TextChoices):
    SUBMITTED = "submitted", _("已递交")
    SUPERSEDED = "superseded", _("已被替换")
    WITHDRAWN = "withdrawn", _("已撤回")
