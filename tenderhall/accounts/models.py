from __future__ import annotations

from typing import ClassVar

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from tenderhall.accounts.choices import CertificateStatus, CertificateUsage, IdType, Role


class UserManager(BaseUserManager["User"]):
    def create_user(self, username: str, password: str | None = None, **fields: object) -> User:
        user = self.model(username=username, **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, username: str, password: str | None = None, **fields: object) -> User:
        fields.setdefault("is_staff", True)
        fields.setdefault("is_superuser", True)
        return self.create_user(username, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    """A real-name person. Identity numbers are personal information: shown masked, never logged."""

    username = models.CharField(_("用户名"), max_length=64, unique=True)
    full_name = models.CharField(_("姓名"), max_length=100)
    id_type = models.CharField(_("证件类型"), max_length=16, choices=IdType.choices)
    id_number = models.CharField(_("证件号码"), max_length=32)
    id_country = models.CharField(_("签发国家"), max_length=3, default="CHN")
    phone = models.CharField(_("手机号码"), max_length=20)
    email = models.EmailField(_("电子邮箱"))
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField()
    # Two-factor: a TOTP secret is confirmed once the user proves they hold it.
    totp_secret = models.CharField(max_length=64, blank=True)
    totp_confirmed_at = models.DateTimeField(null=True, blank=True)
    totp_last_step = models.BigIntegerField(default=0)
    # Lockout after repeated failures (rules in accounts/rules.py).
    failed_logins = models.PositiveIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "username"
    REQUIRED_FIELDS: ClassVar[list[str]] = ["full_name", "email"]

    class Meta:
        constraints = (
            models.UniqueConstraint(fields=("id_type", "id_country", "id_number"), name="user_identity_once"),
        )

    def __str__(self) -> str:
        return f"{self.full_name} ({self.username})"

    @property
    def id_number_masked(self) -> str:
        from tenderhall.core.audit import masked

        return masked(self.id_number)

    @property
    def two_factor_enabled(self) -> bool:
        return self.totp_confirmed_at is not None


class RoleGrant(models.Model):
    """A role a person holds, for a market entity where the role acts for one."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="role_grants")
    role = models.CharField(max_length=20, choices=Role.choices)
    entity = models.ForeignKey(
        "registry.MarketEntity", null=True, blank=True, on_delete=models.CASCADE, related_name="role_grants"
    )
    granted_at = models.DateTimeField()
    granted_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = (
            models.UniqueConstraint(fields=("user", "role", "entity"), name="role_grant_once"),
            models.UniqueConstraint(
                fields=("user", "role"), condition=Q(entity__isnull=True), name="role_grant_once_platform"
            ),
        )

    def __str__(self) -> str:
        return f"{self.user_id} {self.role} {self.entity_id or '-'}"


class ApiToken(models.Model):
    """A personal API token. Only a SHA-256 of the secret is stored; the token is shown once."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    secret_hash = models.CharField(max_length=64)
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    # A key of a registered client system: its requests are whitelisted, rate-limited and logged.
    client = models.ForeignKey(
        "ApiClient", null=True, blank=True, on_delete=models.CASCADE, related_name="keys"
    )

    class Meta:
        ordering = ("-created_at",)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix})"


class Certificate(models.Model):
    """An X.509 certificate accepted after path validation, bound to a user or to a market entity."""

    usage = models.CharField(max_length=12, choices=CertificateUsage.choices)
    status = models.CharField(
        max_length=10, choices=CertificateStatus.choices, default=CertificateStatus.ACCEPTED
    )
    user = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="certificates"
    )
    entity = models.ForeignKey(
        "registry.MarketEntity", null=True, blank=True, on_delete=models.PROTECT, related_name="certificates"
    )
    der = models.BinaryField()
    fingerprint = models.CharField(max_length=64, unique=True)
    subject = models.CharField(max_length=500)
    issuer = models.CharField(max_length=500)
    serial = models.CharField(max_length=80)
    not_before = models.DateTimeField()
    not_after = models.DateTimeField()
    uploaded_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    accepted_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-accepted_at",)
        constraints = (
            models.CheckConstraint(
                condition=Q(user__isnull=False) | Q(entity__isnull=False), name="certificate_has_owner"
            ),
        )

    def __str__(self) -> str:
        return f"{self.usage} {self.subject}"


class ApiClient(models.Model):
    """A client system that exchanges data with the platform (数据传输): registered by an operator under a
    responsible person's real name, reachable only from its whitelisted networks, rate-limited, logged, and
    watched by a volume threshold that raises an alert for operators and regulators."""

    name = models.CharField(_("系统名称"), max_length=100, unique=True)
    organisation = models.CharField(_("使用单位"), max_length=200)
    owner = models.ForeignKey(User, on_delete=models.PROTECT, related_name="api_clients")
    responsible_name = models.CharField(_("责任人姓名"), max_length=100)
    responsible_id_type = models.CharField(_("责任人证件类型"), max_length=16, choices=IdType.choices)
    responsible_id_number = models.CharField(_("责任人证件号码"), max_length=32)
    responsible_phone = models.CharField(_("责任人手机号码"), max_length=20)
    allowed_networks = models.JSONField(_("地址白名单"), default=list)  # CIDR strings
    rate_limit_per_minute = models.PositiveIntegerField(_("每分钟请求上限"), default=600)
    volume_threshold = models.PositiveIntegerField(_("流量告警阈值（请求数）"), default=10000)
    volume_period_seconds = models.PositiveIntegerField(_("流量统计周期（秒）"), default=3600)
    active = models.BooleanField(default=True)
    registered_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    registered_at = models.DateTimeField()

    class Meta:
        ordering = ("name",)
        constraints = (
            models.CheckConstraint(
                condition=Q(rate_limit_per_minute__gte=1), name="api_client_rate_positive"
            ),
            models.CheckConstraint(
                condition=Q(volume_period_seconds__gte=60), name="api_client_period_minute"
            ),
        )

    def __str__(self) -> str:
        return self.name

    @property
    def responsible_id_masked(self) -> str:
        from tenderhall.core.audit import masked

        return masked(self.responsible_id_number)


class ApiClientWindow(models.Model):
    """A request counter of one client over one window (``rate``: a minute; ``volume``: its threshold
    period). In the database, so that every app server counts into the same row."""

    client = models.ForeignKey(ApiClient, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=10)
    starts_at = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = (
            models.UniqueConstraint(fields=("client", "kind", "starts_at"), name="api_client_window_once"),
        )

    def __str__(self) -> str:
        return f"{self.client_id} {self.kind} {self.starts_at:%Y-%m-%d %H:%M}: {self.count}"


class ApiAccessLog(models.Model):
    """One request made with a client system's key, admitted or refused, with the answer's status."""

    client = models.ForeignKey(ApiClient, on_delete=models.CASCADE, related_name="access_log")
    token = models.ForeignKey(ApiToken, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(db_index=True)
    remote_addr = models.GenericIPAddressField(null=True, blank=True)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=300)
    status_code = models.PositiveSmallIntegerField()
    refusal = models.CharField(max_length=40, blank=True)  # the error code when the client was refused
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ("-id",)

    def __str__(self) -> str:
        return f"{self.client_id} {self.method} {self.path} {self.status_code}"
