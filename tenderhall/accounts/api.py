"""Accounts API: one operation per use case, each a single service or selector call."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.translation import gettext
from ninja import Router, Status

from tenderhall.accounts import selectors, services
from tenderhall.accounts.auth import authenticated, request_user
from tenderhall.accounts.choices import Scope
from tenderhall.accounts.models import ApiToken, Certificate, User
from tenderhall.accounts.schemas import (
    CertificateOut,
    CertificateUploadIn,
    RoleGrantIn,
    RoleGrantOut,
    TokenCreatedOut,
    TokenCreateIn,
    TokenOut,
    UserOut,
    UserRegisterIn,
)
from tenderhall.core import clock
from tenderhall.core.errors import NotFound

router = Router(tags=["accounts"])


def user_out(user: User) -> UserOut:
    grants = selectors.role_grants_for_user(user)
    return UserOut(
        id=user.pk,
        username=user.username,
        full_name=user.full_name,
        id_type=user.id_type,
        id_number_masked=user.id_number_masked,
        phone=user.phone,
        email=user.email,
        two_factor_enabled=user.two_factor_enabled,
        two_factor_required=services.two_factor_required_for(user),
        roles=[
            RoleGrantOut(
                id=g.pk,
                role=g.role,
                entity_id=g.entity_id,
                entity_name=g.entity.name if g.entity else None,
                granted_at=g.granted_at,
            )
            for g in grants
        ],
    )


def token_out(token: ApiToken) -> TokenOut:
    return TokenOut(
        id=token.pk,
        name=token.name,
        prefix=token.prefix,
        scopes=token.scopes,
        created_at=token.created_at,
        expires_at=token.expires_at,
        revoked_at=token.revoked_at,
        last_used_at=token.last_used_at,
    )


def certificate_out(certificate: Certificate) -> CertificateOut:
    return CertificateOut(
        id=certificate.pk,
        usage=certificate.usage,
        status=certificate.status,
        subject=certificate.subject,
        issuer=certificate.issuer,
        serial=certificate.serial,
        fingerprint=certificate.fingerprint,
        not_before=certificate.not_before,
        not_after=certificate.not_after,
        accepted_at=certificate.accepted_at,
        user_id=certificate.user_id,
        entity_id=certificate.entity_id,
    )


@router.post("/users", response={201: UserOut}, operation_id="user_register", auth=None)
def user_register(request: HttpRequest, payload: UserRegisterIn) -> Status[UserOut]:
    """Register a real-name user account. Roles are granted by the registry (entities) or by operators."""
    user = services.user_register(**payload.dict(), now=clock.now())
    return Status(201, user_out(user))


@router.get("/me", response=UserOut, operation_id="user_me", auth=authenticated(Scope.PROFILE_READ))
def user_me(request: HttpRequest) -> UserOut:
    return user_out(request_user(request))


@router.get(
    "/users", response=list[UserOut], operation_id="user_list", auth=authenticated(Scope.ACCOUNTS_ADMIN)
)
def user_list(request: HttpRequest, search: str = "") -> list[UserOut]:
    """Operators and regulators list users (identity numbers masked)."""
    if not selectors.user_supervises(request_user(request)):
        raise NotFound(gettext("No such resource."))
    return [user_out(u) for u in selectors.user_list(search=search)[:200]]


@router.post(
    "/users/{user_id}/roles",
    response={201: RoleGrantOut},
    operation_id="role_grant",
    auth=authenticated(Scope.ACCOUNTS_ADMIN),
)
def role_grant(request: HttpRequest, user_id: int, payload: RoleGrantIn) -> Status[RoleGrantOut]:
    actor = request_user(request)
    user = selectors.access_user_for_operator(actor=actor, user_id=user_id)
    grant = services.role_grant(
        actor=actor, user=user, role=payload.role, entity_id=payload.entity_id, now=clock.now()
    )
    return Status(
        201,
        RoleGrantOut(
            id=grant.pk,
            role=grant.role,
            entity_id=grant.entity_id,
            entity_name=grant.entity.name if grant.entity else None,
            granted_at=grant.granted_at,
        ),
    )


@router.delete(
    "/users/{user_id}/roles/{grant_id}",
    response={204: None},
    operation_id="role_revoke",
    auth=authenticated(Scope.ACCOUNTS_ADMIN),
)
def role_revoke(request: HttpRequest, user_id: int, grant_id: int) -> Status[None]:
    actor = request_user(request)
    selectors.access_user_for_operator(actor=actor, user_id=user_id)
    services.role_revoke(actor=actor, grant_id=grant_id, now=clock.now())
    return Status(204, None)


@router.get(
    "/tokens", response=list[TokenOut], operation_id="token_list", auth=authenticated(Scope.TOKENS_WRITE)
)
def token_list(request: HttpRequest) -> list[TokenOut]:
    return [token_out(t) for t in selectors.token_list_for_user(request_user(request))]


@router.post(
    "/tokens",
    response={201: TokenCreatedOut},
    operation_id="token_create",
    auth=authenticated(Scope.TOKENS_WRITE),
)
def token_create(request: HttpRequest, payload: TokenCreateIn) -> Status[TokenCreatedOut]:
    """Create a personal API token. The token is in this answer only; the platform keeps its hash."""
    issued = services.token_create(
        user=request_user(request),
        name=payload.name,
        scopes=payload.scopes,
        expires_at=payload.expires_at,
        now=clock.now(),
    )
    return Status(201, TokenCreatedOut(**token_out(issued.record).dict(), token=issued.token))


@router.delete(
    "/tokens/{token_id}",
    response={204: None},
    operation_id="token_revoke",
    auth=authenticated(Scope.TOKENS_WRITE),
)
def token_revoke(request: HttpRequest, token_id: int) -> Status[None]:
    services.token_revoke(user=request_user(request), token_id=token_id, now=clock.now())
    return Status(204, None)


@router.get(
    "/me/certificates",
    response=list[CertificateOut],
    operation_id="certificate_list_mine",
    auth=authenticated(Scope.PROFILE_READ),
)
def certificate_list_mine(request: HttpRequest) -> list[CertificateOut]:
    return [certificate_out(c) for c in selectors.certificate_list_for_user(request_user(request))]


@router.post(
    "/me/certificates",
    response={201: CertificateOut},
    operation_id="certificate_upload_mine",
    auth=authenticated(Scope.CERTIFICATES_WRITE),
)
def certificate_upload_mine(request: HttpRequest, payload: CertificateUploadIn) -> Status[CertificateOut]:
    """Upload a personal signing or encryption certificate (PEM); it must chain to a trusted CA."""
    user = request_user(request)
    certificate = services.certificate_accept(
        actor=user, user=user, data=payload.pem.encode(), usage=payload.usage, now=clock.now()
    )
    return Status(201, certificate_out(certificate))


@router.post(
    "/certificates/{certificate_id}/revoke",
    response=CertificateOut,
    operation_id="certificate_revoke",
    auth=authenticated(Scope.CERTIFICATES_WRITE),
)
def certificate_revoke(request: HttpRequest, certificate_id: int) -> CertificateOut:
    actor = request_user(request)
    certificate = selectors.access_certificate_for_owner(actor=actor, certificate_id=certificate_id)
    return certificate_out(services.certificate_revoke(actor=actor, certificate=certificate, now=clock.now()))
