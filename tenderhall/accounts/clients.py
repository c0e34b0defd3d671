"""API client systems: registration under a responsible person's real name, keys, and the admission of
every request made with a key (address whitelist, rate limit, volume threshold), with its access log.

Operators register and change client systems; the owner (the account whose rights the keys carry) and
operators manage keys; operators, regulators and the owner read the access log. Whether a request may pass
is decided by :func:`client_admit`, which ``auth.TokenAuth`` calls for every bearer token.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils.translation import gettext

from tenderhall.accounts import client_rules, rules
from tenderhall.accounts.choices import Role, Scope
from tenderhall.accounts.models import ApiAccessLog, ApiClient, ApiClientWindow, ApiToken, User
from tenderhall.accounts.selectors import user_has_role, user_supervises
from tenderhall.accounts.services import IssuedToken, identity_problems, length_problems, token_row_create
from tenderhall.core.audit import MASK, audit_record, diff
from tenderhall.core.codes import normalize
from tenderhall.core.errors import Conflict, DomainError, InvalidInput, NotFound, PermissionDenied
from tenderhall.core.hooks import AlertRaised, alert_raised

EDITABLE = (
    "organisation",
    "responsible_name",
    "responsible_phone",
    "allowed_networks",
    "rate_limit_per_minute",
    "volume_threshold",
    "volume_period_seconds",
    "active",
)
MAX_VOLUME_PERIOD_SECONDS = 31 * 24 * 3600


class ClientInvalid(InvalidInput):
    code = "api_client_invalid"


class ClientNotAllowed(PermissionDenied):
    code = "api_client_not_allowed"


class ClientAddressRefused(DomainError):
    code = "client_address_refused"
    status = 403


class ClientInactive(DomainError):
    code = "client_inactive"
    status = 403


class ClientRateLimited(DomainError):
    code = "client_rate_limited"
    status = 429


# --- registration ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClientFields:
    name: str
    organisation: str
    owner_id: int
    responsible_name: str
    responsible_id_type: str
    responsible_id_number: str
    responsible_phone: str
    allowed_networks: list[str]
    rate_limit_per_minute: int = 600
    volume_threshold: int = 10000
    volume_period_seconds: int = 3600


def _limits_problems(values: dict[str, object]) -> dict[str, str]:
    problems: dict[str, str] = {}
    networks = values.get("allowed_networks")
    if isinstance(networks, list):
        _normalised, bad = client_rules.parse_networks([str(n) for n in networks])
        if not networks:
            problems["allowed_networks"] = gettext(
                "Name at least one network the client calls from, such as 203.0.113.0/24."
            )
        elif len(networks) > client_rules.MAX_NETWORKS:
            problems["allowed_networks"] = gettext("At most %(count)d networks.") % {
                "count": client_rules.MAX_NETWORKS
            }
        elif bad:
            position, reason = next(iter(bad.items()))
            problems["allowed_networks"] = gettext(
                "Entry %(position)d is not a network in CIDR form (%(reason)s), such as 203.0.113.0/24."
            ) % {"position": position + 1, "reason": reason}
    rate = values.get("rate_limit_per_minute")
    if isinstance(rate, int) and not 1 <= rate <= 100_000:
        problems["rate_limit_per_minute"] = gettext("Between 1 and 100000 requests a minute.")
    threshold = values.get("volume_threshold")
    if isinstance(threshold, int) and not 1 <= threshold <= 1_000_000_000:
        problems["volume_threshold"] = gettext("Between 1 and 1000000000 requests.")
    period = values.get("volume_period_seconds")
    if isinstance(period, int) and not 60 <= period <= MAX_VOLUME_PERIOD_SECONDS:
        problems["volume_period_seconds"] = gettext("Between 60 seconds and 31 days.")
    for name in ("name", "organisation", "responsible_name", "responsible_phone"):
        value = values.get(name)
        if isinstance(value, str) and not value.strip():
            problems[name] = gettext("Required.")
        elif isinstance(value, str):
            problems |= length_problems(ApiClient, {name: value.strip()})
    phone = values.get("responsible_phone")
    if isinstance(phone, str) and phone.strip() and (problem := rules.phone_problem(phone)) is not None:
        problems["responsible_phone"] = problem  # checked like a user's phone, and that reason first
    return problems


def _require_operator(actor: User) -> None:
    if not user_has_role(actor, Role.OPERATOR):
        raise ClientNotAllowed(
            gettext("Only the trading centre's operators register and change client systems.")
        )


def _refuse(problems: dict[str, str]) -> None:
    if problems:
        raise ClientInvalid(
            gettext("The client system has invalid fields; see details."), details={"fields": problems}
        )


def _snapshot(client: ApiClient) -> dict[str, object]:
    return {name: getattr(client, name) for name in EDITABLE}


def client_register(*, actor: User, fields: ClientFields, now: datetime) -> ApiClient:
    """An operator registers a client system, naming its responsible person and its networks."""
    _require_operator(actor)
    problems = _limits_problems(
        {
            "allowed_networks": fields.allowed_networks,
            "rate_limit_per_minute": fields.rate_limit_per_minute,
            "volume_threshold": fields.volume_threshold,
            "volume_period_seconds": fields.volume_period_seconds,
            "organisation": fields.organisation,
            "responsible_name": fields.responsible_name,
            "responsible_phone": fields.responsible_phone,
            "name": fields.name,
        }
    )
    id_number = normalize(fields.responsible_id_number)  # kept as checked: ASCII, capital X
    problems |= {
        f"responsible_{key}": message
        for key, message in identity_problems(
            id_type=fields.responsible_id_type, id_number=id_number, id_country="CHN"
        ).items()
    }
    owner = User.objects.filter(pk=fields.owner_id, is_active=True).first()
    if owner is None:
        problems["owner_id"] = gettext("No such active user: name the account the client's keys act as.")
    _refuse(problems)
    assert owner is not None
    networks, _bad = client_rules.parse_networks(fields.allowed_networks)
    try:
        with transaction.atomic():
            client = ApiClient.objects.create(
                name=fields.name.strip(),
                organisation=fields.organisation.strip(),
                owner=owner,
                responsible_name=fields.responsible_name.strip(),
                responsible_id_type=fields.responsible_id_type,
                responsible_id_number=id_number,
                responsible_phone=fields.responsible_phone.strip(),
                allowed_networks=networks,
                rate_limit_per_minute=fields.rate_limit_per_minute,
                volume_threshold=fields.volume_threshold,
                volume_period_seconds=fields.volume_period_seconds,
                registered_by=actor,
                registered_at=now,
            )
            audit_record(
                actor=actor,
                action="accounts:api_client:registered",
                subject_type="api_client",
                subject_id=client.pk,
                at=now,
                changes={
                    **diff({}, {"name": client.name, "owner": owner.pk, **_snapshot(client)}),
                    "responsible_id_number": [None, MASK],
                },
            )
    except IntegrityError:
        raise Conflict(
            gettext("A client system named %(name)s is already registered; choose another name.")
            % {"name": fields.name.strip()}
        ) from None
    return client


def client_update(*, actor: User, client_id: int, changes: dict[str, object], now: datetime) -> ApiClient:
    """An operator changes a client's contact, networks, limits or switches it off (``active``)."""
    access_client(actor=actor, client_id=client_id)
    _require_operator(actor)
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        _refuse({name: gettext("This field cannot be changed.") for name in unknown})
    _refuse(_limits_problems(changes))
    with transaction.atomic():
        client = ApiClient.objects.select_for_update().get(pk=client_id)
        before = _snapshot(client)
        for name, given in changes.items():
            value = given.strip() if isinstance(given, str) else given
            if name == "allowed_networks" and isinstance(given, list):
                value = client_rules.parse_networks([str(v) for v in given])[0]
            setattr(client, name, value)
        after = _snapshot(client)
        changed = diff(before, after)
        if changed:
            client.save(update_fields=sorted(changed))
            audit_record(
                actor=actor,
                action="accounts:api_client:changed",
                subject_type="api_client",
                subject_id=client.pk,
                at=now,
                changes=changed,
            )
    return client


def client_list_for(actor: User) -> QuerySet[ApiClient]:
    """Operators and regulators see every client system; anyone else the ones they own."""
    clients = ApiClient.objects.select_related("owner").prefetch_related("keys").order_by("name", "pk")
    return clients if user_supervises(actor) else clients.filter(owner=actor)


def client_list_for_owner(user: User) -> QuerySet[ApiClient]:
    return ApiClient.objects.filter(owner=user)


def access_client(*, actor: User, client_id: int) -> ApiClient:
    client = ApiClient.objects.select_related("owner").filter(pk=client_id).first()
    if client is None or not (client.owner_id == actor.pk or user_supervises(actor)):
        raise NotFound(gettext("No such client system."))
    return client


def _access_client_for_keys(actor: User, client_id: int) -> ApiClient:
    client = access_client(actor=actor, client_id=client_id)
    if client.owner_id != actor.pk and not user_has_role(actor, Role.OPERATOR):
        raise ClientNotAllowed(gettext("Only the client's owner or an operator manages its keys."))
    return client


def client_keys(*, actor: User, client_id: int) -> QuerySet[ApiToken]:
    client = access_client(actor=actor, client_id=client_id)
    return client.keys.order_by("-created_at", "-pk")


def client_key_create(
    *,
    actor: User,
    client_id: int,
    name: str,
    scopes: Iterable[str],
    expires_at: datetime | None,
    now: datetime,
) -> IssuedToken:
    """A key for the client: a token of its owner's, carrying the scopes, usable only as the client."""
    client = _access_client_for_keys(actor, client_id)
    scopes = sorted(set(scopes))
    problems: dict[str, str] = {}
    unknown = [s for s in scopes if s not in Scope.values]
    if unknown or not scopes:
        problems["scopes"] = gettext("Choose at least one scope from %(choices)s.") % {
            "choices": ", ".join(Scope.values)
        }
    if not name.strip():
        problems["name"] = gettext("Name the key, so you can recognise it later.")
    problems |= length_problems(ApiToken, {"name": name.strip()})
    if expires_at is not None and expires_at <= now:
        problems["expires_at"] = gettext("The expiry must be in the future.")
    _refuse(problems)
    with transaction.atomic():
        issued = token_row_create(
            user=client.owner, client=client, name=name, scopes=scopes, expires_at=expires_at, now=now
        )
        audit_record(
            actor=actor,
            action="accounts:api_client:key_created",
            subject_type="api_client",
            subject_id=client.pk,
            at=now,
            changes={"key": [None, issued.record.prefix], "scopes": [None, scopes]},
        )
    return issued


def client_key_revoke(*, actor: User, client_id: int, key_id: int, now: datetime) -> ApiToken:
    client = _access_client_for_keys(actor, client_id)
    with transaction.atomic():
        record = ApiToken.objects.select_for_update().filter(pk=key_id, client=client).first()
        if record is None:
            raise NotFound(gettext("No such key."))
        if record.revoked_at is None:
            record.revoked_at = now
            record.save(update_fields=["revoked_at"])
            audit_record(
                actor=actor,
                action="accounts:api_client:key_revoked",
                subject_type="api_client",
                subject_id=client.pk,
                at=now,
                changes={"key": [record.prefix, None]},
            )
    return record


def access_client_access_log(
    *, actor: User, client_id: int, before_id: int | None, limit: int
) -> QuerySet[ApiAccessLog]:
    client = access_client(actor=actor, client_id=client_id)
    entries = ApiAccessLog.objects.filter(client=client).order_by("-id")
    if before_id is not None:
        entries = entries.filter(id__lt=before_id)
    return entries[: max(1, min(limit, 500))]


# --- admission of each request -----------------------------------------------------------------------


@dataclass
class Admission:
    """What the access log records of a request made with a client's key."""

    client_id: int
    token_id: int
    remote_addr: str | None
    at: datetime
    refusal: DomainError | None = field(default=None)


def _count(client: ApiClient, kind: str, starts_at: datetime) -> int:
    """Add this request to the client's counter for the window; the count after it (under a row lock, so
    concurrent requests on any app server each get their own number)."""
    window, _created = ApiClientWindow.objects.get_or_create(client=client, kind=kind, starts_at=starts_at)
    window = ApiClientWindow.objects.select_for_update().get(pk=window.pk)
    window.count += 1
    window.save(update_fields=["count"])
    return window.count


def client_admit(*, token: str, remote_addr: str | None, now: datetime) -> Admission | None:
    """For a valid token: None when it is a personal token; else the admission of the request, refused
    (``refusal`` set, nothing counted) from an address off the whitelist or over the rate limit. An admitted
    request counts towards the volume threshold; the one that reaches it raises one alert."""
    parsed = rules.token_parse(token)
    if parsed is None:
        return None
    record = ApiToken.objects.select_related("client").filter(prefix=parsed[0], client__isnull=False).first()
    if record is None or record.client is None:
        return None
    client = record.client
    admission = Admission(client_id=client.pk, token_id=record.pk, remote_addr=remote_addr, at=now)
    if not client.active:
        admission.refusal = ClientInactive(
            gettext("The client system %(name)s is switched off; ask the trading centre.")
            % {"name": client.name}
        )
        return admission
    if not client_rules.address_allowed(remote_addr, list(client.allowed_networks)):
        admission.refusal = ClientAddressRefused(
            gettext(
                "Requests with this key must come from the client's registered networks; %(address)s is not"
                " one of them. Ask the trading centre to add it."
            )
            % {"address": remote_addr or "?"},
            details={"remote_addr": remote_addr},
        )
        return admission
    rate_window = client_rules.window_start(now, client_rules.RATE_WINDOW_SECONDS)
    volume_window = client_rules.window_start(now, client.volume_period_seconds)
    with transaction.atomic():
        rate = _count(client, "rate", rate_window)
        if client_rules.over_rate_limit(rate, client.rate_limit_per_minute):
            retry_after = int(
                (client_rules.window_end(rate_window, client_rules.RATE_WINDOW_SECONDS) - now).total_seconds()
            )
            admission.refusal = ClientRateLimited(
                gettext("Over %(limit)d requests this minute; try again in %(seconds)d seconds.")
                % {"limit": client.rate_limit_per_minute, "seconds": max(retry_after, 1)},
                details={"retry_after": max(retry_after, 1), "limit": client.rate_limit_per_minute},
            )
            return admission
        volume = _count(client, "volume", volume_window)
        if client_rules.threshold_crossed(before=volume - 1, after=volume, threshold=client.volume_threshold):
            alert_raised(
                AlertRaised(
                    kind="transmission_volume",
                    key=f"api_client:{client.pk}:volume:{volume_window.isoformat()}",
                    subject_type="api_client",
                    subject_id=str(client.pk),
                    message=gettext(
                        "Client system %(name)s reached %(count)d requests in the period from %(start)s"
                        " (threshold %(threshold)d)."
                    )
                    % {
                        "name": client.name,
                        "count": volume,
                        "start": volume_window.isoformat(),
                        "threshold": client.volume_threshold,
                    },
                    data={
                        "client": client.name,
                        "period_starts_at": volume_window.isoformat(),
                        "period_ends_at": client_rules.window_end(
                            volume_window, client.volume_period_seconds
                        ).isoformat(),
                        "threshold": client.volume_threshold,
                    },
                    at=now,
                )
            )
    return admission


def client_windows_prune(now: datetime, *, keep_days: int = 2) -> int:
    """Drop counters of windows that ended more than ``keep_days`` ago (the access log keeps the detail).
    A worker job; the count deleted."""
    keep = timedelta(days=keep_days)
    stale = Q(kind="rate", starts_at__lt=now - keep) | Q(
        kind="volume", starts_at__lt=now - timedelta(seconds=MAX_VOLUME_PERIOD_SECONDS) - keep
    )
    deleted, _by_model = ApiClientWindow.objects.filter(stale).delete()
    return deleted


def access_log_record(
    admission: Admission, *, method: str, path: str, status_code: int, duration_ms: int
) -> None:
    """Write the access log row of a request made with a client's key, once its answer is known."""
    ApiAccessLog.objects.create(
        client_id=admission.client_id,
        token_id=admission.token_id,
        at=admission.at,
        remote_addr=admission.remote_addr,
        method=method[:10],
        path=path[:300],
        status_code=status_code,
        refusal=admission.refusal.code if admission.refusal is not None else "",
        duration_ms=duration_ms,
    )
