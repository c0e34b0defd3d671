"""Registry pages: the public list, an entity's page, registration with per-field checks, the review queue."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tenderhall.accounts.choices import Role
from tenderhall.accounts.forms import CertificateUploadForm
from tenderhall.accounts.models import User
from tenderhall.accounts.selectors import certificate_list_for_entity, user_has_role
from tenderhall.core import clock
from tenderhall.core.codes import region_name
from tenderhall.core.errors import DomainError, NotFound
from tenderhall.core.views import perform
from tenderhall.registry import rules, selectors, services
from tenderhall.registry.forms import EntityRegisterForm, EntityRejectForm


def _viewer(request: HttpRequest) -> User | None:
    user = request.user
    return user if isinstance(user, User) and user.is_authenticated else None


def entity_list_view(request: HttpRequest) -> HttpResponse:
    search = request.GET.get("q", "").strip()
    entities = selectors.entity_list(viewer=_viewer(request), search=search)[:100]
    return render(request, "registry/entity_list.html", {"entities": entities, "q": search})


def entity_detail_view(request: HttpRequest, entity_id: int) -> HttpResponse:
    viewer = _viewer(request)
    try:
        entity = selectors.access_entity_for_viewer(viewer=viewer, entity_id=entity_id)
    except NotFound:
        return render(request, "404.html", status=404)
    private = selectors.can_see_private(viewer, entity)
    return render(
        request,
        "registry/entity_detail.html",
        {
            "entity": entity,
            "region_name": region_name(entity.region_code),
            "private": private,
            "certificates": certificate_list_for_entity(entity.pk),
            "qualifications": entity.qualifications.all(),
            "personnel": entity.personnel.all() if private else [],
            "versions": entity.versions.select_related("changed_by").order_by("-version") if private else [],
            "certificate_form": CertificateUploadForm(),
            "reject_form": EntityRejectForm(),
            "is_operator": viewer is not None and user_has_role(viewer, Role.OPERATOR),
        },
    )


@login_required
def entity_register_view(request: HttpRequest) -> HttpResponse:
    form = EntityRegisterForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = _viewer(request)
        assert user is not None
        try:
            entity = services.entity_register(actor=user, **form.cleaned_data, now=clock.now())
        except DomainError as error:
            form.add_domain_error(error)
        else:
            messages.success(request, _("登记已提交，等待交易中心审核。"))
            return redirect("registry:entity_detail", entity.pk)
    return render(request, "registry/entity_register.html", {"form": form})


def entity_field_check_view(request: HttpRequest) -> HttpResponse:
    """htmx: as the user leaves the code fields, the same checks as the service, shown under each field."""
    values = {
        key: request.GET.get(key, "").strip()
        for key in ("kind", "name", "identifier", "region_code", "legal_representative")
    }
    if not values["region_code"]:
        values["region_code"] = rules.default_region(values["kind"], values["identifier"])
    problems = rules.entity_problems({**values, "tags": []})
    checked = [
        (field, problems.get(field, "") if values[field] else "") for field in ("identifier", "region_code")
    ]
    return render(request, "registry/field_check.html", {"checked": checked})


@login_required
def review_queue_view(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    if viewer is None or not user_has_role(viewer, Role.OPERATOR):
        return render(request, "404.html", status=404)
    return render(request, "registry/review_queue.html", {"entities": selectors.review_queue()})


def _perform(
    request: HttpRequest, entity_id: int, action: Callable[[User], object], done: str
) -> HttpResponse:
    """Run one service for the signed-in viewer of a visible entity, then show the entity with the outcome."""
    viewer = _viewer(request)
    assert viewer is not None  # the views are login_required

    def run() -> None:
        selectors.access_entity_for_viewer(viewer=viewer, entity_id=entity_id)
        action(viewer)

    return perform(request, run, done=done, then=redirect("registry:entity_detail", entity_id))


@login_required
@require_POST
def entity_approve_view(request: HttpRequest, entity_id: int) -> HttpResponse:
    return _perform(
        request,
        entity_id,
        lambda actor: services.entity_approve(actor=actor, entity_id=entity_id, now=clock.now()),
        _("已审核通过。"),
    )


@login_required
@require_POST
def entity_reject_view(request: HttpRequest, entity_id: int) -> HttpResponse:
    reason = str(request.POST.get("reason", ""))
    return _perform(
        request,
        entity_id,
        lambda actor: services.entity_reject(
            actor=actor, entity_id=entity_id, reason=reason, now=clock.now()
        ),
        _("已驳回。"),
    )


@login_required
@require_POST
def entity_resubmit_view(request: HttpRequest, entity_id: int) -> HttpResponse:
    return _perform(
        request,
        entity_id,
        lambda actor: services.entity_resubmit(actor=actor, entity_id=entity_id, now=clock.now()),
        _("已重新提交审核。"),
    )


@login_required
@require_POST
def entity_certificate_upload_view(request: HttpRequest, entity_id: int) -> HttpResponse:
    form = CertificateUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _("请选择证书用途和证书文件。"))
        return redirect("registry:entity_detail", entity_id)
    return _perform(
        request,
        entity_id,
        lambda actor: services.entity_certificate_upload(
            actor=actor,
            entity_id=entity_id,
            data=form.certificate_bytes(),
            usage=form.cleaned_data["usage"],
            now=clock.now(),
        ),
        _("证书已通过验证并绑定。"),
    )
