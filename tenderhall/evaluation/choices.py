from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class EvaluationStatus(models.TextChoices):
    SETUP = "setup", _("待组建评标委员会")
    COMMITTEE = "committee", _("专家确认中")
    SCORING = "scoring", _("评审中")
    CONCLUDED = "concluded", _("已出评审结果")
    REPORTED = "reported", _("评标报告已签署")
    FAILED = "failed", _("全部否决")


class MemberKind(models.TextChoices):
    EXPERT = "expert", _("评标专家")
    REPRESENTATIVE = "representative", _("招标人代表")


class MemberStatus(models.TextChoices):
    INVITED = "invited", _("待确认")
    DECLARED = "declared", _("已签署无利害关系承诺")
    DECLINED = "declined", _("已谢绝")


class ClarificationKind(models.TextChoices):
    GENERAL = "general", _("澄清")
    LOW_PRICE = "low_price", _("异常低价说明")


class RejectionGround(models.TextChoices):
    """The statutory rejection checklist (否决投标, 实施条例 art. 51)."""

    NOT_SIGNED = "not_signed", _("投标文件未经投标单位盖章和单位负责人签字")
    NO_CONSORTIUM_AGREEMENT = "no_consortium_agreement", _("联合体投标未提交共同投标协议")
    NOT_QUALIFIED = "not_qualified", _("投标人不符合资格条件")
    SEVERAL_BIDS = "several_bids", _("同一投标人提交两个以上不同的投标文件或者投标报价")
    PRICE_OUT_OF_BOUNDS = "price_out_of_bounds", _("投标报价低于成本或者高于最高投标限价")
    NOT_RESPONSIVE = "not_responsive", _("未对招标文件的实质性要求和条件作出响应")
    MISCONDUCT = "misconduct", _("串通投标、弄虚作假、行贿等违法行为")
