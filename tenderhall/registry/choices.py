from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class EntityKind(models.TextChoices):
    LEGAL_PERSON = "legal_person", _("法人")
    OTHER_ORGANISATION = "other_organisation", _("非法人组织")
    INDIVIDUAL_BUSINESS = "individual_business", _("个体工商户")
    NATURAL_PERSON = "natural_person", _("自然人")
    INTERMEDIARY = "intermediary", _("中介机构")


class EntityStatus(models.TextChoices):
    PENDING = "pending", _("待审核")
    APPROVED = "approved", _("已通过")
    REJECTED = "rejected", _("已驳回")


class SubRegistry(models.TextChoices):
    """The thematic sub-registries an entity can be listed in."""

    INTERMEDIARY_SERVICES = "intermediary_services", _("中介服务事项")
    PERSONNEL = "personnel", _("人员")
    ENTERPRISES = "enterprises", _("企业")
    DATA_ASSETS = "data_assets", _("数据资产")


# Natural persons are identified by their identity document, everyone else by the USCC.
PERSON_KINDS = frozenset({EntityKind.NATURAL_PERSON})
