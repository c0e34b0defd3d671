"""Account reads, including the ``access_*`` fetchers that answer "not found" for forbidden objects too."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext

from tenderhall.accounts.choices import Role
from tenderhall.accounts.models import ApiToken, Certificate, RoleGrant, User
from tenderhall.core.errors import NotFound

SUPERVISING_ROLES = frozenset({Role.OPERATOR, Role.REGULATOR})


def role_grants_for_user(user: User) -> QuerySet[RoleGrant]:
    return RoleGrant.objects.filter(user=user).select_related("entity").order_by("role", "entity__name")


def user_has_role(user: User, *roles: str) -> bool:
    return user.is_authenticated and RoleGrant.objects.filter(user=user, role__in=roles).exists()


def user_supervises(user: User) -> bool:
    """Operators and regulators see every record, including pending and rejected ones."""
    return user_has_role(user, *SUPERVISING_ROLES)


def entity_ids_for_user(user: User) -> set[int]:
    """The entities the person acts for, in any role."""
    return {
        entity_id
        for entity_id in RoleGrant.objects.filter(user=user, entity__isnull=False).values_list(
            "entity_id", flat=True
        )
        if entity_id is not None
    }


def user_list(*, search: str = "") -> QuerySet[User]:
    users = User.objects.order_by("username").prefetch_related("role_grants")
    if search:
        users = users.filter(username__icontains=search) | users.filter(full_name__icontains=search)
    return users


def access_user_for_operator(*, actor: User, user_id: int) -> User:
    if not user_supervises(actor):
        raise NotFound(gettext("No such user."))
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        raise NotFound(gettext("No such user."))
    return user


def token_list_for_user(user: User) -> QuerySet[ApiToken]:
    """The user's personal tokens; the keys of the client systems it owns are listed with each client."""
    return ApiToken.objects.filter(user=user, client__isnull=True)


def certificate_list_for_user(user: User) -> QuerySet[Certificate]:
    return Certificate.objects.filter(user=user)


def certificate_list_for_entity(entity_id: int) -> QuerySet[Certificate]:
    return Certificate.objects.filter(entity_id=entity_id)


def access_certificate_for_owner(*, actor: User, certificate_id: int) -> Certificate:
    """The certificate if the actor owns it, acts for its entity, or is an operator."""
    certificate = Certificate.objects.filter(pk=certificate_id).first()
    allowed = certificate is not None and (
        certificate.user_id == actor.pk
        or (certificate.entity_id is not None and certificate.entity_id in entity_ids_for_user(actor))
        or user_has_role(actor, Role.OPERATOR)
    )
    if certificate is None or not allowed:
        raise NotFound(gettext("No such certificate."))
    return certificate
