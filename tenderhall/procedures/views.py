"""Pages for the agency (or a tenderee tendering by itself): projects, tenders, lots, timeline, publishing."""

from __future__ import annotations

from collections.abc import Callable

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tenderhall.accounts.choices import Role
from tenderhall.accounts.models import User
from tenderhall.accounts.selectors import user_has_role
from tenderhall.core import clock
from tenderhall.core.errors import DomainError, NotFound
from tenderhall.core.views import perform
from tenderhall.procedures import clarifications, documents, objections, participation, selectors, services
from tenderhall.procedures.forms import (
    CancelForm,
    ClarificationForm,
    DocumentUploadForm,
    LotForm,
    ProjectForm,
    TenderForm,
    TimelineForm,
)
from tenderhall.procedures.rules import PROCEDURE_TYPES


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _procedure_choices() -> list[tuple[str, str]]:
    return [(key, f"{rules.name_zh}（{rules.track}）") for key, rules in PROCEDURE_TYPES.items()]


@login_required
def project_list_view(request: HttpRequest) -> HttpResponse:
    form = ProjectForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            project = services.project_register(actor=_user(request), **form.cleaned_data, now=clock.now())
        except DomainError as error:
            form.add_domain_error(error)
        else:
            messages.success(request, _("项目已登记：%(code)s") % {"code": project.code})
            return redirect("procedures:project_detail", project.pk)
    user = _user(request)
    projects = [
        (project, selectors.can_manage_project(user, project))
        for project in selectors.project_list_for_manager(user).prefetch_related("tenders")
    ]
    return render(request, "procedures/project_list.html", {"projects": projects, "form": form})


@login_required
def project_detail_view(request: HttpRequest, project_id: int) -> HttpResponse:
    try:
        project = selectors.access_project_for_manager(actor=_user(request), project_id=project_id)
    except NotFound:
        return render(request, "404.html", status=404)
    form = TenderForm(request.POST or None)
    procedure_field = form.fields["procedure_type"]
    assert isinstance(procedure_field, forms.ChoiceField)
    procedure_field.choices = _procedure_choices()
    if request.method == "POST" and form.is_valid():
        try:
            tender = services.tender_create(
                actor=_user(request), project_id=project.pk, **form.cleaned_data, now=clock.now()
            )
        except DomainError as error:
            form.add_domain_error(error)
        else:
            return redirect("procedures:tender_manage", tender.pk)
    return render(
        request,
        "procedures/project_detail.html",
        {"project": project, "tenders": project.tenders.all(), "form": form},
    )


@login_required
def tender_manage_view(request: HttpRequest, tender_id: int) -> HttpResponse:
    try:
        tender = selectors.access_tender_for_manager(actor=_user(request), tender_id=tender_id)
    except NotFound:
        return render(request, "404.html", status=404)
    timeline = TimelineForm(initial={f: getattr(tender, f) for f in TimelineForm.base_fields})
    questions = clarifications.question_list_for_manager(actor=_user(request), tender_id=tender.pk)
    return render(
        request,
        "procedures/tender_manage.html",
        {
            "tender": tender,
            "lots": tender.lots.all(),
            "documents": tender.documents.filter(superseded_at__isnull=True),
            "notices": tender.notices.all(),
            "lot_form": LotForm(),
            "timeline_form": timeline,
            "cancel_form": CancelForm(),
            "document_form": DocumentUploadForm(),
            "questions": questions,
            "clarification_form": _clarification_form(None, questions),
            "clarifications": tender.clarifications.all(),
            "objections": objections.objection_list_for_viewer(viewer=_user(request), tender_id=tender.pk),
            "violations": request.session.pop(f"violations:{tender.pk}", []),
        },
    )


def _perform(
    request: HttpRequest, tender_id: int, action: Callable[[User], object], done: str
) -> HttpResponse:
    """Run one service on a tender the user manages, then show its page with the outcome (and, for a
    timeline that breaks limits, each violation)."""

    def run() -> None:
        selectors.access_tender_for_manager(actor=_user(request), tender_id=tender_id)
        try:
            action(_user(request))
        except services.TenderBreaksLimits as error:
            request.session[f"violations:{tender_id}"] = error.details.get("violations", [])
            raise

    return perform(request, run, done=done, then=redirect("procedures:tender_manage", tender_id))


@login_required
@require_POST
def lot_add_view(request: HttpRequest, tender_id: int) -> HttpResponse:
    form = LotForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请完整填写标段（包）信息。"))
        return redirect("procedures:tender_manage", tender_id)
    return _perform(
        request,
        tender_id,
        lambda actor: services.lot_add(
            actor=actor,
            tender_id=tender_id,
            **{k: v for k, v in form.cleaned_data.items() if v is not None},
            now=clock.now(),
        ),
        _("标段（包）已添加。"),
    )


@login_required
@require_POST
def tender_schedule_view(request: HttpRequest, tender_id: int) -> HttpResponse:
    form = TimelineForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请填写完整的时间安排。"))
        return redirect("procedures:tender_manage", tender_id)
    return _perform(
        request,
        tender_id,
        lambda actor: services.tender_schedule(
            actor=actor, tender_id=tender_id, **form.cleaned_data, now=clock.now()
        ),
        _("时间安排已保存。"),
    )


@login_required
@require_POST
def tender_publish_view(request: HttpRequest, tender_id: int) -> HttpResponse:
    return _perform(
        request,
        tender_id,
        lambda actor: services.tender_publish(actor=actor, tender_id=tender_id, now=clock.now()),
        _("招标项目已发布。"),
    )


@login_required
@require_POST
def tender_cancel_view(request: HttpRequest, tender_id: int) -> HttpResponse:
    reason = str(request.POST.get("reason", ""))
    return _perform(
        request,
        tender_id,
        lambda actor: services.tender_cancel(
            actor=actor, tender_id=tender_id, reason=reason, now=clock.now()
        ),
        _("招标项目已终止。"),
    )


def _clarification_form(
    data: object, questions: list[clarifications.QuestionForManager]
) -> ClarificationForm:
    form = ClarificationForm(data)  # type: ignore[arg-type]  # a QueryDict or None
    field = form.fields["question_ids"]
    assert isinstance(field, forms.MultipleChoiceField)
    field.choices = [(str(q.id), q.text[:80]) for q in questions if q.clarification_id is None]
    return form


@login_required
@require_POST
def document_upload_view(request: HttpRequest, tender_id: int) -> HttpResponse:
    form = DocumentUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _("请选择招标文件及其电子签名文件。"))
        return redirect("procedures:tender_manage", tender_id)
    upload, signature = form.cleaned_data["file"], form.cleaned_data["signature"]
    return _perform(
        request,
        tender_id,
        lambda actor: documents.document_upload(
            actor=actor,
            tender_id=tender_id,
            name=form.cleaned_data["name"],
            file=upload,
            signature=signature.read(documents.MAX_SIGNATURE_BYTES + 1),
            now=clock.now(),
        ),
        _("招标文件已验签并上传。"),
    )


@login_required
@require_POST
def clarification_publish_view(request: HttpRequest, tender_id: int) -> HttpResponse:
    try:
        questions = clarifications.question_list_for_manager(actor=_user(request), tender_id=tender_id)
    except NotFound:
        return render(request, "404.html", status=404)
    form = _clarification_form(request.POST, questions)
    if not form.is_valid():
        messages.error(request, _("请填写澄清或修改内容。"))
        return redirect("procedures:tender_manage", tender_id)
    return _perform(
        request,
        tender_id,
        lambda actor: clarifications.clarification_publish(
            actor=actor,
            tender_id=tender_id,
            text=form.cleaned_data["text"],
            affects_bids=form.cleaned_data["affects_bids"],
            question_ids=[int(q) for q in form.cleaned_data["question_ids"]],
            now=clock.now(),
        ),
        _("澄清已发布。"),
    )


def _to_tender_page(tender_id: int) -> HttpResponse:
    return redirect("portal:tender_detail", tender_id)


@login_required
@require_POST
def question_ask_view(request: HttpRequest, tender_id: int) -> HttpResponse:
    form = participation.QuestionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请填写问题。"))
        return _to_tender_page(tender_id)
    return perform(
        request,
        lambda: clarifications.question_ask(
            actor=_user(request), tender_id=tender_id, text=form.cleaned_data["text"], now=clock.now()
        ),
        done=_("问题已提交，答复将以澄清形式发布。"),
        then=_to_tender_page(tender_id),
    )


@login_required
@require_POST
def objection_raise_view(request: HttpRequest, tender_id: int) -> HttpResponse:
    form = participation.objection_form(_user(request), request.POST)
    if not form.is_valid():
        messages.error(request, _("请选择主体和异议事项并填写内容。"))
        return _to_tender_page(tender_id)
    return perform(
        request,
        lambda: objections.objection_raise(
            actor=_user(request), tender_id=tender_id, now=clock.now(), **form.cleaned_data
        ),
        done=_("异议已提出。"),
        then=_to_tender_page(tender_id),
    )


@login_required
def notifications_view(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "procedures/notifications.html",
        {"notifications": clarifications.notifications_for(_user(request))[:200]},
    )


@login_required
@require_POST
def objection_answer_view(request: HttpRequest, tender_id: int, objection_id: int) -> HttpResponse:
    answer = str(request.POST.get("answer", ""))
    return _perform(
        request,
        tender_id,
        lambda actor: objections.objection_answer(
            actor=actor, objection_id=objection_id, answer=answer, now=clock.now()
        ),
        _("异议已答复。"),
    )


@login_required
def complaint_list_view(request: HttpRequest) -> HttpResponse:
    """The regulator's desk: every complaint with its limits; others see their own."""
    return render(
        request,
        "procedures/complaints.html",
        {
            "complaints": objections.complaint_list_for_viewer(viewer=_user(request))[:200],
            "can_handle": user_has_role(_user(request), Role.REGULATOR),
        },
    )


@login_required
@require_POST
def complaint_handle_view(request: HttpRequest, complaint_id: int) -> HttpResponse:
    action, text = request.POST.get("action", ""), str(request.POST.get("text", ""))
    actor, now = _user(request), clock.now()
    handlers: dict[str, Callable[[], object]] = {
        "accept": lambda: objections.complaint_accept(actor=actor, complaint_id=complaint_id, now=now),
        "reject": lambda: objections.complaint_reject(
            actor=actor, complaint_id=complaint_id, reason=text, now=now
        ),
        "uphold": lambda: objections.complaint_decide(
            actor=actor, complaint_id=complaint_id, upheld=True, outcome=text, now=now
        ),
        "dismiss": lambda: objections.complaint_decide(
            actor=actor, complaint_id=complaint_id, upheld=False, outcome=text, now=now
        ),
    }
    if action not in handlers:
        messages.error(request, _("请选择处理方式。"))
        return redirect("procedures:complaint_list")
    return perform(
        request, handlers[action], done=_("投诉已处理。"), then=redirect("procedures:complaint_list")
    )
