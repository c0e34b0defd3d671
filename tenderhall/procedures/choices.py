from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Sector(models.TextChoices):
    """The first character of a project code says the sector (E works, G government procurement, Q other)."""

    WORKS = "works", _("工程建设")
    PROCUREMENT = "procurement", _("政府采购")
    OTHER = "other", _("其他交易")


SECTOR_LETTERS: dict[str, str] = {Sector.WORKS: "E", Sector.PROCUREMENT: "G", Sector.OTHER: "Q"}


class TenderStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    PUBLISHED = "published", _("已发布")
    BIDDING = "bidding", _("投标中")
    BIDDING_CLOSED = "bidding_closed", _("投标截止")
    OPENING = "opening", _("开标中")
    EVALUATION = "evaluation", _("评标中")
    PUBLICITY = "publicity", _("公示中")
    AWARDED = "awarded", _("已定标")
    CONTRACTED = "contracted", _("已签合同")
    CLOSED = "closed", _("已结束")
    SUSPENDED = "suspended", _("暂停")
    CANCELLED = "cancelled", _("已终止")
    FAILED = "failed", _("流标")


class NoticeKind(models.TextChoices):
    TENDER = "tender", _("招标公告")
    PREQUALIFICATION = "prequalification", _("资格预审公告")
    AMENDMENT = "amendment", _("变更/澄清公告")
    CANDIDATES = "candidates", _("中标候选人公示")
    RESULT = "result", _("中标结果公告")
    TERMINATION = "termination", _("终止公告")
    OPENING_RECORD = "opening_record", _("开标记录")
    FAILED = "failed", _("流标公告")


class ObjectionSubject(models.TextChoices):
    DOCUMENTS = "documents", _("招标文件")
    OPENING = "opening", _("开标")
    RESULT = "result", _("评标结果")


class ObjectionStatus(models.TextChoices):
    OPEN = "open", _("待答复")
    ANSWERED = "answered", _("已答复")


class ComplaintStatus(models.TextChoices):
    SUBMITTED = "submitted", _("已提交")
    ACCEPTED = "accepted", _("已受理")
    REJECTED = "rejected", _("不予受理")
    UPHELD = "upheld", _("投诉成立")
    DISMISSED = "dismissed", _("驳回投诉")
