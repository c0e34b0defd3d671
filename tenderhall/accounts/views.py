"""Account pages: sign-in with two-factor, registration, profile, tokens and personal certificates."""

from __future__ import annotations

import segno
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tenderhall.accounts import selectors, services
from tenderhall.accounts.forms import CertificateUploadForm, LoginForm, RegisterForm, TokenForm, TotpForm
from tenderhall.accounts.models import User
from tenderhall.core import clock
from tenderhall.core.errors import DomainError

PENDING_USER = "accounts:pending_2fa_user"
BACKEND = "django.contrib.auth.backends.ModelBackend"


def _current(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _next_url(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return "/"


def login_view(request: HttpRequest) -> HttpResponse:
    form = LoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.user_authenticate(
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password"],
                now=clock.now(),
            )
        except DomainError as error:
            form.add_domain_error(error)
        else:
            if user.two_factor_enabled:
                request.session.cycle_key()
                request.session[PENDING_USER] = user.pk
                return redirect(f"{request.path}verify?next={_next_url(request)}")
            login(request, user, backend=BACKEND)
            return redirect(_next_url(request))
    return render(request, "accounts/login.html", {"form": form, "next": _next_url(request)})


def login_verify_view(request: HttpRequest) -> HttpResponse:
    pending = request.session.get(PENDING_USER)
    user = User.objects.filter(pk=pending, is_active=True).first() if isinstance(pending, int) else None
    if user is None:
        return redirect("accounts:login")
    form = TotpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.totp_verify(user=user, code=form.cleaned_data["code"], now=clock.now())
        except DomainError as error:
            form.add_domain_error(error)
        else:
            del request.session[PENDING_USER]
            login(request, user, backend=BACKEND)
            return redirect(_next_url(request))
    return render(request, "accounts/login_verify.html", {"form": form, "next": _next_url(request)})


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("portal:home")


def register_view(request: HttpRequest) -> HttpResponse:
    form = RegisterForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.user_register(**form.cleaned_data, now=clock.now())
        except DomainError as error:
            form.add_domain_error(error)
        else:
            login(request, user, backend=BACKEND)
            messages.success(request, _("注册成功。"))
            return redirect("accounts:profile")
    return render(request, "accounts/register.html", {"form": form})


@login_required
def totp_setup_view(request: HttpRequest) -> HttpResponse:
    user = _current(request)
    if user.two_factor_enabled:
        return redirect("accounts:profile")
    if not user.totp_secret:
        services.totp_enrol_start(user=user, now=clock.now())
    form = TotpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.totp_verify(user=user, code=form.cleaned_data["code"], now=clock.now())
        except DomainError as error:
            form.add_domain_error(error)
        else:
            messages.success(request, _("两步验证已启用。"))
            return redirect("accounts:profile")
    uri = services.totp_uri(user)
    qr = segno.make(uri, error="m").svg_inline(scale=4)
    return render(
        request, "accounts/totp_setup.html", {"form": form, "secret": user.totp_secret, "uri": uri, "qr": qr}
    )


@login_required
def profile_view(request: HttpRequest) -> HttpResponse:
    user = _current(request)
    return render(
        request,
        "accounts/profile.html",
        {
            "grants": selectors.role_grants_for_user(user),
            "tokens": selectors.token_list_for_user(user),
            "certificates": selectors.certificate_list_for_user(user),
            "certificate_form": CertificateUploadForm(),
            "token_form": TokenForm(),
            "two_factor_required": services.two_factor_required_for(user),
        },
    )


@login_required
@require_POST
def certificate_upload_view(request: HttpRequest) -> HttpResponse:
    user = _current(request)
    form = CertificateUploadForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.certificate_accept(
                actor=user,
                user=user,
                data=form.certificate_bytes(),
                usage=form.cleaned_data["usage"],
                now=clock.now(),
            )
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("证书已通过验证并绑定。"))
    else:
        messages.error(request, _("请选择证书用途和证书文件。"))
    return redirect("accounts:profile")


@login_required
@require_POST
def token_create_view(request: HttpRequest) -> HttpResponse:
    user = _current(request)
    form = TokenForm(request.POST)
    if form.is_valid():
        try:
            issued = services.token_create(
                user=user,
                name=form.cleaned_data["name"],
                scopes=form.cleaned_data["scopes"],
                expires_at=None,
                now=clock.now(),
            )
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("新令牌（只显示这一次）：%(token)s") % {"token": issued.token})
    else:
        messages.error(request, _("请填写令牌名称并至少选择一个权限范围。"))
    return redirect("accounts:profile")


@login_required
@require_POST
def token_revoke_view(request: HttpRequest, token_id: int) -> HttpResponse:
    try:
        services.token_revoke(user=_current(request), token_id=token_id, now=clock.now())
    except DomainError as error:
        messages.error(request, error.message)
    return redirect("accounts:profile")
