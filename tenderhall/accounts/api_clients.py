"""API client systems over the API: registration and changes (operators), keys (owner or operator), the
access log (owner, operators, regulators). Each operation is one call into ``accounts.clients``."""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from ninja import Router, Schema, Status

from tenderhall.accounts import clients
from tenderhall.accounts.api import token_out
from tenderhall.accounts.auth import authenticated, request_user
from tenderhall.accounts.choices import Scope
from tenderhall.accounts.models import ApiClient
from tenderhall.accounts.schemas import TokenCreatedOut, TokenCreateIn, TokenOut
from tenderhall.core import clock

router = Router(tags=["api clients"])


class ClientRegisterIn(Schema):
    name: str
    organisation: str
    owner_id: int
    responsible_name: str
    responsible_id_type: str = "resident_id"
    responsible_id_number: str
    responsible_phone: str
    allowed_networks: list[str]
    rate_limit_per_minute: int = 600
    volume_threshold: int = 10000
    volume_period_seconds: int = 3600


class ClientUpdateIn(Schema):
    organisation: str | None = None
    responsible_name: str | None = None
    responsible_phone: str | None = None
    allowed_networks: list[str] | None = None
    rate_limit_per_minute: int | None = None
    volume_threshold: int | None = None
    volume_period_seconds: int | None = None
    active: bool | None = None


class ClientOut(Schema):
    id: int
    name: str
    organisation: str
    owner: str
    responsible_name: str
    responsible_id_type: str
    responsible_id_number_masked: str
    responsible_phone: str
    allowed_networks: list[str]
    rate_limit_per_minute: int
    volume_threshold: int
    volume_period_seconds: int
    active: bool
    registered_at: datetime
    keys: list[TokenOut]


class AccessLogOut(Schema):
    id: int
    at: datetime
    remote_addr: str | None
    method: str
    path: str
    status_code: int
    refusal: str
    duration_ms: int


class AccessLogPageOut(Schema):
    entries: list[AccessLogOut]
    next_before_id: int | None  # pass as before_id for the next (older) page


def client_out(client: ApiClient) -> ClientOut:
    return ClientOut(
        id=client.pk,
        name=client.name,
        organisation=client.organisation,
        owner=client.owner.username,
        responsible_name=client.responsible_name,
        responsible_id_type=client.responsible_id_type,
        responsible_id_number_masked=client.responsible_id_masked,
        responsible_phone=client.responsible_phone,
        allowed_networks=list(client.allowed_networks),
        rate_limit_per_minute=client.rate_limit_per_minute,
        volume_threshold=client.volume_threshold,
        volume_period_seconds=client.volume_period_seconds,
        active=client.active,
        registered_at=client.registered_at,
        keys=[
            token_out(k) for k in sorted(client.keys.all(), key=lambda k: (k.created_at, k.pk), reverse=True)
        ],
    )


@router.post(
    "",
    response={201: ClientOut},
    operation_id="api_client_register",
    auth=authenticated(Scope.ACCOUNTS_ADMIN),
)
def api_client_register(request: HttpRequest, payload: ClientRegisterIn) -> Status[ClientOut]:
    """Register a client system (operators): its responsible person, networks, rate limit and threshold."""
    client = clients.client_register(
        actor=request_user(request), fields=clients.ClientFields(**payload.dict()), now=clock.now()
    )
    return Status(201, client_out(client))


@router.get(
    "", response=list[ClientOut], operation_id="api_client_list", auth=authenticated(Scope.AUDIT_READ)
)
def api_client_list(request: HttpRequest) -> list[ClientOut]:
    """Every client system for operators and regulators; one's own for anyone else."""
    return [client_out(c) for c in clients.client_list_for(request_user(request))]


@router.get(
    "/{client_id}", response=ClientOut, operation_id="api_client_get", auth=authenticated(Scope.AUDIT_READ)
)
def api_client_get(request: HttpRequest, client_id: int) -> ClientOut:
    return client_out(clients.access_client(actor=request_user(request), client_id=client_id))


@router.patch(
    "/{client_id}",
    response=ClientOut,
    operation_id="api_client_update",
    auth=authenticated(Scope.ACCOUNTS_ADMIN),
)
def api_client_update(request: HttpRequest, client_id: int, payload: ClientUpdateIn) -> ClientOut:
    """Change a client's contact, networks or limits, or switch it off with ``active: false`` (operators)."""
    client = clients.client_update(
        actor=request_user(request),
        client_id=client_id,
        changes=payload.dict(exclude_unset=True, exclude_none=True),
        now=clock.now(),
    )
    return client_out(client)


@router.post(
    "/{client_id}/keys",
    response={201: TokenCreatedOut},
    operation_id="api_client_key_create",
    auth=authenticated(Scope.TOKENS_WRITE),
)
def api_client_key_create(
    request: HttpRequest, client_id: int, payload: TokenCreateIn
) -> Status[TokenCreatedOut]:
    """A key for the client system. The key is in this answer only; the platform keeps its hash."""
    issued = clients.client_key_create(
        actor=request_user(request),
        client_id=client_id,
        name=payload.name,
        scopes=payload.scopes,
        expires_at=payload.expires_at,
        now=clock.now(),
    )
    return Status(201, TokenCreatedOut(**token_out(issued.record).dict(), token=issued.token))


@router.delete(
    "/{client_id}/keys/{key_id}",
    response={204: None},
    operation_id="api_client_key_revoke",
    auth=authenticated(Scope.TOKENS_WRITE),
)
def api_client_key_revoke(request: HttpRequest, client_id: int, key_id: int) -> Status[None]:
    clients.client_key_revoke(
        actor=request_user(request), client_id=client_id, key_id=key_id, now=clock.now()
    )
    return Status(204, None)


@router.get(
    "/{client_id}/access-log",
    response=AccessLogPageOut,
    operation_id="api_client_access_log",
    auth=authenticated(Scope.AUDIT_READ),
)
def api_client_access_log(
    request: HttpRequest, client_id: int, before_id: int | None = None, limit: int = 100
) -> AccessLogPageOut:
    """The requests made with the client's keys, newest first, admitted and refused."""
    entries = list(
        clients.access_client_access_log(
            actor=request_user(request), client_id=client_id, before_id=before_id, limit=limit
        )
    )
    return AccessLogPageOut(
        entries=[
            AccessLogOut(
                id=e.pk,
                at=e.at,
                remote_addr=e.remote_addr,
                method=e.method,
                path=e.path,
                status_code=e.status_code,
                refusal=e.refusal,
                duration_ms=e.duration_ms,
            )
            for e in entries
        ],
        next_before_id=entries[-1].pk if len(entries) == max(1, min(limit, 500)) else None,
    )
