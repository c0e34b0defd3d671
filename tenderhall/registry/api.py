"""Registry API: entities, their review, qualifications, personnel and certificates; code checks."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.translation import gettext
from ninja import Router, Status

from tenderhall.accounts.api import certificate_out
from tenderhall.accounts.auth import authenticated, optional_user, request_user
from tenderhall.accounts.choices import Scope
from tenderhall.accounts.models import User
from tenderhall.accounts.schemas import CertificateOut, CertificateUploadIn
from tenderhall.accounts.selectors import certificate_list_for_entity, user_has_role
from tenderhall.core import clock
from tenderhall.core.audit import masked
from tenderhall.core.codes import check_any, region_name
from tenderhall.core.errors import NotFound
from tenderhall.registry import selectors, services
from tenderhall.registry.models import MarketEntity
from tenderhall.registry.schemas import (
    CodeCheckIn,
    CodeCheckOut,
    EntityOut,
    EntityRegisterIn,
    EntityRejectIn,
    EntityUpdateIn,
    EntityVersionOut,
    PersonIn,
    PersonOut,
    QualificationIn,
    QualificationOut,
)

router = Router(tags=["registry"])
MAX_CODES = 1000


def entity_out(entity: MarketEntity, *, viewer: User | None) -> EntityOut:
    private = selectors.can_see_private(viewer, entity)
    return EntityOut(
        id=entity.pk,
        kind=entity.kind,
        name=entity.name,
        identifier=entity.identifier if private else entity.public_identifier,
        org_code=entity.org_code,
        region_code=entity.region_code,
        region_name=region_name(entity.region_code),
        address=entity.address,
        legal_representative=entity.legal_representative,
        tags=entity.tags,
        status=entity.status,
        rejection_reason=entity.rejection_reason if private else "",
        version=entity.version,
        registered_at=entity.registered_at,
        reviewed_at=entity.reviewed_at,
        qualifications=[
            QualificationOut(
                id=q.pk,
                qualification_type=q.qualification_type,
                grade=q.grade,
                number=q.number,
                issuer=q.issuer,
                valid_from=q.valid_from,
                valid_until=q.valid_until,
            )
            for q in entity.qualifications.all()
        ],
        personnel=[
            PersonOut(
                id=p.pk,
                full_name=p.full_name,
                id_number_masked=masked(p.id_number),
                position=p.position,
                title=p.title,
                certificate_number=p.certificate_number,
            )
            for p in entity.personnel.all()
        ]
        if private
        else None,
    )


def actor_seeing_entity(request: HttpRequest, entity_id: int) -> User:
    """The signed-in actor, once the entity is known to be visible to them: otherwise "not found", so that
    nobody learns of pending entities that are not theirs."""
    actor = request_user(request)
    selectors.access_entity_for_viewer(viewer=actor, entity_id=entity_id)
    return actor


@router.post("/check-codes", response=list[CodeCheckOut], operation_id="codes_check", auth=None)
def codes_check(request: HttpRequest, payload: CodeCheckIn) -> list[CodeCheckOut]:
    """Check USCC, organisation codes and resident ID numbers; the same reasons as the registration form."""
    results = []
    for raw in payload.codes[:MAX_CODES]:
        check = check_any(raw)
        results.append(
            CodeCheckOut(
                code=check.code,
                kind=check.kind,
                valid=check.valid,
                reason_code=check.reason_code,
                reason=check.reason,
                warnings=list(check.warnings),
            )
        )
    return results


@router.get("/entities", response=list[EntityOut], operation_id="entity_list", auth=None)
def entity_list(
    request: HttpRequest,
    status: str | None = None,
    search: str = "",
    tag: str | None = None,
    offset: int = 0,
    limit: int = 50,
) -> list[EntityOut]:
    """Approved entities for everyone; signed in, also the viewer's own (and all, for supervisors)."""
    viewer = optional_user(request, Scope.REGISTRY_READ)
    entities = selectors.entity_list(viewer=viewer, status=status, search=search, tag=tag)
    page = entities.prefetch_related("qualifications", "personnel")[
        max(offset, 0) : max(offset, 0) + min(max(limit, 1), 200)
    ]
    return [entity_out(e, viewer=viewer) for e in page]


@router.post(
    "/entities",
    response={201: EntityOut},
    operation_id="entity_register",
    auth=authenticated(Scope.REGISTRY_WRITE),
)
def entity_register(request: HttpRequest, payload: EntityRegisterIn) -> Status[EntityOut]:
    """Register a market entity once, platform-wide; it waits for the operator's review."""
    actor = request_user(request)
    entity = services.entity_register(actor=actor, **payload.dict(), now=clock.now())
    return Status(201, entity_out(entity, viewer=actor))


@router.get("/entities/{entity_id}", response=EntityOut, operation_id="entity_get", auth=None)
def entity_get(request: HttpRequest, entity_id: int) -> EntityOut:
    viewer = optional_user(request, Scope.REGISTRY_READ)
    return entity_out(selectors.access_entity_for_viewer(viewer=viewer, entity_id=entity_id), viewer=viewer)


@router.patch(
    "/entities/{entity_id}",
    response=EntityOut,
    operation_id="entity_update",
    auth=authenticated(Scope.REGISTRY_WRITE),
)
def entity_update(request: HttpRequest, entity_id: int, payload: EntityUpdateIn) -> EntityOut:
    """Change an entity; identity fields of an approved entity send it back for review."""
    actor = actor_seeing_entity(request, entity_id)
    entity = services.entity_update(
        actor=actor, entity_id=entity_id, changes=payload.dict(exclude_none=True), now=clock.now()
    )
    return entity_out(entity, viewer=actor)


@router.get(
    "/entities/{entity_id}/versions",
    response=list[EntityVersionOut],
    operation_id="entity_versions",
    auth=authenticated(Scope.REGISTRY_READ),
)
def entity_versions(request: HttpRequest, entity_id: int) -> list[EntityVersionOut]:
    versions = selectors.access_entity_history(viewer=request_user(request), entity_id=entity_id)
    return [
        EntityVersionOut(
            version=v.version,
            change=v.change,
            changed_at=v.changed_at,
            changed_by=str(v.changed_by),
            snapshot=_masked_snapshot(v.snapshot),
        )
        for v in versions
    ]


def _masked_snapshot(snapshot: dict[str, object]) -> dict[str, object]:
    personnel = snapshot.get("personnel")
    if isinstance(personnel, list):
        snapshot = {
            **snapshot,
            "personnel": [{**p, "id_number": masked(str(p.get("id_number", "")))} for p in personnel],
        }
    return snapshot


@router.post(
    "/entities/{entity_id}/resubmit",
    response=EntityOut,
    operation_id="entity_resubmit",
    auth=authenticated(Scope.REGISTRY_WRITE),
)
def entity_resubmit(request: HttpRequest, entity_id: int) -> EntityOut:
    actor = actor_seeing_entity(request, entity_id)
    return entity_out(
        services.entity_resubmit(actor=actor, entity_id=entity_id, now=clock.now()), viewer=actor
    )


@router.get(
    "/review-queue",
    response=list[EntityOut],
    operation_id="entity_review_queue",
    auth=authenticated(Scope.REGISTRY_REVIEW),
)
def entity_review_queue(request: HttpRequest) -> list[EntityOut]:
    actor = request_user(request)
    if not user_has_role(actor, "operator"):
        raise NotFound(gettext("No such resource."))
    return [
        entity_out(e, viewer=actor) for e in selectors.review_queue().prefetch_related("qualifications")[:200]
    ]


@router.post(
    "/entities/{entity_id}/approve",
    response=EntityOut,
    operation_id="entity_approve",
    auth=authenticated(Scope.REGISTRY_REVIEW),
)
def entity_approve(request: HttpRequest, entity_id: int) -> EntityOut:
    actor = actor_seeing_entity(request, entity_id)
    return entity_out(
        services.entity_approve(actor=actor, entity_id=entity_id, now=clock.now()), viewer=actor
    )


@router.post(
    "/entities/{entity_id}/reject",
    response=EntityOut,
    operation_id="entity_reject",
    auth=authenticated(Scope.REGISTRY_REVIEW),
)
def entity_reject(request: HttpRequest, entity_id: int, payload: EntityRejectIn) -> EntityOut:
    actor = actor_seeing_entity(request, entity_id)
    entity = services.entity_reject(actor=actor, entity_id=entity_id, reason=payload.reason, now=clock.now())
    return entity_out(entity, viewer=actor)


@router.post(
    "/entities/{entity_id}/qualifications",
    response={201: QualificationOut},
    operation_id="qualification_add",
    auth=authenticated(Scope.REGISTRY_WRITE),
)
def qualification_add(
    request: HttpRequest, entity_id: int, payload: QualificationIn
) -> Status[QualificationOut]:
    actor = actor_seeing_entity(request, entity_id)
    q = services.qualification_add(actor=actor, entity_id=entity_id, **payload.dict(), now=clock.now())
    return Status(
        201,
        QualificationOut(
            id=q.pk,
            qualification_type=q.qualification_type,
            grade=q.grade,
            number=q.number,
            issuer=q.issuer,
            valid_from=q.valid_from,
            valid_until=q.valid_until,
        ),
    )


@router.delete(
    "/entities/{entity_id}/qualifications/{qualification_id}",
    response={204: None},
    operation_id="qualification_remove",
    auth=authenticated(Scope.REGISTRY_WRITE),
)
def qualification_remove(request: HttpRequest, entity_id: int, qualification_id: int) -> Status[None]:
    actor = actor_seeing_entity(request, entity_id)
    services.qualification_remove(
        actor=actor, entity_id=entity_id, qualification_id=qualification_id, now=clock.now()
    )
    return Status(204, None)


@router.post(
    "/entities/{entity_id}/personnel",
    response={201: PersonOut},
    operation_id="person_add",
    auth=authenticated(Scope.REGISTRY_WRITE),
)
def person_add(request: HttpRequest, entity_id: int, payload: PersonIn) -> Status[PersonOut]:
    actor = actor_seeing_entity(request, entity_id)
    p = services.person_add(actor=actor, entity_id=entity_id, **payload.dict(), now=clock.now())
    return Status(
        201,
        PersonOut(
            id=p.pk,
            full_name=p.full_name,
            id_number_masked=masked(p.id_number),
            position=p.position,
            title=p.title,
            certificate_number=p.certificate_number,
        ),
    )


@router.delete(
    "/entities/{entity_id}/personnel/{person_id}",
    response={204: None},
    operation_id="person_remove",
    auth=authenticated(Scope.REGISTRY_WRITE),
)
def person_remove(request: HttpRequest, entity_id: int, person_id: int) -> Status[None]:
    actor = actor_seeing_entity(request, entity_id)
    services.person_remove(actor=actor, entity_id=entity_id, person_id=person_id, now=clock.now())
    return Status(204, None)


@router.get(
    "/entities/{entity_id}/certificates",
    response=list[CertificateOut],
    operation_id="entity_certificate_list",
    auth=None,
)
def entity_certificate_list(request: HttpRequest, entity_id: int) -> list[CertificateOut]:
    """An approved entity's certificates are public: bidders and officials need them to encrypt and verify."""
    viewer = optional_user(request, Scope.REGISTRY_READ)
    entity = selectors.access_entity_for_viewer(viewer=viewer, entity_id=entity_id)
    return [certificate_out(c) for c in certificate_list_for_entity(entity.pk)]


@router.post(
    "/entities/{entity_id}/certificates",
    response={201: CertificateOut},
    operation_id="entity_certificate_upload",
    auth=authenticated(Scope.CERTIFICATES_WRITE),
)
def entity_certificate_upload(
    request: HttpRequest, entity_id: int, payload: CertificateUploadIn
) -> Status[CertificateOut]:
    actor = actor_seeing_entity(request, entity_id)
    certificate = services.entity_certificate_upload(
        actor=actor, entity_id=entity_id, data=payload.pem.encode(), usage=payload.usage, now=clock.now()
    )
    return Status(201, certificate_out(certificate))
