from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from tenderhall.core.audit import masked
from tenderhall.registry.choices import PERSON_KINDS, EntityKind, EntityStatus, SubRegistry


class MarketEntity(models.Model):
    """A market entity (市场主体), registered once platform-wide under its identifier."""

    kind = models.CharField(_("主体类型"), max_length=24, choices=EntityKind.choices)
    name = models.CharField(_("名称"), max_length=200)
    # USCC for organisations and individual businesses; identity document number for natural persons.
    identifier = models.CharField(_("统一社会信用代码/证件号码"), max_length=32, unique=True)
    org_code = models.CharField(_("组织机构代码"), max_length=9, blank=True)
    region_code = models.CharField(_("行政区划代码"), max_length=6)
    address = models.CharField(_("住所"), max_length=300, blank=True)
    legal_representative = models.CharField(_("法定代表人/负责人"), max_length=100, blank=True)
    contact_phone = models.CharField(_("联系电话"), max_length=20, blank=True)
    tags = models.JSONField(_("子库"), default=list, blank=True)
    status = models.CharField(max_length=10, choices=EntityStatus.choices, default=EntityStatus.PENDING)
    rejection_reason = models.TextField(blank=True)
    version = models.PositiveIntegerField(default=1)
    registered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    registered_at = models.DateTimeField()
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("name",)
        verbose_name = _("市场主体")
        constraints = (
            models.CheckConstraint(
                condition=~Q(status=EntityStatus.REJECTED) | ~Q(rejection_reason=""),
                name="entity_rejection_has_reason",
            ),
        )

    def __str__(self) -> str:
        return self.name

    @property
    def public_identifier(self) -> str:
        """The identifier as the public sees it: an organisation's code in full, a person's identity number
        masked (the registry, notices, records and the ledger all show this one)."""
        return masked(self.identifier) if self.kind in PERSON_KINDS else self.identifier

    @property
    def tag_labels(self) -> list[str]:
        return [str(SubRegistry(tag).label) for tag in self.tags if tag in SubRegistry.values]


class EntityVersion(models.Model):
    """An immutable snapshot of an entity after each change: the history is every version in order."""

    entity = models.ForeignKey(MarketEntity, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    snapshot = models.JSONField()
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    changed_at = models.DateTimeField()
    change = models.CharField(max_length=40)

    class Meta:
        ordering = ("entity", "version")
        constraints = (models.UniqueConstraint(fields=("entity", "version"), name="entity_version_once"),)

    def __str__(self) -> str:
        return f"{self.entity_id} v{self.version}"


class Qualification(models.Model):
    """A qualification certificate (资质): type, grade, issuer, validity [valid_from, valid_until)."""

    entity = models.ForeignKey(MarketEntity, on_delete=models.CASCADE, related_name="qualifications")
    qualification_type = models.CharField(_("资质类别"), max_length=100)
    grade = models.CharField(_("等级"), max_length=50, blank=True)
    number = models.CharField(_("证书编号"), max_length=64)
    issuer = models.CharField(_("发证机关"), max_length=200)
    valid_from = models.DateField(_("有效期自"))
    valid_until = models.DateField(_("有效期至"))

    class Meta:
        ordering = ("qualification_type",)
        constraints = (
            models.CheckConstraint(
                condition=Q(valid_until__gt=models.F("valid_from")), name="qualification_period"
            ),
            models.UniqueConstraint(
                fields=("entity", "qualification_type", "number"), name="qualification_once"
            ),
        )

    def __str__(self) -> str:
        return f"{self.qualification_type} {self.grade}".strip()


class Person(models.Model):
    """A member of an entity's personnel (项目负责人, 注册建造师 ...), with their professional title."""

    entity = models.ForeignKey(MarketEntity, on_delete=models.CASCADE, related_name="personnel")
    full_name = models.CharField(_("姓名"), max_length=100)
    id_number = models.CharField(_("身份证号码"), max_length=32)
    position = models.CharField(_("职务/岗位"), max_length=100, blank=True)
    title = models.CharField(_("职称/执业资格"), max_length=100, blank=True)
    certificate_number = models.CharField(_("执业证书编号"), max_length=64, blank=True)

    class Meta:
        ordering = ("full_name",)
        constraints = (
            models.UniqueConstraint(fields=("entity", "id_number"), name="person_once_per_entity"),
        )

    def __str__(self) -> str:
        return self.full_name
