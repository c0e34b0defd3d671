"""What a signed-in bidder sees and does on a tender's public page: the clarifications, its own questions
and their answers, and the forms to ask and to object. The portal's tender page includes it."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from tenderhall.accounts.choices import Role
from tenderhall.accounts.models import RoleGrant, User
from tenderhall.core import clock
from tenderhall.procedures import clarifications
from tenderhall.procedures.choices import ObjectionSubject
from tenderhall.procedures.models import Clarification, Objection, Tender
from tenderhall.registry.choices import EntityStatus


class QuestionForm(forms.Form):
    text = forms.CharField(label=_("问题"), widget=forms.Textarea(attrs={"rows": 3}), max_length=4000)


class ObjectionForm(forms.Form):
    entity_id = forms.TypedChoiceField(label=_("以哪个主体的名义"), coerce=int, choices=())
    subject = forms.ChoiceField(label=_("异议事项"), choices=ObjectionSubject.choices)
    text = forms.CharField(label=_("异议内容"), widget=forms.Textarea(attrs={"rows": 3}), max_length=8000)


def bidder_entities(user: User) -> list[tuple[int, str]]:
    """The approved entities the user acts for as a bidder."""
    grants = RoleGrant.objects.filter(
        user=user, role=Role.BIDDER, entity__isnull=False, entity__status=EntityStatus.APPROVED
    ).select_related("entity")
    return [(g.entity.pk, g.entity.name) for g in grants if g.entity is not None]


def objection_form(user: User, data: Any = None) -> ObjectionForm:
    form = ObjectionForm(data)
    field = form.fields["entity_id"]
    assert isinstance(field, forms.TypedChoiceField)
    field.choices = bidder_entities(user)
    return form


def participation_context(viewer: User | None, tender: Tender) -> dict[str, Any]:
    context: dict[str, Any] = {
        "clarifications": Clarification.objects.filter(tender=tender).order_by("published_at", "pk"),
    }
    if viewer is None:
        return context
    now = clock.now()
    context |= {
        "my_questions": clarifications.question_list_for_asker(actor=viewer, tender_id=tender.pk),
        "can_ask": clarifications.on_issue(tender, now) and clarifications.has_downloaded(viewer, tender),
        "question_form": QuestionForm(),
        "my_objections": Objection.objects.filter(tender=tender, raised_by=viewer).order_by("raised_at"),
        "objection_form": objection_form(viewer) if bidder_entities(viewer) else None,
    }
    return context
