"""Registry writes. Every change makes a new immutable version; approval is a ledger leaf."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext

from tenderhall.accounts.choices import ENTITY_ROLES, Role
from tenderhall.accounts.models import Certificate, User
from tenderhall.accounts.selectors import entity_ids_for_user, user_has_role
from tenderhall.accounts.services import certificate_accept, length_problems, role_grant_unchecked
from tenderhall.core.audit import audit_record, diff
from tenderhall.core.codes import check_resident_id, normalize
from tenderhall.core.codes_messages import code_check_message
from tenderhall.core.errors import Conflict, DomainError, InvalidInput, NotFound, PermissionDenied
from tenderhall.core.hashing import canonical_json, sha256_hex
from tenderhall.ledger.services import ledger_append
from tenderhall.registry import rules
from tenderhall.registry.choices import EntityKind, EntityStatus
from tenderhall.registry.models import EntityVersion, MarketEntity, Person, Qualification

ENTITY_FIELDS = (
    "kind",
    "name",
    "identifier",
    "org_code",
    "region_code",
    "address",
    "legal_representative",
    "contact_phone",
    "tags",
    "status",
    "rejection_reason",
)


class EntityAlreadyRegistered(Conflict):
    code = "entity_already_registered"


class EntityInvalid(InvalidInput):
    code = "entity_invalid"


class ReviewNotPending(DomainError):
    code = "review_not_pending"
    status = 409


def entity_snapshot(entity: MarketEntity) -> dict[str, Any]:
    """Everything an entity version records: its fields, qualifications and personnel."""
    snapshot: dict[str, Any] = {field: getattr(entity, field) for field in ENTITY_FIELDS}
    snapshot["qualifications"] = [
        {
            "qualification_type": q.qualification_type,
            "grade": q.grade,
            "number": q.number,
            "issuer": q.issuer,
            "valid_from": q.valid_from.isoformat(),
            "valid_until": q.valid_until.isoformat(),
        }
        for q in entity.qualifications.order_by("qualification_type", "number")
    ]
    snapshot["personnel"] = [
        {
            "full_name": p.full_name,
            "id_number": p.id_number,
            "position": p.position,
            "title": p.title,
            "certificate_number": p.certificate_number,
        }
        for p in entity.personnel.order_by("id_number")
    ]
    return snapshot


def snapshot_hash(snapshot: dict[str, Any]) -> str:
    return "sha256:" + sha256_hex(canonical_json(snapshot))


def _new_version(*, entity: MarketEntity, actor: User, now: datetime, change: str) -> EntityVersion:
    previous = entity.versions.order_by("-version").first()
    before = previous.snapshot if previous else {}
    after = entity_snapshot(entity)
    version = EntityVersion.objects.create(
        entity=entity, version=entity.version, snapshot=after, changed_by=actor, changed_at=now, change=change
    )
    audit_record(
        actor=actor,
        action=f"registry:entity:{change}",
        subject_type="entity",
        subject_id=entity.pk,
        at=now,
        changes=diff(before, after),
    )
    return version


def _lock(entity_id: int) -> MarketEntity:
    return MarketEntity.objects.select_for_update().get(pk=entity_id)


@contextmanager
def _editing(*, actor: User, entity_id: int, now: datetime, change: str) -> Iterator[MarketEntity]:
    """Lock the entity for a change by one of its people (or an operator); when the change succeeds the
    entity gets its next version, all in one transaction."""
    with transaction.atomic():
        entity = _lock(entity_id)
        _require_editor(actor, entity)
        yield entity
        entity.version += 1
        entity.save(update_fields=["version"])
        _new_version(entity=entity, actor=actor, now=now, change=change)


def _require_editor(actor: User, entity: MarketEntity) -> None:
    if entity.pk not in entity_ids_for_user(actor) and not user_has_role(actor, Role.OPERATOR):
        raise PermissionDenied(
            gettext("Only the people acting for this entity, or an operator, may change it.")
        )


def entity_register(
    *,
    actor: User,
    kind: str,
    name: str,
    identifier: str,
    role: str,
    now: datetime,
    region_code: str = "",
    address: str = "",
    legal_representative: str = "",
    contact_phone: str = "",
    tags: list[str] | None = None,
) -> MarketEntity:
    """Register an entity for review; the registrant acts for it in the given role."""
    # Kept in the form the code checks read (full-width forms as ASCII, capitals), so that the code typed
    # another way is still the same entity to the register-once check and to every lookup.
    identifier = normalize(identifier)
    fields: dict[str, Any] = {
        "kind": kind,
        "name": name.strip(),
        "identifier": identifier,
        "region_code": normalize(region_code) or rules.default_region(kind, identifier),
        "address": address.strip(),
        "legal_representative": legal_representative.strip(),
        "contact_phone": normalize(contact_phone),
        "tags": sorted(set(tags or [])),
    }
    problems = length_problems(MarketEntity, fields) | rules.entity_problems(fields)
    if role not in ENTITY_ROLES:
        problems["role"] = gettext("Choose how you act for the entity: %(roles)s.") % {
            "roles": ", ".join(sorted(ENTITY_ROLES))
        }
    if problems:
        raise EntityInvalid(next(iter(problems.values())), details={"fields": problems})
    org_code = identifier[8:17] if kind != EntityKind.NATURAL_PERSON else ""
    with transaction.atomic():
        if MarketEntity.objects.filter(identifier=identifier).exists():
            raise EntityAlreadyRegistered(
                gettext(
                    "This entity is already registered on the platform (register once): "
                    "ask its administrator to add you, or contact the trading centre."
                ),
                details={"fields": {"identifier": "registered"}},
            )
        try:
            with transaction.atomic():
                entity = MarketEntity.objects.create(
                    **fields,
                    org_code=org_code,
                    status=EntityStatus.PENDING,
                    registered_by=actor,
                    registered_at=now,
                    version=1,
                )
        except IntegrityError:
            raise EntityAlreadyRegistered(
                gettext("This entity was registered a moment ago by someone else.")
            ) from None
        role_grant_unchecked(user=actor, role=role, entity_id=entity.pk, granted_by=None, now=now)
        _new_version(entity=entity, actor=actor, now=now, change="registered")
    return entity


def _cleaned(name: str, value: Any) -> Any:
    """A changed field as it is stored: the region code as its check reads it, other text stripped."""
    if name == "tags":
        return sorted(set(value))
    if name in {"region_code", "contact_phone"}:
        return normalize(str(value))
    return str(value).strip()


def entity_update(*, actor: User, entity_id: int, changes: dict[str, Any], now: datetime) -> MarketEntity:
    unknown = sorted(set(changes) - set(rules.EDITABLE_FIELDS))
    if unknown:
        raise EntityInvalid(
            gettext("These fields cannot be changed here: %(fields)s.") % {"fields": ", ".join(unknown)},
            details={"fields": unknown},
        )
    with transaction.atomic():
        entity = _lock(entity_id)
        _require_editor(actor, entity)
        cleaned = {k: _cleaned(k, v) for k, v in changes.items()}
        changed = {k for k, v in cleaned.items() if getattr(entity, k) != v}
        if not changed:
            return entity
        proposed = {f: getattr(entity, f) for f in ENTITY_FIELDS} | cleaned
        problems = {
            k: v
            for k, v in (length_problems(MarketEntity, cleaned) | rules.entity_problems(proposed)).items()
            if k in changed
        }
        if problems:
            raise EntityInvalid(next(iter(problems.values())), details={"fields": problems})
        for key in changed:
            setattr(entity, key, cleaned[key])
        update = [*changed, "version"]
        if entity.status == EntityStatus.APPROVED and rules.needs_review(changed):
            entity.status = EntityStatus.PENDING
            update.append("status")
        entity.version += 1
        entity.save(update_fields=update)
        _new_version(entity=entity, actor=actor, now=now, change="updated")
    return entity


def _not_pending(entity: MarketEntity) -> ReviewNotPending:
    # One sentence per status, so that a translation can name the status in its own words.
    match entity.status:
        case EntityStatus.APPROVED:
            message = gettext("This entity is approved, not pending review.")
        case EntityStatus.REJECTED:
            message = gettext("This entity is rejected, not pending review.")
        case _:
            message = gettext("This entity is %(status)s, not pending review.") % {"status": entity.status}
    return ReviewNotPending(message)


def _not_rejected(entity: MarketEntity) -> ReviewNotPending:
    match entity.status:
        case EntityStatus.PENDING:
            message = gettext("Only a rejected entity can be resubmitted; this one is pending.")
        case EntityStatus.APPROVED:
            message = gettext("Only a rejected entity can be resubmitted; this one is approved.")
        case _:
            message = gettext("Only a rejected entity can be resubmitted; this one is %(status)s.") % {
                "status": entity.status
            }
    return ReviewNotPending(message)


def entity_approve(*, actor: User, entity_id: int, now: datetime) -> MarketEntity:
    if not user_has_role(actor, Role.OPERATOR):
        raise PermissionDenied(gettext("Only the trading centre's operators review entities."))
    with transaction.atomic():
        entity = _lock(entity_id)
        if entity.status != EntityStatus.PENDING:
            raise _not_pending(entity)
        entity.status, entity.rejection_reason = EntityStatus.APPROVED, ""
        entity.reviewed_by, entity.reviewed_at = actor, now
        entity.version += 1
        entity.save(update_fields=["status", "rejection_reason", "reviewed_by", "reviewed_at", "version"])
        version = _new_version(entity=entity, actor=actor, now=now, change="approved")
        ledger_append(
            event_type="registry:entity:approved",
            subjects={"entity": str(entity.pk)},
            hashes={"snapshot": snapshot_hash(version.snapshot)},
            actor=f"user:{actor.pk}",
            at=now,
            data={"identifier": entity.identifier, "name": entity.name, "version": entity.version},
        )
    return entity


def entity_reject(*, actor: User, entity_id: int, reason: str, now: datetime) -> MarketEntity:
    if not user_has_role(actor, Role.OPERATOR):
        raise PermissionDenied(gettext("Only the trading centre's operators review entities."))
    if not reason.strip():
        raise InvalidInput(
            gettext("Give the reason for the rejection, so the applicant can correct it."),
            details={"fields": {"reason": "required"}},
        )
    with transaction.atomic():
        entity = _lock(entity_id)
        if entity.status != EntityStatus.PENDING:
            raise _not_pending(entity)
        entity.status, entity.rejection_reason = EntityStatus.REJECTED, reason.strip()
        entity.reviewed_by, entity.reviewed_at = actor, now
        entity.version += 1
        entity.save(update_fields=["status", "rejection_reason", "reviewed_by", "reviewed_at", "version"])
        _new_version(entity=entity, actor=actor, now=now, change="rejected")
    return entity


def entity_resubmit(*, actor: User, entity_id: int, now: datetime) -> MarketEntity:
    """After a rejection and corrections, ask for review again."""
    with transaction.atomic():
        entity = _lock(entity_id)
        _require_editor(actor, entity)
        if entity.status != EntityStatus.REJECTED:
            raise _not_rejected(entity)
        entity.status, entity.rejection_reason = EntityStatus.PENDING, ""
        entity.version += 1
        entity.save(update_fields=["status", "rejection_reason", "version"])
        _new_version(entity=entity, actor=actor, now=now, change="resubmitted")
    return entity


def qualification_add(
    *,
    actor: User,
    entity_id: int,
    qualification_type: str,
    grade: str,
    number: str,
    issuer: str,
    valid_from: date,
    valid_until: date,
    now: datetime,
) -> Qualification:
    problems: dict[str, str] = {}
    if not qualification_type.strip():
        problems["qualification_type"] = gettext("Enter the qualification's type.")
    if not number.strip():
        problems["number"] = gettext("Enter the certificate number.")
    if not issuer.strip():
        problems["issuer"] = gettext("Enter the issuing authority.")
    if valid_until <= valid_from:
        problems["valid_until"] = gettext("The end of validity must come after its start.")
    problems |= length_problems(
        Qualification,
        {
            "qualification_type": qualification_type.strip(),
            "grade": grade.strip(),
            "number": number.strip(),
            "issuer": issuer.strip(),
        },
    )
    if problems:
        raise EntityInvalid(next(iter(problems.values())), details={"fields": problems})
    with _editing(actor=actor, entity_id=entity_id, now=now, change="qualification_added") as entity:
        try:
            with transaction.atomic():
                qualification = Qualification.objects.create(
                    entity=entity,
                    qualification_type=qualification_type.strip(),
                    grade=grade.strip(),
                    number=number.strip(),
                    issuer=issuer.strip(),
                    valid_from=valid_from,
                    valid_until=valid_until,
                )
        except IntegrityError:
            raise Conflict(gettext("This qualification is already recorded.")) from None
    return qualification


def qualification_remove(*, actor: User, entity_id: int, qualification_id: int, now: datetime) -> None:
    with _editing(actor=actor, entity_id=entity_id, now=now, change="qualification_removed") as entity:
        deleted, _ = Qualification.objects.filter(pk=qualification_id, entity=entity).delete()
        if not deleted:
            raise NotFound(gettext("This entity has no such qualification."))


def person_add(
    *,
    actor: User,
    entity_id: int,
    full_name: str,
    id_number: str,
    position: str,
    title: str,
    certificate_number: str,
    now: datetime,
) -> Person:
    id_number = normalize(id_number)  # as the check reads it, so the person is on the list once
    problems: dict[str, str] = {}
    if not full_name.strip():
        problems["full_name"] = gettext("Enter the person's name.")
    check = check_resident_id(id_number)
    if not check.valid:
        problems["id_number"] = code_check_message(check)
    problems |= length_problems(
        Person,
        {
            "full_name": full_name.strip(),
            "position": position.strip(),
            "title": title.strip(),
            "certificate_number": certificate_number.strip(),
        },
    )
    if problems:
        raise EntityInvalid(next(iter(problems.values())), details={"fields": problems})
    with _editing(actor=actor, entity_id=entity_id, now=now, change="person_added") as entity:
        try:
            with transaction.atomic():
                person = Person.objects.create(
                    entity=entity,
                    full_name=full_name.strip(),
                    id_number=id_number,
                    position=position.strip(),
                    title=title.strip(),
                    certificate_number=certificate_number.strip(),
                )
        except IntegrityError:
            raise Conflict(gettext("This person is already on the entity's personnel list.")) from None
    return person


def person_remove(*, actor: User, entity_id: int, person_id: int, now: datetime) -> None:
    with _editing(actor=actor, entity_id=entity_id, now=now, change="person_removed") as entity:
        deleted, _ = Person.objects.filter(pk=person_id, entity=entity).delete()
        if not deleted:
            raise NotFound(gettext("This entity has no such person."))


def entity_certificate_upload(
    *, actor: User, entity_id: int, data: bytes, usage: str, now: datetime
) -> Certificate:
    with transaction.atomic():
        entity = _lock(entity_id)
        _require_editor(actor, entity)
        return certificate_accept(
            actor=actor,
            data=data,
            usage=usage,
            now=now,
            entity_id=entity.pk,
            owner_identifier=entity.identifier,
        )
