"""Account writes: registration, login with lockout, two-factor, role grants, API tokens, certificates.

Each service is one transaction that also writes its audit entry (and, for key records, its ledger leaf).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import pyotp
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Model
from django.utils.translation import gettext, ngettext_lazy

from tenderhall.accounts import rules
from tenderhall.accounts.certificate_messages import certificate_rejection_message
from tenderhall.accounts.certificates import CertificateInfo, CertificateRejected, validate_certificate
from tenderhall.accounts.choices import ENTITY_ROLES, CertificateStatus, CertificateUsage, IdType, Role, Scope
from tenderhall.accounts.models import ApiClient, ApiToken, Certificate, RoleGrant, User
from tenderhall.accounts.trust import trust_roots_from_settings
from tenderhall.core.audit import audit_record, diff
from tenderhall.core.codes import check_passport, check_resident_id, normalize
from tenderhall.core.codes_messages import code_check_message
from tenderhall.core.errors import Conflict, DomainError, InvalidInput, NotFound, PermissionDenied
from tenderhall.ledger.services import ledger_append

TOTP_ISSUER = "tenderhall"
USER_FIELDS = ("username", "full_name", "id_type", "id_number", "id_country", "phone", "email")
MASKED = frozenset({"id_number"})
# Django 5.2 reworded the minimum length validator's message and its zh_Hans catalogue has not caught up:
# naming the message here puts its Chinese in our catalogue, where the validator's own ngettext finds it.
PASSWORD_TOO_SHORT = ngettext_lazy(
    "This password is too short. It must contain at least %d character.",
    "This password is too short. It must contain at least %d characters.",
)


class LoginRefused(DomainError):
    code = "login_failed"
    status = 401


class AccountLocked(DomainError):
    code = "account_locked"
    status = 403


class TwoFactorFailed(DomainError):
    code = "two_factor_failed"
    status = 401


class InsufficientScope(DomainError):
    code = "insufficient_scope"
    status = 403


def _field_errors(errors: dict[str, str]) -> None:
    if errors:
        first = next(iter(errors.values()))
        raise InvalidInput(first, details={"fields": errors})


def length_problems(model: type[Model], values: Mapping[str, object]) -> dict[str, str]:
    """Per-field problems with text longer than its column, given as it will be stored: PostgreSQL refuses
    such a row with a database error, SQLite keeps it whole, so the service refuses it first."""
    problems: dict[str, str] = {}
    for name, value in values.items():
        longest = getattr(model._meta.get_field(name), "max_length", None)
        if isinstance(value, str) and longest is not None and len(value) > longest:
            problems[name] = gettext("At most %(n)s characters.") % {"n": longest}
    return problems


def identity_problems(*, id_type: str, id_number: str, id_country: str) -> dict[str, str]:
    """Per-field problems with a real-name identity; empty when it is acceptable."""
    if id_type == IdType.RESIDENT_ID:
        check = check_resident_id(id_number)
        return {} if check.valid else {"id_number": code_check_message(check)}
    if id_type == IdType.PASSPORT:
        check = check_passport(id_number, id_country)
        return {} if check.valid else {"id_number": code_check_message(check)}
    return {
        "id_type": gettext("Choose an identity document type: %(types)s.")
        % {"types": ", ".join(IdType.values)}
    }


def user_register(
    *,
    username: str,
    password: str,
    full_name: str,
    id_type: str,
    id_number: str,
    phone: str,
    email: str,
    now: datetime,
    id_country: str = "CHN",
) -> User:
    # The checks read full-width forms and lower-case letters as their ASCII capitals; the number is kept in
    # that one form too, or the same document typed another way would pass the one-identity check below.
    id_number = normalize(id_number)
    id_country = normalize(id_country or "CHN") if id_type == IdType.PASSPORT else "CHN"
    errors = identity_problems(id_type=id_type, id_number=id_number, id_country=id_country)
    if not username.strip() or len(username) > 64:
        errors["username"] = gettext("Choose a user name of 1 to 64 characters.")
    if not full_name.strip():
        errors["full_name"] = gettext("Enter your name as it appears on your identity document.")
    if (problem := rules.phone_problem(phone)) is not None:
        errors["phone"] = problem
    try:
        validate_email(email)
    except DjangoValidationError:
        errors["email"] = gettext("Enter a valid e-mail address.")
    stored = {"full_name": full_name.strip(), "phone": phone.strip(), "email": email.strip()}
    for name, problem in length_problems(User, stored).items():
        errors.setdefault(name, problem)
    candidate = User(username=username, full_name=full_name, email=email)
    try:
        validate_password(password, candidate)
    except DjangoValidationError as exc:
        errors["password"] = " ".join(str(m) for m in exc.messages)
    _field_errors(errors)
    with transaction.atomic():
        if User.objects.filter(username=username).exists():
            raise Conflict(
                gettext("This user name is taken; choose another."), details={"fields": {"username": "taken"}}
            )
        if User.objects.filter(id_type=id_type, id_country=id_country, id_number=id_number).exists():
            raise Conflict(
                gettext(
                    "A user with this identity document is already registered: sign in with that account."
                ),
                details={"fields": {"id_number": "registered"}},
            )
        user = User.objects.create_user(
            username=username,
            password=password,
            full_name=full_name.strip(),
            id_type=id_type,
            id_number=id_number,
            id_country=id_country,
            phone=phone.strip(),
            email=email.strip(),
            date_joined=now,
        )
        audit_record(
            actor=user,
            action="accounts:user:registered",
            subject_type="user",
            subject_id=user.pk,
            at=now,
            changes=diff({}, {f: getattr(user, f) for f in USER_FIELDS}, masked=MASKED),
        )
    return user


def _policy() -> rules.LockoutPolicy:
    return rules.LockoutPolicy(
        threshold=settings.TENDERHALL_LOCKOUT_THRESHOLD, minutes=settings.TENDERHALL_LOCKOUT_MINUTES
    )


def user_authenticate(*, username: str, password: str, now: datetime) -> User:
    """Check the password, counting failures; the lock holds even against the right password."""
    refused: DomainError | None = None
    with transaction.atomic():
        user = User.objects.select_for_update().filter(username=username, is_active=True).first()
        if user is None:
            # Same work and answer as a wrong password, so user names cannot be probed.
            User().set_password(password)
            raise LoginRefused(gettext("The user name or password is wrong."))
        state = rules.LoginState(failed_logins=user.failed_logins, locked_until=user.locked_until)
        if rules.is_locked(state, now=now):
            refused = AccountLocked(
                gettext("Too many failed sign-ins: this account is locked until %(until)s UTC.")
                % {"until": f"{user.locked_until:%Y-%m-%d %H:%M}"},
                details={"locked_until": user.locked_until.isoformat() if user.locked_until else None},
            )
        elif user.check_password(password):
            if user.failed_logins or user.locked_until:
                user.failed_logins, user.locked_until = 0, None
                user.save(update_fields=["failed_logins", "locked_until"])
            return user
        else:
            after = rules.after_failed_login(state, _policy(), now=now)
            user.failed_logins, user.locked_until = after.failed_logins, after.locked_until
            user.save(update_fields=["failed_logins", "locked_until"])
            audit_record(
                actor=None,
                action="accounts:login:failed",
                subject_type="user",
                subject_id=user.pk,
                at=now,
                changes={"failed_logins": after.failed_logins},
            )
            if rules.is_locked(after, now=now):
                audit_record(
                    actor=None,
                    action="accounts:user:locked",
                    subject_type="user",
                    subject_id=user.pk,
                    at=now,
                    changes={"locked_until": after.locked_until.isoformat() if after.locked_until else None},
                )
            refused = LoginRefused(gettext("The user name or password is wrong."))
    raise refused


def user_roles(user: User) -> set[str]:
    return set(user.role_grants.values_list("role", flat=True))


def two_factor_required_for(user: User) -> bool:
    return rules.two_factor_required(user_roles(user))


def totp_enrol_start(*, user: User, now: datetime) -> str:
    """Give the user a fresh secret to load into an authenticator app; it counts once confirmed."""
    if user.two_factor_enabled:
        raise Conflict(gettext("Two-factor sign-in is already set up for this account."))
    with transaction.atomic():
        user.totp_secret = pyotp.random_base32()
        user.save(update_fields=["totp_secret"])
        audit_record(
            actor=user, action="accounts:totp:started", subject_type="user", subject_id=user.pk, at=now
        )
    return user.totp_secret


def totp_uri(user: User) -> str:
    return pyotp.TOTP(user.totp_secret).provisioning_uri(name=user.username, issuer_name=TOTP_ISSUER)


def _totp_step(user: User, code: str, now: datetime) -> int | None:
    """The time step the code belongs to (one step of clock drift allowed), or None."""
    totp = pyotp.TOTP(user.totp_secret)
    code = code.strip().replace(" ", "")
    for drift in (0, -1, 1):
        at = now.timestamp() + drift * totp.interval
        if pyotp.utils.strings_equal(totp.at(int(at)), code):
            return int(at // totp.interval)
    return None


def totp_verify(*, user: User, code: str, now: datetime) -> None:
    """Accept a code once: a replayed code from the same or an earlier step is refused."""
    if not user.totp_secret:
        raise TwoFactorFailed(gettext("Set up two-factor sign-in first."))
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        step = _totp_step(locked, code, now)
        if step is None or step <= locked.totp_last_step:
            audit_record(
                actor=None, action="accounts:totp:failed", subject_type="user", subject_id=user.pk, at=now
            )
            raise TwoFactorFailed(
                gettext("The verification code is wrong or was already used; enter the current one.")
            )
        locked.totp_last_step = step
        fields = ["totp_last_step"]
        if locked.totp_confirmed_at is None:
            locked.totp_confirmed_at = now
            fields.append("totp_confirmed_at")
            audit_record(
                actor=locked, action="accounts:totp:enabled", subject_type="user", subject_id=user.pk, at=now
            )
        locked.save(update_fields=fields)
    user.totp_last_step, user.totp_confirmed_at = locked.totp_last_step, locked.totp_confirmed_at


def _require_operator(actor: User) -> None:
    if Role.OPERATOR not in user_roles(actor):
        raise PermissionDenied(gettext("Only the trading centre's operators may do this."))


def role_grant(*, actor: User, user: User, role: str, entity_id: int | None, now: datetime) -> RoleGrant:
    """An operator grants a role; entity roles name the entity the person acts for."""
    _require_operator(actor)
    if role not in Role.values:
        raise InvalidInput(
            gettext("Unknown role %(role)s: choose one of %(roles)s.")
            % {"role": repr(role), "roles": ", ".join(Role.values)}
        )
    if role in ENTITY_ROLES and entity_id is None:
        raise InvalidInput(
            gettext("The role %(role)s acts for a market entity: name the entity.") % {"role": role}
        )
    return role_grant_unchecked(user=user, role=role, entity_id=entity_id, granted_by=actor, now=now)


def role_grant_unchecked(
    *, user: User, role: str, entity_id: int | None, granted_by: User | None, now: datetime
) -> RoleGrant:
    """For services that have already decided the grant is due (a registrant acting for their entity)."""
    with transaction.atomic():
        try:
            with transaction.atomic():
                grant = RoleGrant.objects.create(
                    user=user, role=role, entity_id=entity_id, granted_at=now, granted_by=granted_by
                )
        except IntegrityError:
            raise Conflict(gettext("This person already holds this role.")) from None
        audit_record(
            actor=granted_by or user,
            action="accounts:role:granted",
            subject_type="user",
            subject_id=user.pk,
            at=now,
            changes={"role": [None, role], "entity": [None, entity_id]},
        )
    return grant


def role_revoke(*, actor: User, grant_id: int, now: datetime) -> None:
    _require_operator(actor)
    with transaction.atomic():
        grant = RoleGrant.objects.select_for_update().filter(pk=grant_id).first()
        if grant is None:
            raise NotFound(gettext("No such role grant."))
        audit_record(
            actor=actor,
            action="accounts:role:revoked",
            subject_type="user",
            subject_id=grant.user_id,
            at=now,
            changes={"role": [grant.role, None], "entity": [grant.entity_id, None]},
        )
        grant.delete()


@dataclass(frozen=True)
class IssuedToken:
    token: str  # the only time the secret is visible
    record: ApiToken


def token_create(
    *, user: User, name: str, scopes: Iterable[str], expires_at: datetime | None, now: datetime
) -> IssuedToken:
    scopes = sorted(set(scopes))
    unknown = [s for s in scopes if s not in Scope.values]
    if unknown:
        raise InvalidInput(
            gettext("Unknown scopes %(scopes)s: choose from %(choices)s.")
            % {"scopes": ", ".join(unknown), "choices": ", ".join(Scope.values)}
        )
    if not scopes:
        raise InvalidInput(gettext("Give the token at least one scope."))
    if not name.strip():
        raise InvalidInput(gettext("Name the token, so you can recognise it later."))
    _field_errors(length_problems(ApiToken, {"name": name.strip()}))
    if expires_at is not None and expires_at <= now:
        raise InvalidInput(gettext("The expiry must be in the future."))
    with transaction.atomic():
        issued = token_row_create(user=user, name=name, scopes=scopes, expires_at=expires_at, now=now)
        audit_record(
            actor=user,
            action="accounts:token:created",
            subject_type="api_token",
            subject_id=issued.record.pk,
            at=now,
            changes={"name": [None, issued.record.name], "scopes": [None, scopes]},
        )
    return issued


def token_row_create(
    *,
    user: User,
    name: str,
    scopes: Sequence[str],
    expires_at: datetime | None,
    now: datetime,
    client: ApiClient | None = None,
) -> IssuedToken:
    """A new token's row (only the secret's hash is kept) for a person or for one of its client systems;
    the caller audits it in the same transaction."""
    new = rules.token_new()
    record = ApiToken.objects.create(
        user=user,
        client=client,
        name=name.strip(),
        prefix=new.prefix,
        secret_hash=new.secret_hash,
        scopes=list(scopes),
        created_at=now,
        expires_at=expires_at,
    )
    return IssuedToken(token=new.token, record=record)


def token_revoke(*, user: User, token_id: int, now: datetime) -> ApiToken:
    with transaction.atomic():
        record = ApiToken.objects.select_for_update().filter(pk=token_id, user=user).first()
        if record is None:
            raise NotFound(gettext("No such API token."))
        if record.revoked_at is None:
            record.revoked_at = now
            record.save(update_fields=["revoked_at"])
            audit_record(
                actor=user,
                action="accounts:token:revoked",
                subject_type="api_token",
                subject_id=record.pk,
                at=now,
            )
    return record


def token_usable_record(*, token: str, now: datetime) -> ApiToken:
    """The usable token a bearer token is, with its user and scopes; its ``client_id`` says whether it is a
    client system's key. A refusal never says which part was wrong."""
    refused = LoginRefused(gettext("The API token is invalid, expired or revoked."))
    parsed = rules.token_parse(token)
    if parsed is None:
        raise refused
    prefix, secret = parsed
    record = ApiToken.objects.select_related("user").filter(prefix=prefix).first()
    if record is None or not pyotp.utils.strings_equal(record.secret_hash, rules.token_hash(secret)):
        raise refused
    if not rules.token_usable(revoked_at=record.revoked_at, expires_at=record.expires_at, now=now):
        raise refused
    if not record.user.is_active:
        raise refused
    if record.last_used_at is None or (now - record.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=record.pk).update(last_used_at=now)
    return record


def certificate_validate(*, data: bytes, usage: str, now: datetime) -> CertificateInfo:
    if usage not in CertificateUsage.values:
        raise InvalidInput(
            gettext("Choose the certificate's use: %(usages)s.")
            % {"usages": ", ".join(CertificateUsage.values)}
        )
    try:
        return validate_certificate(
            data, usage=usage, trust_roots=trust_roots_from_settings(now=now), now=now
        )
    except CertificateRejected as error:
        message = certificate_rejection_message(error)
        raise CertificateRejected(message, reason=error.reason, details=error.details) from error


class CertificateOwnerMismatch(DomainError):
    code = "certificate_owner_mismatch"
    status = 422


def certificate_accept(
    *,
    actor: User,
    data: bytes,
    usage: str,
    now: datetime,
    user: User | None = None,
    entity_id: int | None = None,
    owner_identifier: str | None = None,
) -> Certificate:
    """Validate and bind a certificate to a user or an entity (the caller has checked the actor may).

    When the certificate names its holder's code in the subject's serialNumber (as Chinese CAs do), it must
    be the owner's: the USCC of the entity or the identity number of the person.
    """
    info = certificate_validate(data=data, usage=usage, now=now)
    too_long = length_problems(
        Certificate, {"subject": info.subject, "issuer": info.issuer, "serial": info.serial}
    )
    if too_long:
        raise InvalidInput(
            gettext(
                "The certificate's names are longer than the platform keeps (subject and issuer 500"
                " characters, serial number 80); ask the CA for a certificate with shorter names."
            ),
            details={"fields": too_long},
        )
    named = (info.subject_serial_number or "").strip().upper()
    if owner_identifier is not None and named and named != owner_identifier.upper():
        raise CertificateOwnerMismatch(
            gettext(
                "This certificate was issued to %(holder)s, not to %(owner)s: "
                "upload the holder's own certificate."
            )
            % {"holder": named, "owner": owner_identifier},
            details={"certificate_holder": named, "owner": owner_identifier},
        )
    with transaction.atomic():
        if Certificate.objects.filter(fingerprint=info.fingerprint).exists():
            raise Conflict(gettext("This certificate has already been uploaded."))
        certificate = Certificate.objects.create(
            usage=usage,
            user=user,
            entity_id=entity_id,
            der=info.der,
            fingerprint=info.fingerprint,
            subject=info.subject,
            issuer=info.issuer,
            serial=info.serial,
            not_before=info.not_before,
            not_after=info.not_after,
            uploaded_by=actor,
            accepted_at=now,
        )
        owner = (
            {"entity": str(entity_id)} if entity_id is not None else {"user": str(user.pk if user else "")}
        )
        ledger_append(
            event_type="accounts:certificate:accepted",
            subjects={"certificate": str(certificate.pk), **owner},
            hashes={"certificate": f"sha256:{info.fingerprint}"},
            actor=f"user:{actor.pk}",
            at=now,
            data={"usage": usage, "subject": info.subject, "issuer": info.issuer, "serial": info.serial},
        )
        audit_record(
            actor=actor,
            action="accounts:certificate:accepted",
            subject_type="certificate",
            subject_id=certificate.pk,
            at=now,
            changes={
                "usage": [None, usage],
                "subject": [None, info.subject],
                **{k: [None, v] for k, v in owner.items()},
            },
        )
    return certificate


def certificate_revoke(*, actor: User, certificate: Certificate, now: datetime) -> Certificate:
    with transaction.atomic():
        locked = Certificate.objects.select_for_update().get(pk=certificate.pk)
        if locked.status == CertificateStatus.REVOKED:
            raise Conflict(gettext("This certificate is already revoked."))
        locked.status, locked.revoked_at = CertificateStatus.REVOKED, now
        locked.save(update_fields=["status", "revoked_at"])
        audit_record(
            actor=actor,
            action="accounts:certificate:revoked",
            subject_type="certificate",
            subject_id=locked.pk,
            at=now,
            changes={"status": [CertificateStatus.ACCEPTED, CertificateStatus.REVOKED]},
        )
    return locked
