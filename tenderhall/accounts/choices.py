from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    """The roles of DESIGN.md's Users table. The public needs no account."""

    TENDEREE = "tenderee", _("招标人/采购人")
    AGENCY = "agency", _("招标代理机构")
    BIDDER = "bidder", _("投标人/供应商")
    EXPERT = "expert", _("评标专家")
    OPENING_OFFICIAL = "opening_official", _("开标人/监标人")
    REGULATOR = "regulator", _("行政监督部门")
    OPERATOR = "operator", _("交易中心")


class IdType(models.TextChoices):
    RESIDENT_ID = "resident_id", _("居民身份证")
    PASSPORT = "passport", _("护照")


class CertificateUsage(models.TextChoices):
    SIGNING = "signing", _("签名证书")
    ENCRYPTION = "encryption", _("加密证书")


class CertificateStatus(models.TextChoices):
    ACCEPTED = "accepted", _("有效")
    REVOKED = "revoked", _("已撤销")


class Scope(models.TextChoices):
    """What a personal API token may do. A token never does more than its user may."""

    PROFILE_READ = "profile:read", _("读取本人资料")
    REGISTRY_READ = "registry:read", _("读取主体库")
    REGISTRY_WRITE = "registry:write", _("登记和修改主体")
    REGISTRY_REVIEW = "registry:review", _("审核主体")
    CERTIFICATES_WRITE = "certificates:write", _("上传和撤销证书")
    AUDIT_READ = "audit:read", _("读取审计日志")
    TOKENS_WRITE = "tokens:write", _("管理API令牌")
    ACCOUNTS_ADMIN = "accounts:admin", _("管理用户和角色")
    PROCEDURES_READ = "procedures:read", _("读取招标项目")
    PROCEDURES_WRITE = "procedures:write", _("办理招标项目")


# Roles that act for the public interest or hold secrets: two-factor login is required.
TWO_FACTOR_ROLES = frozenset({Role.AGENCY, Role.EXPERT, Role.OPENING_OFFICIAL, Role.REGULATOR, Role.OPERATOR})
# Roles whose grant names the market entity the person acts for.
ENTITY_ROLES = frozenset({Role.TENDEREE, Role.AGENCY, Role.BIDDER})
