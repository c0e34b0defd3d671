from __future__ import annotations

from django.http import HttpRequest

from tenderhall.accounts.choices import Role
from tenderhall.accounts.models import User
from tenderhall.accounts.selectors import role_grants_for_user


def navigation(request: HttpRequest) -> dict[str, dict[str, bool]]:
    user = getattr(request, "user", None)
    if not isinstance(user, User) or not user.is_authenticated:
        return {"nav": {}}
    roles = {g.role for g in role_grants_for_user(user)}
    return {
        "nav": {
            "operator": Role.OPERATOR in roles,
            "supervisor": bool(roles & {Role.OPERATOR, Role.REGULATOR}),
            "manager": bool(roles & {Role.AGENCY, Role.TENDEREE}),
        }
    }
