"""The notice search form: GET parameters, checked again by the selector."""

from __future__ import annotations

from functools import cache
from typing import Any

from django import forms
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _

from tenderhall.accounts.forms import ServiceForm
from tenderhall.core.codes import region_codes, region_name, region_withdrawn_after
from tenderhall.procedures.choices import NoticeKind, Sector, TenderStatus
from tenderhall.procedures.rules import PROCEDURE_TYPES

ANY = ("", _("全部"))
_NOT_CITIES = frozenset(  # level names of GB/T 2260 that group counties without being a city
    {"市辖区", "县", "市区", "郊区", "省直辖县级行政单位", "省直辖行政单位", "自治区直辖县级行政单位"}
)


@cache
def _regions() -> tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...]:
    """(code, name, cities) of each province, from the current GB/T 2260 codes."""
    current = sorted(code for code in region_codes() if region_withdrawn_after(code) is None)
    return tuple(
        (
            province,
            region_name(province) or province,
            tuple(
                (code, city)
                for code in current
                if code[:2] == province[:2] and code.endswith("00") and not code.endswith("0000")
                if (city := (region_name(code) or code).split()[-1]) not in _NOT_CITIES
            ),
        )
        for province in current
        if province.endswith("0000")
    )


def region_choices() -> list[tuple[str, Any]]:
    """Provinces, each with its prefecture-level cities (names are data: GB/T 2260 has them in Chinese)."""
    return [
        (name, [(code, gettext("%(region)s（全部）") % {"region": name}), *cities])
        for code, name, cities in _regions()
    ]


def procedure_type_name(key: str) -> str:
    """The procedure type's name in the page's language (its key if it is unknown)."""
    rules = PROCEDURE_TYPES.get(key)
    if rules is None:
        return key
    return rules.name_en if get_language() == "en" else rules.name_zh


def _with_any(choices: Any) -> list[tuple[str, Any]]:
    return [ANY, *choices]


class NoticeSearchForm(ServiceForm):
    q = forms.CharField(label=_("关键词"), required=False, max_length=200)
    region = forms.ChoiceField(label=_("地区"), required=False, choices=lambda: _with_any(region_choices()))
    sector = forms.ChoiceField(label=_("行业"), required=False, choices=_with_any(Sector.choices))
    procedure_type = forms.ChoiceField(
        label=_("交易方式"),
        required=False,
        choices=lambda: _with_any((key, procedure_type_name(key)) for key in PROCEDURE_TYPES),
    )
    kind = forms.ChoiceField(label=_("公告类型"), required=False, choices=_with_any(NoticeKind.choices))
    status = forms.ChoiceField(
        label=_("项目状态"),
        required=False,
        choices=_with_any(
            (value, label) for value, label in TenderStatus.choices if value != TenderStatus.DRAFT
        ),
    )
    published_from = forms.DateField(
        label=_("发布日期从"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    published_until = forms.DateField(
        label=_("至"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    cursor = forms.CharField(required=False, widget=forms.HiddenInput)

    def search_arguments(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "query": data["q"],
            "region": data["region"],
            "sector": data["sector"],
            "procedure_type": data["procedure_type"],
            "kind": data["kind"],
            "status": data["status"],
            "published_from": data["published_from"],
            "published_until": data["published_until"],
            "cursor": data["cursor"] or None,
        }

    def add_domain_error(self, error: Any) -> None:
        # The selector names the API's parameter; the page's search box is "q".
        fields = error.details.get("fields") if isinstance(error.details, dict) else None
        if isinstance(fields, dict) and "query" in fields:
            fields["q"] = fields.pop("query")
        super().add_domain_error(error)
