from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from tenderhall.accounts.choices import ENTITY_ROLES, Role
from tenderhall.accounts.forms import ServiceForm
from tenderhall.registry.choices import EntityKind, SubRegistry


class EntityRegisterForm(ServiceForm):
    kind = forms.ChoiceField(label=_("主体类型"), choices=EntityKind.choices)
    name = forms.CharField(label=_("名称"), max_length=200)
    identifier = forms.CharField(
        label=_("统一社会信用代码/身份证号码"),
        max_length=32,
        help_text=_("法人和其他组织填18位统一社会信用代码；自然人填居民身份证号码。"),
    )
    region_code = forms.CharField(
        label=_("行政区划代码"),
        max_length=6,
        required=False,
        help_text=_("留空则取代码中的登记管理机关行政区划码。"),
    )
    legal_representative = forms.CharField(label=_("法定代表人/负责人"), max_length=100, required=False)
    address = forms.CharField(label=_("住所"), max_length=300, required=False)
    contact_phone = forms.CharField(label=_("联系电话"), max_length=20, required=False)
    tags = forms.MultipleChoiceField(
        label=_("子库"), choices=SubRegistry.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    role = forms.ChoiceField(
        label=_("您代表该主体的身份"),
        choices=[(r.value, r.label) for r in Role if r in ENTITY_ROLES],
        initial=Role.BIDDER,
    )


class EntityRejectForm(ServiceForm):
    reason = forms.CharField(label=_("驳回理由"), widget=forms.Textarea(attrs={"rows": 3}))
