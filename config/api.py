"""The REST API under /api/v1/: one ninja router per app, errors as JSON with a stable code."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from tenderhall.accounts.api import router as accounts_router
from tenderhall.accounts.api_clients import router as clients_router
from tenderhall.bids.api import router as bids_router
from tenderhall.bids.api_receipts import router as receipts_router
from tenderhall.core.errors import DomainError
from tenderhall.evaluation.api import router as evaluation_router
from tenderhall.exchange.api import router as ocds_router
from tenderhall.ledger.api import router as ledger_router
from tenderhall.opening.api import router as opening_router
from tenderhall.opening.api_sessions import router as opening_sessions_router
from tenderhall.portal.api import router as portal_router
from tenderhall.procedures.api import router as procedures_router
from tenderhall.procedures.api_participation import router as participation_router
from tenderhall.registry.api import router as registry_router
from tenderhall.supervision.api import router as audit_router
from tenderhall.supervision.api_alerts import router as alerts_router
from tenderhall.supervision.api_feed import router as feed_router

api = NinjaAPI(
    title="tenderhall API",
    version="1",
    description=(
        "Public resource trading platform. Authenticate with a personal API token "
        "(`Authorization: Bearer th_...`) or a browser session. Errors are JSON objects "
        "`{code, message, details?}` where `code` is stable."
    ),
    urls_namespace="api",
)
api.add_router("/accounts", accounts_router)
api.add_router("/registry", registry_router)
api.add_router("/procedures", procedures_router)
api.add_router("/procedures", participation_router)
api.add_router("/portal", portal_router)
api.add_router("/bids", bids_router)
api.add_router("/bids", receipts_router)
api.add_router("/opening", opening_router)
api.add_router("/opening", opening_sessions_router)
api.add_router("/evaluation", evaluation_router)
api.add_router("/audit", audit_router)
api.add_router("/clients", clients_router)
api.add_router("/feed", feed_router)
api.add_router("/supervision", alerts_router)
api.add_router("/ledger", ledger_router)
api.add_router("/ocds", ocds_router)


def _error(
    request: HttpRequest, status: int, code: str, message: str, details: object = None
) -> HttpResponse:
    body: dict[str, object] = {"code": code, "message": message}
    if details is not None:
        body["details"] = details
    return api.create_response(request, body, status=status)


@api.exception_handler(DomainError)
def _domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return _error(request, exc.status, exc.code, exc.message, exc.details or None)


@api.exception_handler(ValidationError)
def _validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    fields = [
        {
            "field": ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "payload")),
            "message": err["msg"],
        }
        for err in exc.errors
    ]
    return _error(
        request, 422, "invalid_input", gettext("The request has invalid fields; see details."), fields
    )


@api.exception_handler(AuthenticationError)
def _authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return _error(
        request,
        401,
        "not_authenticated",
        gettext("Sign in, or send a valid personal API token as 'Authorization: Bearer <token>'."),
    )


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return _error(request, exc.status_code, "http_error", str(exc))
