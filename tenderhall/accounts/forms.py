from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from tenderhall.accounts.choices import CertificateUsage, IdType, Scope
from tenderhall.core.errors import DomainError


class ServiceForm(forms.Form):
    """A form whose final checks are the service's: its per-field problems land on the fields."""

    def add_domain_error(self, error: DomainError) -> None:
        fields = error.details.get("fields") if isinstance(error.details, dict) else None
        placed = False
        if isinstance(fields, dict):
            for name, problem in fields.items():
                if name in self.fields:
                    self.add_error(
                        name, problem if problem not in ("taken", "registered", "required") else error.message
                    )
                    placed = True
        if not placed:
            self.add_error(None, error.message)


class LoginForm(ServiceForm):
    username = forms.CharField(label=_("用户名"), max_length=64)
    password = forms.CharField(label=_("密码"), widget=forms.PasswordInput)


class TotpForm(ServiceForm):
    code = forms.CharField(
        label=_("验证码"),
        max_length=8,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


class RegisterForm(ServiceForm):
    username = forms.CharField(label=_("用户名"), max_length=64)
    password = forms.CharField(label=_("密码"), widget=forms.PasswordInput, help_text=_("至少10个字符"))
    full_name = forms.CharField(label=_("姓名"), max_length=100)
    id_type = forms.ChoiceField(label=_("证件类型"), choices=IdType.choices)
    id_number = forms.CharField(label=_("证件号码"), max_length=32)
    id_country = forms.CharField(label=_("签发国家（护照）"), max_length=3, required=False, initial="CHN")
    phone = forms.CharField(label=_("手机号码"), max_length=20)
    email = forms.EmailField(label=_("电子邮箱"))


class CertificateUploadForm(ServiceForm):
    usage = forms.ChoiceField(label=_("证书用途"), choices=CertificateUsage.choices)
    certificate = forms.FileField(label=_("证书文件（PEM或DER）"))

    def certificate_bytes(self) -> bytes:
        upload: Any = self.cleaned_data["certificate"]
        return bytes(upload.read(64 * 1024))


class TokenForm(ServiceForm):
    name = forms.CharField(label=_("令牌名称"), max_length=100)
    scopes = forms.MultipleChoiceField(
        label=_("权限范围"), choices=Scope.choices, widget=forms.CheckboxSelectMultiple
    )
